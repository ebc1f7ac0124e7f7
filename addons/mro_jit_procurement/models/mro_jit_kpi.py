from datetime import date

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL


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
    stockout_rate = fields.Float("Stockout rate on critical parts (%)", aggregator="avg", digits=(16, 1))
    purchase_spend = fields.Monetary("Spare-parts purchases", aggregator="sum")
    emergency_spend = fields.Monetary("Emergency purchase spend", aggregator="sum")
    emergency_orders = fields.Integer("Emergency purchases", aggregator="sum")
    predictions_scored = fields.Integer(aggregator="sum")
    predictions_hit = fields.Integer(aggregator="sum")
    hit_rate = fields.Float("Prediction hit rate (%)", aggregator="avg", digits=(16, 1))

    @api.model
    def _refresh(self, companies=None, months=12):
        """Recompute the last ``months`` months' rows of each company."""
        today = fields.Date.context_today(self)
        first = date(today.year, today.month, 1) - relativedelta(months=months - 1)
        for company in companies or self.env["res.company"].search([]):
            self.search([("company_id", "=", company.id), ("month", ">=", first)]).unlink()
            parts = self.env["mro.equipment.part"].search([("company_id", "in", (company.id, False))]).product_id
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
                waited = self.env["maintenance.request"].search_count(
                    [("company_id", "=", company.id), ("mro_waited_for_parts", "=", True),
                     ("create_date", ">=", start), ("create_date", "<", end)]
                )  # fmt: skip
                orders = self.env["purchase.order"].search(
                    [("company_id", "=", company.id), ("mro_jit", "=", True), ("state", "in", ("purchase", "done")),
                     ("date_approve", ">=", start), ("date_approve", "<", end)]
                )  # fmt: skip
                urgent = orders.filtered("mro_emergency")
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
                        "stockout_rate": 100.0 * waited / kits if kits else 0.0,
                        "purchase_spend": sum(orders.mapped("amount_untaxed")),
                        "emergency_spend": sum(urgent.mapped("amount_untaxed")),
                        "emergency_orders": len(urgent),
                        "predictions_scored": len(scored),
                        "predictions_hit": hits,
                        "hit_rate": 100.0 * hits / len(scored) if scored else 0.0,
                    }
                )
            self.create(rows)
        return True

    @api.model
    def _consumed_value(self, company, parts, start, end):
        """Value of spare parts that left stock in [start, end): done moves from an internal location to a
        non-internal one, or into the maintenance kits location, at the parts' cost."""
        if not parts:
            return 0.0
        kits = company.mro_maintenance_location_id.id or 0
        self.env.cr.execute(
            SQL(
                """SELECT sm.product_id, sum(sm.product_qty)
                     FROM stock_move sm
                     JOIN stock_location src ON src.id = sm.location_id
                     JOIN stock_location dst ON dst.id = sm.location_dest_id
                    WHERE sm.state = 'done' AND sm.company_id = %s AND sm.product_id = ANY(%s)
                      AND sm.date >= %s AND sm.date < %s AND src.usage = 'internal'
                      AND (dst.usage != 'internal' OR dst.id = %s) AND src.id != %s
                    GROUP BY sm.product_id""",
                company.id,
                parts.ids,
                start,
                end,
                kits,
                kits,
            )
        )
        cost = {p.id: p.standard_price for p in parts}
        return sum(qty * cost.get(product_id, 0.0) for product_id, qty in self.env.cr.fetchall())

    @api.model
    def _cron_refresh(self):
        self._refresh()

    @api.model
    def action_refresh(self):
        self._refresh(self.env.company)
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_jit_kpi_action")
