import logging
from datetime import datetime, time, timedelta

import pytz
from pytz import utc

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..mro_planning import (
    EARLY_KINDS,
    ExpediteOption,
    LeadTimeStats,
    NeedInputs,
    Policy,
    Signal,
    WarningHistory,
    lead_time_stats,
    plan_need,
    residual_quantiles,
    rul_quantiles_now,
    warning_episodes,
)

_logger = logging.getLogger(__name__)

#: Calendars are read this many days around today to find closed days.
CALENDAR_SPAN = 400
#: Lead time of a part without a vendor (days): a week, give or take half a week.
PRIOR_LEAD = LeadTimeStats(7.0, 3.5, 0, None, "prior")
#: Days after an equipment is registered or back from a renewal before the onset of a warning episode is trusted
#: (the machine known healthy for a baseline's week): an earlier episode may have begun long before.
SETTLE_DAYS = 7
#: Health alerts that are warnings of a failure (a data-quality alert is not).
WARNING_ALERTS = ("health", "anomaly", "rul")


class MroJitPlanner(models.AbstractModel):
    """Turns predictions into purchases, just in time.

    Every decision is the pure policy's (``mro_planning.plan_need``, the functions the plant simulation in
    bench/jit_sim.py calls with the same arguments): this model gathers its inputs from the records
    (``_need_inputs``: the equipment's criticality and warnings, the vendor's lead time, the plant's warning
    history and closed days, the need as stored) and writes the decision (planned, due, kept, released,
    done). Due needs claim free stock and the shortfall goes on an RFQ grouped by vendor
    (``mro.jit.purchasing``); the auto-approval policy then confirms it or leaves it to the buyer.

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
        """Plan every equipment of ``company`` (``mro_planning.plan_need`` for each part of each equipment); order
        what is due. Returns the purchase orders touched."""
        today = today or fields.Date.context_today(self)
        policy = self._policy(company)
        Need = self.env["mro.part.need"]
        equipments = self.env["maintenance.equipment"].search(
            [("company_id", "in", (company.id, False)), ("mro_part_ids", "!=", False)]
        )
        open_needs = Need.search([("equipment_id", "in", equipments.ids), ("state", "not in", ("done", "cancel"))])
        by_key = {(n.equipment_id.id, n.part_id.id): n for n in open_needs}
        cache = {"predictions": self._latest_predictions(equipments)}
        due = {}
        for equipment in equipments:
            for part in equipment.mro_part_ids:
                need = by_key.get((equipment.id, part.id))
                inputs, decision, seller = self._decide(equipment, part, need, company, today, policy, cache)
                need = self._write_decision(need, inputs, decision, equipment, part, seller, policy, cache)
                if need and decision.due and need.state in ("planned", "due", "stock"):
                    due[need.id] = (inputs, decision)
        needs = Need.browse(list(due)).sorted(lambda n: (n.order_by_date, n.id))
        return self.env["mro.jit.purchasing"]._order_due(needs, company, today, due, policy)

    @api.model
    def _policy(self, company, factor=None):
        """The company's planning settings as the pure policy's ``Policy``. Risk mode: ``factor``, else the
        preview's (``mro_risk_factor`` in the context), else the company's when its risk mode is on."""
        if factor is None:
            factor = self.env.context.get("mro_risk_factor")
            if factor is None and company.mro_risk_mode:
                factor = company.mro_risk_factor
        return Policy(
            risk_a=company.mro_risk_a,
            risk_b=company.mro_risk_b,
            risk_c=company.mro_risk_c,
            # The company's service level is the buffer's for its default class (B); A and C keep the policy's.
            service_b=company.mro_service_level or Policy.service_b,
            receiving_days=company.mro_receiving_days,
            kitting_days=company.mro_kitting_days,
            risk_factor=factor if factor and factor > 0 else 1.0,
            order_cost=company.mro_order_cost,
            holding_rate=company.mro_holding_rate,
        )

    @api.model
    def _decide(self, equipment, part, need, company, today, policy, cache):
        """``(NeedInputs, NeedDecision, seller)`` for one part of one equipment (``need``: its open need, if
        any); ``cache``: what the needs of one run share (calendars, histories, equipment inputs)."""
        seller = part.product_id._select_seller(quantity=part.quantity, date=today)
        inputs = self._need_inputs(equipment, part, need, company, today, seller, cache)
        return inputs, plan_need(inputs, policy), seller

    @api.model
    def _need_inputs(self, equipment, part, need, company, today, seller, cache):
        """The pure policy's ``NeedInputs`` of one part of one equipment, gathered from the records, as the
        simulation gathers its own: the equipment's criticality and warnings, the vendor's lead time and
        expedite agreement, the plant's warning histories, the plant's and the vendor's closed days and the need
        as stored."""
        rul_warnings, early_warnings = self._warning_histories(company, today, cache)
        info = self._equipment_inputs(equipment, today, cache)
        calendars = cache.setdefault("calendars", {})
        return NeedInputs(
            today,
            info["criticality"],
            part.quantity,
            self._lead_stats(seller, part.product_id, company),
            info["signals"],
            rul_warnings,
            early_warnings,
            self._expedite_option(seller),
            plant_closed=self._closed_days(company.resource_calendar_id, today, calendars),
            vendor_closed=self._leave_days(seller.partner_id.mro_closure_calendar_id),
            state=need.state if need else None,
            order_by=need.order_by_date if need else None,
            # Moments, not days: a need planned on the day of a repair but after it is not answered by it.
            planned_on=(need.planned_at or None) if need else None,
            last_signal_on=need.last_signal_on if need else None,
            renewed_on=info["renewed_on"],
            confidence=info["confidence"] or company.mro_prediction_confidence or 0.8,
            deadline=self._scheduled_job(equipment, company, cache),
        )

    @api.model
    def _scheduled_job(self, equipment, company, cache):
        """The start of the equipment's next scheduled job not done yet (a shutdown may pull it forward): a hard
        deadline for its parts, which must be received and kitted before it; None without one. The jobs of the
        planned company's equipment are read once per run."""
        if "scheduled" not in cache:
            jobs = self.env["maintenance.request"].search(
                [
                    ("schedule_date", "!=", False),
                    ("stage_id.done", "=", False),
                    ("equipment_id.company_id", "in", (company.id, False)),
                ],
                order="schedule_date",
            )
            scheduled = {}
            for job in jobs:
                scheduled.setdefault(job.equipment_id.id, job.schedule_date)
            cache["scheduled"] = scheduled
        return cache["scheduled"].get(equipment.id)

    @api.model
    def _equipment_inputs(self, equipment, today, cache=None):
        """What the policy reads of an equipment (the one place that reads its prediction fields): criticality,
        warnings as ``Signal`` (a confident RUL of the latest analysis, unless it describes the machine before
        its last renewal, and the onset of its open warning episode; no fleet or Weibull warning yet), the last
        renewal, the interval's confidence and what the need records of the prediction."""
        cache = cache if cache is not None else {}
        key = ("equipment", equipment.id)
        if key not in cache:
            renewed = equipment.mro_baseline_since
            signals = (Signal("rul", self._rul_quantiles(equipment, today)),) if self._rul_stands(equipment) else ()
            onset = self._onset_signal(equipment, today, cache)
            if onset is not None:
                signals += (onset,)
            cache[key] = {
                "criticality": equipment.mro_criticality,
                "signals": signals,
                "renewed_on": renewed or None,
                "confidence": equipment.mro_rul_confidence,
                "predicted_failure_date": equipment.mro_predicted_failure_date,
                "failure_probability": equipment.mro_failure_probability,
            }
        return cache[key]

    @api.model
    def _rul_stands(self, equipment):
        """The equipment's confident RUL stands: the latest analysis gave one, since its last renewal."""
        predicted = bool(
            equipment.mro_predicted_failure_date and equipment.mro_rul_days is not None and equipment.active
        )
        renewed = equipment.mro_baseline_since
        stale = renewed and (not equipment.mro_last_analysis or equipment.mro_last_analysis <= renewed)
        return predicted and not stale

    @api.model
    def _expedite_option(self, seller):
        """The vendor's expedite agreement as its pricelist line states it (``ExpediteOption``: the agreed delay
        as the lead time, the premium as a share of the price), or None without one."""
        if not seller or seller.mro_expedite_delay <= 0:
            return None
        lead = lead_time_stats([], prior_mean=seller.mro_expedite_delay)
        return ExpediteOption(lead, seller.mro_expedite_premium / 100.0)

    @api.model
    def _lead_stats(self, seller, product, company):
        """The vendor's lead-time statistics for the part (a week ± half a week without a vendor)."""
        lead = self.env["mro.lead.time"]._for(seller.partner_id, product, company, seller) if seller else None
        return lead or PRIOR_LEAD

    @api.model
    def _warning_histories(self, company, today, cache=None):
        """The plant's warning histories (``WarningHistory``: confident RULs, earliest warnings of any kind) from
        its records (:meth:`_warning_records`): for each renewal (a corrective or preventive request done) of the
        company's equipment, the days it was warned ahead by the episode it ended, from its first confident RUL
        (from its onset: a RUL or a health alert), 0 when none (``Episodes.warned``); the exposure is the
        machine-days of its equipment since each was registered."""
        return self._warning_records(company, today, cache)["histories"]

    @api.model
    def _warning_records(self, company, today, cache=None):
        """What the plant's records say of its warnings, read once per run (``cache``): ``histories`` (see
        :meth:`_warning_histories`), ``episodes`` (``{equipment id: Episodes}``, ``warning_episodes`` of its
        health alerts and published RULs) and ``pooled`` (the plant's onset-to-failure intervals and censored
        episode lengths, for ``residual_quantiles``)."""
        cache = cache if cache is not None else {}
        if "warnings" in cache:
            return cache["warnings"]
        equipments = self.env["maintenance.equipment"].search([("company_id", "in", (company.id, False))])
        exposure = float(sum(max((today - e.create_date.date()).days, 0) for e in equipments))
        renewals = {}
        for request in self.env["maintenance.request"].search_read(
            [
                ("equipment_id", "in", equipments.ids),
                ("stage_id.done", "=", True),
                ("maintenance_type", "in", ("corrective", "preventive")),
            ],
            ["equipment_id", "close_date", "request_date", "maintenance_type"],
        ):
            # A breakdown failed on the day it was reported; a planned replacement renewed when it was done; both
            # back in service when the work was done.
            failed = request["maintenance_type"] == "corrective"
            back = request["close_date"] or request["request_date"]
            renewals.setdefault(request["equipment_id"][0], []).append(
                (request["request_date"] if failed else back, failed, back)
            )
        # The days a RUL was published (one row per equipment and day: the ledger grows for years); a missed
        # failure's row in the ledger is no warning. Days are the plan's own (``today``: the user's time zone).
        self.env["mro.prediction"].flush_model(["equipment_id", "published_at", "outcome"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT equipment_id, (published_at AT TIME ZONE 'UTC' AT TIME ZONE %s)::date
                     FROM mro_prediction WHERE equipment_id = ANY(%s) AND outcome IS DISTINCT FROM 'miss'""",
                self._time_zone(),
                equipments.ids,
            )
        )
        published = {}
        for equipment_id, day in self.env.cr.fetchall():
            published.setdefault(equipment_id, []).append(day)
        alerts = {}
        for row in self.env["mro.health.alert"].search_read(
            [("equipment_id", "in", equipments.ids), ("kind", "in", WARNING_ALERTS)],
            ["equipment_id", "opened_at", "last_seen", "state"],
        ):
            first = fields.Datetime.context_timestamp(self, row["opened_at"]).date()
            seen = fields.Datetime.context_timestamp(self, row["last_seen"] or row["opened_at"]).date()
            last = None if row["state"] != "closed" else max(seen, first)
            alerts.setdefault(row["equipment_id"][0], []).append((first, last))
        # A prediction that stands (on the equipment, made since its last renewal) is still seen.
        for equipment in equipments.filtered(self._rul_stands):
            published.setdefault(equipment.id, []).append(None)
        quiet = Policy.release_after_days
        rul_days, early_days, episodes, intervals, censored = [], [], {}, [], []
        registered = {e.id: e.create_date.date() for e in equipments}
        for equipment_id in set(renewals) | set(published) | set(alerts):
            standing = published.get(equipment_id, [])
            ruls = [(day, day) for day in standing if day] + [(today, None) for day in standing if day is None]
            episode = warning_episodes(
                alerts.get(equipment_id, ()),
                renewals.get(equipment_id, ()),
                today,
                quiet,
                ruls,
                registered.get(equipment_id),
                SETTLE_DAYS,
            )
            episodes[equipment_id] = episode
            intervals += episode.intervals
            censored += episode.censored
            early_days += [early for early, _rul in episode.warned]
            rul_days += [rul for _early, rul in episode.warned]
        cache["warnings"] = {
            "histories": (WarningHistory(rul_days, exposure), WarningHistory(early_days, exposure)),
            "episodes": episodes,
            "pooled": (intervals, censored),
        }
        return cache["warnings"]

    @api.model
    def _time_zone(self):
        """The time zone of the plan's days (as ``fields.Date.context_today``: the context's, else the user's)."""
        name = self.env.context.get("tz") or self.env.user.tz or "UTC"
        return name if name in pytz.all_timezones_set else "UTC"

    @api.model
    def _onset_signal(self, equipment, today, cache):
        """The onset warning of the equipment's open episode (``Signal("onset")``: the residual life of the
        plant's episodes ``residual_quantiles`` gives at its age), or None without an open episode or enough
        history."""
        company = equipment.company_id or self.env.company
        records = self._warning_records(company, today, cache)
        episode = records["episodes"].get(equipment.id)
        if not episode or not episode.onset:
            return None
        intervals, censored = records["pooled"]
        quantiles = residual_quantiles(intervals, float((today - episode.onset).days), censored)
        return Signal("onset", quantiles) if quantiles is not None else None

    @api.model
    def _write_decision(self, need, inputs, decision, equipment, part, seller, policy, cache):
        """Write the policy's decision on the need (created for a new one); returns the need (or None)."""
        action = decision.action
        if action == "none":
            return need
        if action == "done":
            need.write({"state": "done", "reason": f"{need.reason or ''} ({decision.reason})"})
            return need
        if action == "cancel":
            need.write(
                {
                    "state": "cancel",
                    "reason": self.env._("%(reason)s; %(why)s", reason=need.reason or "", why=decision.reason),
                }
            )
            return need
        if action == "keep":
            if need.state != "ordered" and decision.last_signal_on != need.last_signal_on:
                need.last_signal_on = decision.last_signal_on
            return need
        info = self._equipment_inputs(equipment, inputs.today, cache)
        product, vendor = part.product_id, seller.partner_id
        reason = self.env._(
            "%(equipment)s: %(qty)s x %(part)s from %(vendor)s; %(plan)s",
            equipment=equipment.display_name,
            qty=part.quantity,
            part=product.display_name,
            vendor=vendor.display_name or self.env._("no vendor"),
            plan=decision.reason,
        )
        lead = policy.effective_lead(inputs.lead)
        values = {
            "equipment_id": equipment.id,
            "part_id": part.id,
            "product_id": product.id,
            "quantity": part.quantity,
            # A need planned from an earlier, less certain warning has no prediction behind it.
            "prediction_id": False if decision.signal in EARLY_KINDS else cache["predictions"].get(equipment.id, False),
            "predicted_failure_date": info["predicted_failure_date"],
            "failure_probability": info["failure_probability"],
            "partner_id": vendor.id,
            "lead_mean": lead.mean,
            "lead_std": lead.std,
            "order_by_date": decision.order_by,
            "late": decision.late,
            "risk_if_today": decision.risk_if_today or 0.0,
            "last_signal_on": decision.last_signal_on,
            "reason": reason,
        }
        if need:
            need.write(values)
            return need
        return self.env["mro.part.need"].create(values)

    @api.model
    def _latest_predictions(self, equipments):
        """{equipment id: id of its latest published prediction in the ledger (a missed failure's row is none)},
        in one query."""
        if not equipments:
            return {}
        self.env["mro.prediction"].flush_model(["equipment_id", "published_at", "outcome"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (equipment_id) equipment_id, id FROM mro_prediction
                    WHERE equipment_id = ANY(%s) AND outcome IS DISTINCT FROM 'miss'
                    ORDER BY equipment_id, published_at DESC, id DESC""",
                equipments.ids,
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _rul_quantiles(self, equipment, today):
        """The equipment's RUL quantiles in days from noon of ``today`` (the analysis stated them from the
        time it ran, which may be later that day: then they grow a little)."""
        elapsed = 0.0
        if equipment.mro_last_analysis:
            elapsed = (datetime.combine(today, time(12)) - equipment.mro_last_analysis).total_seconds() / 86400.0
        return rul_quantiles_now(
            equipment.mro_rul_quantiles or None,
            equipment.mro_rul_days,
            equipment.mro_rul_lower_days,
            equipment.mro_rul_upper_days,
            equipment.mro_rul_confidence,
            elapsed,
        )

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
