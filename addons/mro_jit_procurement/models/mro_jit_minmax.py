import math

from odoo import api, fields, models

from ..mro_planning import LeadTimeStats, eoq, min_max, pooled_demand, rul_cdf


class MroJitMinMax(models.AbstractModel):
    """The spare parts' dynamic min/max: the orderpoint Odoo replenishes beside the planner's needs."""

    _name = "mro.jit.minmax"
    _description = "Just-in-time spare-parts min/max"

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
                if equipment.rul_days is not None and equipment.predicted_failure_date:
                    p = float(rul_cdf(cover, self.env["mro.jit.planner"]._rul_quantiles(equipment, today)))
                else:
                    ph = min(max(equipment.failure_probability or 0.0, 0.0), 0.999)
                    p = 1.0 - (1.0 - ph) ** (cover / horizon)
                probs.append(min(max(p, 0.0), 1.0))
                qtys.append(math.ceil(line.quantity))
                rate = -math.log(1.0 - min(max(equipment.failure_probability or 0.0, 0.0), 0.999)) / horizon
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
