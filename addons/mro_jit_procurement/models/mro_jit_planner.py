import logging
from datetime import datetime, time, timedelta

import numpy as np
from pytz import utc

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..mro_planning import (
    PROBS,
    LeadTimeStats,
    lognormal_quantiles,
    order_by_date,
)

_logger = logging.getLogger(__name__)

#: Calendars are read this many days around today to find closed days.
CALENDAR_SPAN = 400


class MroJitPlanner(models.AbstractModel):
    """Turns predictions into purchases, just in time.

    For every equipment with a failure prediction and a spare-parts list, each part gets an order-by date
    (mro_planning.order_by_date: the RUL distribution against the vendor's lead-time distribution, the risk
    its criticality allows, receiving and kitting days, the plant's and the vendor's closed days). When
    today reaches it and free stock (on hand - reserved + incoming + open RFQs, less what earlier needs
    took) does not cover the part, the shortfall goes on an RFQ grouped by vendor, extended while it is
    still a draft, with its reason; the auto-approval policy then confirms it or leaves it to the buyer.

    One model per job: this one gathers the inputs and plans the needs; ``mro.jit.purchasing`` orders the due
    ones, ``mro.jit.minmax`` keeps the spare parts' orderpoints, ``mro.jit.export`` writes the XLSX plan.
    """

    _name = "mro.jit.planner"
    _description = "Just-in-time spare-parts planner"

    # ------------------------------------------------------------------ entry points
    @api.model
    def _cron_plan(self):
        for company in self.env["res.company"].search([]):
            try:
                with self.env.cr.savepoint():
                    self.with_company(company)._plan(company)
            except Exception:  # one company's failure must not stop the others
                _logger.exception("Just-in-time planning failed for company %s", company.id)

    @api.model
    def _cron_minmax(self):
        """The weekly min/max cron's entry point (databases keep the cron on this model: its data is noupdate)."""
        return self.env["mro.jit.minmax"]._cron_minmax()

    @api.model
    def action_plan_now(self):
        """Plan now (buyers and maintenance managers). Planning is a job of the system: it reads every
        equipment's prediction and spare parts, which a buyer may not see, and writes the needs, which nobody
        writes by hand; so it runs with the system's rights whoever presses the button."""
        self._check_planning_rights(self.env._("Only buyers and maintenance managers run the spare-parts planner."))
        company = self.env.company
        # sudo: a job of the system (see above), for the user's current company only.
        self.sudo().with_company(company)._plan(company)
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_part_need_action")

    @api.model
    def _check_planning_rights(self, message):
        """Buyers and maintenance managers act on the plan (plan now, cancel a need); others get ``message``."""
        user = self.env.user
        if not any(user.has_group(g) for g in ("purchase.group_purchase_user", "maintenance.group_equipment_manager")):
            raise AccessError(message)

    # ------------------------------------------------------------------ planning
    @api.model
    def _plan(self, company, today=None):
        """Plan every equipment of ``company``; order what is due. Returns the purchase orders touched."""
        today = today or fields.Date.context_today(self)
        Need = self.env["mro.part.need"]
        equipments = self.env["maintenance.equipment"].search(
            [("company_id", "in", (company.id, False)), ("mro_part_ids", "!=", False)]
        )
        open_needs = Need.search([("equipment_id", "in", equipments.ids), ("state", "not in", ("done", "cancel"))])
        by_key = {(n.equipment_id.id, n.part_id.id): n for n in open_needs}
        predictions = self._latest_predictions(equipments)
        calendars = {}
        for equipment in equipments:
            predicted = equipment.predicted_failure_date and equipment.rul_days is not None and equipment.active
            renewed = equipment.baseline_since
            if predicted and renewed and (not equipment.last_analysis or equipment.last_analysis <= renewed):
                continue  # the prediction describes the machine before its repair: wait for a new analysis
            for part in equipment.mro_part_ids:
                need = by_key.get((equipment.id, part.id))
                if not predicted:
                    if need and need.state in ("planned", "due", "stock"):
                        need.write(
                            {"state": "cancel", "reason": self.env._("Prediction withdrawn: %s", need.reason or "")}
                        )
                    continue
                if need and need.state == "ordered":
                    continue  # already on a purchase: never twice
                values = self._plan_part(equipment, part, company, today, calendars, predictions)
                if values is None:
                    if need and need.state in ("planned", "due"):
                        need.write({"state": "cancel"})
                    continue
                if need:
                    need.write(values)
                else:
                    Need.create(values)
        due = Need.search(
            [
                ("company_id", "in", (company.id, False)),
                ("state", "in", ("planned", "due", "stock")),
                ("order_by_date", "<=", today),
            ],
            order="order_by_date, id",
        )
        return self.env["mro.jit.purchasing"]._order_due(due, company, today)

    @api.model
    def _plan_part(self, equipment, part, company, today, calendars, predictions=None):
        """The need's values for one part of one equipment, or None when it is run to failure or unbuyable.
        ``predictions``: {equipment id: its latest ledger prediction id} (looked up when not given)."""
        product = part.product_id
        seller = product._select_seller(quantity=part.quantity, date=today)
        risk = company._mro_allowed_risk(equipment.criticality)
        if risk is None:
            return None
        lead = self.env["mro.lead.time"]._for(seller.partner_id, product, company, seller) if seller else None
        if lead is None:
            lead = LeadTimeStats(7.0, 3.5, 0, None, "prior")
        lead = self._risk_scaled(lead, company)
        quantiles = self._rul_quantiles(equipment, today)
        vendor = seller.partner_id
        plan = order_by_date(
            today,
            quantiles,
            lead,
            risk,
            receiving_days=company.mro_receiving_days,
            kitting_days=company.mro_kitting_days,
            plant_closed=self._closed_days(company.resource_calendar_id, today, calendars),
            vendor_closed=self._leave_days(vendor.mro_closure_calendar_id),
            criticality=equipment.criticality,
            confidence=equipment.rul_confidence or company.mro_prediction_confidence or 0.8,
        )
        if plan.day is None:
            return None
        if predictions is None:
            predictions = self._latest_predictions(equipment)
        reason = self.env._(
            "%(equipment)s: %(qty)s x %(part)s from %(vendor)s; %(plan)s",
            equipment=equipment.display_name,
            qty=part.quantity,
            part=product.display_name,
            vendor=vendor.display_name or self.env._("no vendor"),
            plan=plan.reason,
        )
        return {
            "equipment_id": equipment.id,
            "part_id": part.id,
            "product_id": product.id,
            "quantity": part.quantity,
            "prediction_id": predictions.get(equipment.id, False),
            "predicted_failure_date": equipment.predicted_failure_date,
            "failure_probability": equipment.failure_probability,
            "partner_id": vendor.id,
            "lead_mean": lead.mean,
            "lead_std": lead.std,
            "order_by_date": plan.day,
            "late": plan.late,
            "risk_if_today": plan.risk_if_today or 0.0,
            "reason": reason,
        }

    @api.model
    def _latest_predictions(self, equipments):
        """{equipment id: id of its latest published prediction in the ledger}, in one query."""
        if not equipments:
            return {}
        self.env["mro.prediction"].flush_model(["equipment_id", "published_at"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (equipment_id) equipment_id, id FROM mro_prediction
                    WHERE equipment_id = ANY(%s) ORDER BY equipment_id, published_at DESC, id DESC""",
                equipments.ids,
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _risk_scaled(self, lead, company):
        """In supply-chain risk mode (or its preview, ``mro_risk_factor`` in the context), lead times are
        stretched by the factor."""
        factor = self.env.context.get("mro_risk_factor")
        if factor is None and company.mro_risk_mode:
            factor = company.mro_risk_factor
        return lead.scaled(factor) if factor and factor > 0 and factor != 1.0 else lead

    @api.model
    def _rul_quantiles(self, equipment, today):
        """The equipment's RUL quantiles in days from noon of ``today`` (the analysis stated them from the
        time it ran, which may be later that day: then they grow a little)."""
        elapsed = 0.0
        if equipment.last_analysis:
            elapsed = (datetime.combine(today, time(12)) - equipment.last_analysis).total_seconds() / 86400.0
        if equipment.rul_quantiles and len(equipment.rul_quantiles) == len(PROBS):
            q = np.asarray(equipment.rul_quantiles, dtype=float) - elapsed
        else:
            q = (
                lognormal_quantiles(
                    max(equipment.rul_days, 0.01),
                    max(equipment.rul_lower_days or 0.0, 0.0),
                    max(equipment.rul_upper_days or equipment.rul_days, 0.02),
                    equipment.rul_confidence or 0.8,
                )
                - elapsed
            )
        return np.maximum.accumulate(np.maximum(q, 0.0) + np.arange(len(PROBS)) * 1e-9)

    @api.model
    def _closed_days(self, calendar, today, cache):
        """Dates without working time in ``calendar`` (its weekly hours and its leaves, e.g. a plant shutdown)
        within ``CALENDAR_SPAN`` days of today; an empty set without a calendar."""
        if not calendar:
            return set()
        if calendar.id not in cache:
            start = datetime.combine(today - timedelta(days=CALENDAR_SPAN), time.min)
            end = start + timedelta(days=2 * CALENDAR_SPAN)
            intervals = calendar._work_intervals_batch(utc.localize(start), utc.localize(end))[False]
            working = {interval[0].date() for interval in intervals}
            all_days = {start.date() + timedelta(days=i) for i in range(2 * CALENDAR_SPAN)}
            cache[calendar.id] = all_days - working
        return cache[calendar.id]

    @api.model
    def _leave_days(self, calendar):
        """The dates covered by a calendar's global leaves (a vendor's closures: its ordinary weekends are
        already inside the lead times learned in calendar days)."""
        days = set()
        for leave in calendar.leave_ids.filtered(lambda v: not v.resource_id):
            day = leave.date_from.date()
            while day <= leave.date_to.date():
                days.add(day)
                day += timedelta(days=1)
        return days
