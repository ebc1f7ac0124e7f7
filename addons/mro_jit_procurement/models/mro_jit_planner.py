import base64
import io
import logging
import math
from datetime import date, datetime, time, timedelta

import numpy as np
from markupsafe import Markup
from pytz import utc

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, format_date

from ..mro_planning import (
    PROBS,
    LeadTimeStats,
    eoq,
    lognormal_quantiles,
    min_max,
    order_by_date,
    pooled_demand,
    rul_cdf,
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
            predicted = equipment.mro_predicted_failure_date and equipment.mro_rul_days is not None and equipment.active
            renewed = equipment.mro_baseline_since
            if predicted and renewed and (not equipment.mro_last_analysis or equipment.mro_last_analysis <= renewed):
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
        return self._order_due(due, company, today)

    @api.model
    def _plan_part(self, equipment, part, company, today, calendars, predictions=None):
        """The need's values for one part of one equipment, or None when it is run to failure or unbuyable.
        ``predictions``: {equipment id: its latest ledger prediction id} (looked up when not given)."""
        product = part.product_id
        seller = product._select_seller(quantity=part.quantity, date=today)
        risk = company._mro_allowed_risk(equipment.mro_criticality)
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
            criticality=equipment.mro_criticality,
            confidence=equipment.mro_rul_confidence or company.mro_prediction_confidence or 0.8,
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
            "predicted_failure_date": equipment.mro_predicted_failure_date,
            "failure_probability": equipment.mro_failure_probability,
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
        if equipment.mro_last_analysis:
            elapsed = (datetime.combine(today, time(12)) - equipment.mro_last_analysis).total_seconds() / 86400.0
        if equipment.mro_rul_quantiles and len(equipment.mro_rul_quantiles) == len(PROBS):
            q = np.asarray(equipment.mro_rul_quantiles, dtype=float) - elapsed
        else:
            q = (
                lognormal_quantiles(
                    max(equipment.mro_rul_days, 0.01),
                    max(equipment.mro_rul_lower_days or 0.0, 0.0),
                    max(equipment.mro_rul_upper_days or equipment.mro_rul_days, 0.02),
                    equipment.mro_rul_confidence or 0.8,
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

    # ------------------------------------------------------------------ ordering
    @api.model
    def _free_stock(self, products, company):
        """Free stock per product: on hand - reserved (outgoing) + incoming (confirmed purchases, transfers)
        + draft RFQs not yet counted as incoming, less what open needs already claimed."""
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        located = products.with_context(warehouse_id=warehouse.id) if warehouse else products
        draft = dict(
            self.env["purchase.order.line"]._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("order_id.state", "in", ("draft", "sent", "to approve")),
                    ("company_id", "=", company.id),
                ],
                ["product_id"],
                ["product_qty:sum"],
            )
        )
        claimed = dict(
            self.env["mro.part.need"]._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("state", "in", ("stock", "ordered")),
                    ("company_id", "=", company.id),
                ],
                ["product_id"],
                ["quantity:sum"],
            )
        )
        return {
            p: {
                "on_hand": p.qty_available,
                "reserved": p.outgoing_qty,
                "incoming": p.incoming_qty + draft.get(p, 0.0),
                "claimed": claimed.get(p, 0.0),
            }
            for p in located
        }

    @api.model
    def _order_due(self, due, company, today):
        """Cover the due needs: by free stock first (oldest order-by date first), else on an RFQ of the
        need's vendor. Returns the purchase orders created or extended."""
        if not due:
            return self.env["purchase.order"]
        stock = {p.id: s for p, s in self._free_stock(due.product_id, company).items()}
        # A need already "covered by stock" keeps its claim only if the stock is still there.
        for need in due.filtered(lambda n: n.state == "stock"):
            stock[need.product_id.id]["claimed"] -= need.quantity
        to_buy = {}
        for need in due:
            s = stock[need.product_id.id]
            free = s["on_hand"] - s["reserved"] + s["incoming"] - s["claimed"]
            if free >= need.quantity:
                s["claimed"] += need.quantity
                if need.state != "stock":
                    need.write(
                        {
                            "state": "stock",
                            "reason": self.env._(
                                "%(reason)s. Covered by free stock: on hand %(on_hand)s, reserved %(reserved)s, "
                                "incoming %(incoming)s.",
                                reason=need.reason,
                                on_hand=s["on_hand"],
                                reserved=s["reserved"],
                                incoming=s["incoming"],
                            ),
                        }
                    )
                continue
            if not need.partner_id:
                need.write({"state": "due"})
                need._mro_post(
                    body=self.env._(
                        "No vendor on the part's purchase tab: cannot order %s.", need.product_id.display_name
                    )
                )
                continue
            to_buy.setdefault(need.partner_id, []).append(need)
        orders = self.env["purchase.order"]
        for vendor, needs in to_buy.items():
            orders |= self._add_to_rfq(vendor, needs, company, today)
        for order in orders:
            order._mro_apply_approval_policy()
        return orders

    @api.model
    def _add_to_rfq(self, vendor, needs, company, today):
        """Put ``needs`` on the vendor's open JIT RFQ (a draft), creating it if there is none."""
        PurchaseOrder = self.env["purchase.order"]
        order = PurchaseOrder.search(
            [
                ("partner_id", "=", vendor.id),
                ("company_id", "=", company.id),
                ("state", "=", "draft"),
                ("mro_jit", "=", True),
            ],
            limit=1,
        )
        if not order:
            order = PurchaseOrder.create(self._prepare_rfq_vals(vendor, company))
        lines = []
        for need in needs:
            product = need.product_id
            seller = product._select_seller(partner_id=vendor, quantity=need.quantity, date=today)
            line = order.order_line.filtered(lambda ln, p=product: ln.product_id == p)[:1]
            planned = datetime.combine(today + timedelta(days=math.ceil(need.lead_mean)), time(12))
            if line:
                line.product_qty += need.quantity
                line.date_planned = min(line.date_planned, planned)
            else:
                line = self.env["purchase.order.line"].create(
                    self._prepare_rfq_line_vals(order, need, max(need.quantity, seller.min_qty or 0.0), planned)
                )
            values = {"state": "ordered", "purchase_line_id": line.id, "ordered_at": fields.Datetime.now()}
            if (need.order_by_date and need.order_by_date < today) or need.late:
                values["emergency"] = True
            need.write(values)
            lines.append(need)
        equipment_names = sorted(set(order.mro_need_ids.equipment_id.mapped("display_name")))
        order.origin = self.env._("MRO JIT: %s", ", ".join(equipment_names))[:250]
        if any(n.emergency for n in order.mro_need_ids):
            order.priority = "1"
        items = Markup("").join(Markup("<li>%s</li>") % n.reason for n in lines)
        order._mro_post(
            body=Markup("%s<ul>%s</ul>") % (self.env._("Spare parts planned from predicted failures:"), items)
        )
        return order

    @api.model
    def _prepare_rfq_vals(self, vendor, company):
        """Values of a new spare-parts RFQ for ``vendor`` (a hook for integrators)."""
        return {
            "partner_id": vendor.id,
            "company_id": company.id,
            "currency_id": (vendor.property_purchase_currency_id or company.currency_id).id,
            "mro_jit": True,
            "origin": self.env._("MRO JIT"),
        }

    @api.model
    def _prepare_rfq_line_vals(self, order, need, quantity, date_planned):
        """Values of the RFQ line that buys ``need`` (a hook for integrators)."""
        return {
            "order_id": order.id,
            "product_id": need.product_id.id,
            "product_qty": quantity,
            "date_planned": date_planned,
        }

    # ------------------------------------------------------------------ min / max
    @api.model
    def _minmax_plan(self, company, factor=1.0):
        """``{product: (MinMax, lead stats, unit cost)}`` for every storable spare part of the company:
        pooled demand over the lead time (each equipment's probability of failing within it), safety
        stock at the company's service level (times ``factor`` in risk mode), EOQ as the spread."""
        parts = self.env["mro.equipment.part"].search(
            [("company_id", "in", (company.id, False)), ("equipment_active", "=", True)]
        )
        horizon = company.mro_planning_horizon_days or 30
        today = fields.Date.context_today(self)
        plan = {}
        for product in parts.product_id.filtered("is_storable"):
            lines = parts.filtered(lambda p, pr=product: p.product_id == pr)
            seller = product._select_seller(date=today)
            lead = self.env["mro.lead.time"]._for(seller.partner_id, product, company, seller) if seller else None
            lead = lead or LeadTimeStats(7.0, 3.5, 0, None, "prior")
            if factor != 1.0:
                lead = lead.scaled(factor)
            cover = lead.mean + company.mro_receiving_days + company.mro_kitting_days
            probs, qtys, annual = [], [], 0.0
            for line in lines:
                equipment = line.equipment_id
                if equipment.mro_rul_days is not None and equipment.mro_predicted_failure_date:
                    p = float(rul_cdf(cover, self._rul_quantiles(equipment, today)))
                else:
                    ph = min(max(equipment.mro_failure_probability or 0.0, 0.0), 0.999)
                    p = 1.0 - (1.0 - ph) ** (cover / horizon)
                probs.append(min(max(p, 0.0), 1.0))
                qtys.append(math.ceil(line.quantity))
                rate = -math.log(1.0 - min(max(equipment.mro_failure_probability or 0.0, 0.0), 0.999)) / horizon
                annual += 365.0 * rate * line.quantity
            demand = pooled_demand(probs, qtys)
            cost = product.standard_price
            holding = cost * company.mro_holding_rate
            quantity = eoq(annual, company.mro_order_cost, holding) if holding > 0 else (1 if annual else 0)
            result = min_max(demand, company.mro_service_level, quantity, risk_factor=factor)
            plan[product] = (result, lead, cost)
        return plan

    @api.model
    def _apply_minmax(self, company, factor=1.0):
        """Create or update the spare parts' orderpoints from :meth:`_minmax_plan`."""
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        if not warehouse:
            return self.env["stock.warehouse.orderpoint"]
        Orderpoint = self.env["stock.warehouse.orderpoint"]
        touched = Orderpoint
        for product, (result, lead, _cost) in self._minmax_plan(company, factor).items():
            point = Orderpoint.search(
                [("product_id", "=", product.id), ("warehouse_id", "=", warehouse.id), ("company_id", "=", company.id)],
                limit=1,
            )
            values = {
                "product_min_qty": result.min_qty,
                "product_max_qty": max(result.max_qty, result.min_qty),
                "mro_managed": True,
                "mro_reason": result.reason + self.env._("; lead time %(m).1f ± %(s).1f d", m=lead.mean, s=lead.std),
                "trigger": "auto",
            }
            if point:
                point.write(values)
            else:
                point = Orderpoint.create(
                    {
                        **values,
                        "product_id": product.id,
                        "warehouse_id": warehouse.id,
                        "company_id": company.id,
                        "location_id": warehouse.lot_stock_id.id,
                    }
                )
            touched |= point
        # Parts no longer on any equipment in service keep no spare-parts orderpoint.
        Orderpoint.search(
            [("company_id", "=", company.id), ("mro_managed", "=", True), ("id", "not in", touched.ids)]
        ).write({"active": False})
        return touched

    @api.model
    def _cron_minmax(self):
        for company in self.env["res.company"].search([]):
            factor = company.mro_risk_factor if company.mro_risk_mode else 1.0
            self.with_company(company)._apply_minmax(company, factor)

    # ------------------------------------------------------------------ export
    @api.model
    def _export_xlsx(self, needs):
        """The spare-parts plan as an XLSX attachment (xlsxwriter): one row per need."""
        import xlsxwriter

        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
        sheet = book.add_worksheet(self.env._("Spare-parts plan"))
        bold = book.add_format({"bold": True})
        _ = self.env._
        headers = [
            _("Equipment"), _("Criticality"), _("Part"), _("Quantity"), _("Vendor"), _("Lead time (d)"),
            _("Lead time std (d)"), _("Predicted failure"), _("Order by"), _("State"), _("Purchase"),
            _("Emergency"), _("Value"), _("Reason"),
        ]  # fmt: skip
        sheet.write_row(0, 0, headers, bold)
        states = dict(self.env["mro.part.need"]._fields["state"].selection)
        for row, need in enumerate(needs, start=1):
            failure = need.predicted_failure_date
            sheet.write_row(
                row,
                0,
                [
                    need.equipment_id.display_name,
                    need.criticality or "",
                    need.product_id.display_name,
                    need.quantity,
                    need.partner_id.display_name or "",
                    round(need.lead_mean, 1),
                    round(need.lead_std, 1),
                ],
            )
            if failure:
                sheet.write_datetime(row, 7, failure)
            if need.order_by_date:
                sheet.write_datetime(row, 8, datetime.combine(need.order_by_date, time.min))
            sheet.write_row(
                row,
                9,
                [states[need.state], need.purchase_id.name or "", "yes" if need.emergency else "", need.value,
                 need.reason or ""],
            )  # fmt: skip
        sheet.set_column(0, 0, 24)
        sheet.set_column(2, 2, 28)
        sheet.set_column(7, 8, 12)
        sheet.set_column(13, 13, 80)
        book.close()
        name = f"spare-parts-plan-{format_date(self.env, date.today(), date_format='yyyy-MM-dd')}.xlsx"
        return self.env["ir.attachment"].create(
            {
                "name": name,
                "datas": base64.b64encode(buffer.getvalue()),
                "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "res_model": "mro.part.need",
            }
        )
