from datetime import date

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..mro_planning.wrench import wrench_pct


class MroJitKpi(models.Model):
    """Spare-parts KPIs per company and month, refreshed by a cron (and a button) for the last 12 months.

    - MRO inventory turnover: value of spare parts consumed in the month x 12 / today's spare-parts stock value
      (annualised; Community Odoo keeps no stock value history without accounting valuation).
    - Stockout rate on critical parts: requests that waited for a critical part / requests with a parts kit.
    - Emergency purchase spend: confirmed spare-part purchases that were urgent or placed after an order-by date.
    - Prediction hit rate: scored predictions whose failure fell inside their interval or before the horizon.
    """

    _name = "mro.jit.kpi"
    _description = "Spare-parts KPIs"
    _order = "month desc"
    _rec_name = "month"

    month = fields.Date(required=True, index=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    consumed_value = fields.Monetary("Parts consumed", aggregator="sum")
    stock_value = fields.Monetary("Parts stock value", aggregator="avg")
    turnover = fields.Float("Inventory turnover (per year)", aggregator="avg", digits=(16, 2))
    kit_requests = fields.Integer("Requests with a kit", aggregator="sum")
    waited_requests = fields.Integer("Requests that waited for parts", aggregator="sum")
    waited_hours = fields.Float("Hours waited for parts", aggregator="sum", digits=(16, 1))
    stockout_rate = fields.Float("Stockout rate on critical parts (%)", aggregator="avg", digits=(16, 1))
    purchase_spend = fields.Monetary("Spare-parts purchases", aggregator="sum")
    emergency_spend = fields.Monetary("Emergency purchase spend", aggregator="sum")
    emergency_orders = fields.Integer("Emergency purchases", aggregator="sum")
    expedited_lines = fields.Integer("Expedited purchase lines", aggregator="sum")
    expedited_spend = fields.Monetary("Expedited purchase spend", aggregator="sum", help="Premiums included.")
    predictions_scored = fields.Integer(aggregator="sum")
    predictions_hit = fields.Integer(aggregator="sum")
    hit_rate = fields.Float("Prediction hit rate (%)", aggregator="avg", digits=(16, 1))
    work_hours = fields.Float("Hours working (timed)", aggregator="sum", digits=(16, 1))
    wait_hours = fields.Float("Hours waiting (timed)", aggregator="sum", digits=(16, 1))
    parts_wait_hours = fields.Float("Hours waiting for parts (timed)", aggregator="sum", digits=(16, 1))
    wrench_time = fields.Float(
        "Wrench time (%)", aggregator="avg", digits=(16, 1), help="Hours working / (hours working + waiting)."
    )
    wrench_time_change = fields.Float(
        "Wrench time change (points)",
        aggregator="avg",
        digits=(16, 1),
        help="Wrench time of the month minus that of the first month measured.",
    )

    @api.model
    def _refresh(self, companies=None, months=12):
        """Recompute the last ``months`` months' rows of each company."""
        today = fields.Date.context_today(self)
        first = date(today.year, today.month, 1) - relativedelta(months=months - 1)
        for company in companies or self.env["res.company"].search([]):
            self.search([("company_id", "=", company.id), ("month", ">=", first)]).unlink()
            parts = self.env["mro.equipment.part"].search([("company_id", "in", (company.id, False))]).product_id
            timed = self._timed_hours(company)
            baseline = wrench_pct(*timed[min(timed)][:2]) if timed else 0.0
            stock_value = sum(p.with_company(company).qty_available * p.standard_price for p in parts)
            rows = []
            for k in range(months):
                start = first + relativedelta(months=k)
                end = start + relativedelta(months=1)
                consumed = self._consumed_value(company, parts, start, end)
                kits = self.env["maintenance.request"].search_count(
                    [("company_id", "=", company.id), ("mro_picking_id", "!=", False),
                     ("create_date", ">=", start), ("create_date", "<", end)]
                )  # fmt: skip
                # A request waited when its work came due without a critical part (decided then, not when it
                # was opened): counted in the month the wait began.
                waits = self.env["maintenance.request"].search(
                    [("company_id", "=", company.id), ("mro_waited_for_parts", "=", True),
                     ("mro_parts_wait_start", ">=", start), ("mro_parts_wait_start", "<", end)]
                )  # fmt: skip
                waited = len(waits)
                orders = self.env["purchase.order"].search(
                    [("company_id", "=", company.id), ("mro_jit", "=", True), ("state", "in", ("purchase", "done")),
                     ("date_approve", ">=", start), ("date_approve", "<", end)]
                )  # fmt: skip
                urgent = orders.filtered("mro_emergency")
                expedited = orders.order_line.filtered("mro_expedite")
                scored = self.env["mro.prediction"].search(
                    [("company_id", "=", company.id), ("state", "=", "scored"),
                     ("actual_failure_date", ">=", start), ("actual_failure_date", "<", end)]
                )  # fmt: skip
                hits = len(scored.filtered("hit"))
                rows.append(
                    {
                        "month": start,
                        "company_id": company.id,
                        "consumed_value": consumed,
                        "stock_value": stock_value,
                        "turnover": 12.0 * consumed / stock_value if stock_value else 0.0,
                        "kit_requests": kits,
                        "waited_requests": waited,
                        "waited_hours": sum(waits.mapped("mro_parts_wait_hours")),
                        "stockout_rate": 100.0 * waited / kits if kits else 0.0,
                        "purchase_spend": sum(orders.mapped("amount_untaxed")),
                        "emergency_spend": sum(urgent.mapped("amount_untaxed")),
                        "emergency_orders": len(urgent),
                        "expedited_lines": len(expedited),
                        "expedited_spend": sum(expedited.mapped("price_subtotal")),
                        "predictions_scored": len(scored),
                        "predictions_hit": hits,
                        "hit_rate": 100.0 * hits / len(scored) if scored else 0.0,
                        **self._wrench_values(timed.get(start), baseline),
                    }
                )
            self.create(rows)
        return True

    @api.model
    def _timed_hours(self, company):
        """{first day of month: (hours working, hours waiting, hours waiting for parts)} of the company's timed
        work, every month measured (the first one is the wrench-time baseline)."""
        groups = self.env["mro.work.interval"]._read_group(
            [("company_id", "=", company.id), ("stop", "!=", False)],
            ["start:month", "kind", "pause_reason"],
            ["hours:sum"],
        )
        months = {}
        for month, kind, reason, hours in groups:
            key = month.date() if hasattr(month, "date") else month
            work, wait, parts = months.get(key, (0.0, 0.0, 0.0))
            if kind == "work":
                work += hours
            else:
                wait += hours
                parts += hours if reason == "parts" else 0.0
            months[key] = (work, wait, parts)
        return months

    @api.model
    def _wrench_values(self, hours, baseline):
        if not hours:
            return {}
        work, wait, parts = hours
        pct = wrench_pct(work, wait)
        return {
            "work_hours": work,
            "wait_hours": wait,
            "parts_wait_hours": parts,
            "wrench_time": pct,
            "wrench_time_change": pct - baseline,
        }

    @api.model
    def _consumed_value(self, company, parts, start, end):
        """Value of spare parts used in [start, end): done moves from stock into the maintenance consumption
        location (jobs, scan-outs) or to production and customers, less what came back to stock from the
        consumption location, at the parts' cost. Inventory adjustments are not consumption."""
        if not parts:
            return 0.0
        consumption = company.mro_consumption_location_id.id or 0
        self.env.cr.execute(
            SQL(
                """SELECT sm.product_id,
                          sum(CASE WHEN src.usage = 'internal' THEN sm.product_qty ELSE -sm.product_qty END)
                     FROM stock_move sm
                     JOIN stock_location src ON src.id = sm.location_id
                     JOIN stock_location dst ON dst.id = sm.location_dest_id
                    WHERE sm.state = 'done' AND sm.company_id = %(company)s AND sm.product_id = ANY(%(parts)s)
                      AND sm.date >= %(start)s AND sm.date < %(end)s
                      AND ((src.usage = 'internal'
                            AND (dst.id = %(consumption)s OR dst.usage IN ('production', 'customer')))
                           OR (dst.usage = 'internal' AND src.id = %(consumption)s))
                    GROUP BY sm.product_id""",
                company=company.id,
                parts=parts.ids,
                start=start,
                end=end,
                consumption=consumption,
            )
        )
        cost = {p.id: p.standard_price for p in parts}
        return sum(qty * cost.get(product_id, 0.0) for product_id, qty in self.env.cr.fetchall())

    @api.model
    def _cron_refresh(self):
        self._refresh()

    @api.model
    def action_refresh(self):
        # sudo: the KPIs are computed by the system (nobody writes them by hand), for the user's company.
        self.sudo()._refresh(self.env.company)
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_jit_kpi_action")
