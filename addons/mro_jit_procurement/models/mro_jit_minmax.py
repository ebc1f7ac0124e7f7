from odoo import api, fields, models

from ..mro_planning import BufferInputs, BufferUser, orderpoint_levels, part_buffer


class MroJitMinMax(models.AbstractModel):
    """The spare parts' dynamic min/max: the orderpoint Odoo replenishes beside the planner's needs."""

    _name = "mro.jit.minmax"
    _description = "Just-in-time spare-parts min/max"

    @api.model
    def _minmax_plan(self, company, factor=1.0):
        """``{product: (MinMax, lead stats, unit cost)}`` for every storable spare part of the company, as
        ``mro_planning.part_buffer`` and ``orderpoint_levels`` decide (the simulation's calls): demand over the
        vendor's lead time and its variance from the machines no need covers (the plant's unwarned-failure
        rate), the service level and on-site spare of the most critical user, the EOQ from unwarned
        replacements only, plus what open needs claim; risk mode: lead times and safety stock x ``factor``."""
        planner = self.env["mro.jit.planner"]
        policy = planner._policy(company, factor)
        parts = self.env["mro.equipment.part"].search(
            [("company_id", "in", (company.id, False)), ("equipment_active", "=", True)]
        )
        today = fields.Date.context_today(self)
        cache = {}
        rul_warnings, early_warnings = planner._warning_histories(company, today, cache)
        claimed = dict(
            self.env["mro.part.need"]._read_group(
                [
                    ("product_id", "in", parts.product_id.ids),
                    ("state", "in", ("stock", "ordered")),
                    ("company_id", "in", (company.id, False)),
                ],
                ["product_id"],
                ["quantity:sum"],
            )
        )
        plan = {}
        for product in parts.product_id.filtered("is_storable"):
            lines = parts.filtered(lambda p, pr=product: p.product_id == pr)
            seller = product._select_seller(date=today)
            lead = planner._lead_stats(seller, product, company)
            users = []
            for line in lines:
                info = planner._equipment_inputs(line.equipment_id, today, cache)
                users.append(BufferUser(info["criticality"], line.quantity, info["signals"]))
            cost = product.standard_price
            inputs = BufferInputs(tuple(users), lead, cost, rul_warnings, early_warnings)
            result = part_buffer(inputs, policy)
            if result is None:
                continue
            plan[product] = (orderpoint_levels(result, claimed.get(product, 0.0)), policy.effective_lead(lead), cost)
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
