from odoo import api, fields, models
from odoo.exceptions import UserError


class MroRiskModeWizard(models.TransientModel):
    """Preview, then switch the supply-chain risk mode on or off.

    On: every spare part's min/max is recomputed with lead times and safety stock stretched by the
    factor, and open needs get earlier order-by dates; the preview shows the added stock value and the
    moved dates before anything changes. Off: the orderpoints get back the values saved when it was
    switched on."""

    _name = "mro.risk.mode.wizard"
    _description = "Supply-chain risk mode"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    active_now = fields.Boolean(related="company_id.mro_risk_mode", string="Risk mode on")
    factor = fields.Float(default=lambda self: self.env.company.mro_risk_factor or 1.5)
    line_ids = fields.One2many("mro.risk.mode.wizard.line", "wizard_id")
    need_line_ids = fields.One2many("mro.risk.mode.wizard.need", "wizard_id")
    added_value = fields.Monetary("Added stock value", readonly=True)

    @api.model
    def _open(self, company):
        wizard = self.create({"company_id": company.id, "factor": company.mro_risk_factor or 1.5})
        wizard.action_preview()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_preview(self):
        """Fill the preview: per part, min/max now and with the factor, and the stock value it adds; per open
        need, its order-by date now and in risk mode."""
        self.ensure_one()
        if self.factor <= 0:
            raise UserError(self.env._("The risk factor must be positive."))
        minmax = self.env["mro.jit.minmax"].with_company(self.company_id)
        now = minmax._minmax_plan(self.company_id, 1.0)
        risky = minmax._minmax_plan(self.company_id, self.factor)
        lines, added = [], 0.0
        for product, (result, _lead, cost) in risky.items():
            base = now[product][0]
            value = (result.max_qty - base.max_qty) * cost
            added += value
            lines.append(
                {
                    "product_id": product.id,
                    "min_now": base.min_qty,
                    "max_now": base.max_qty,
                    "min_risk": result.min_qty,
                    "max_risk": result.max_qty,
                    "added_value": value,
                }
            )
        needs = []
        today = fields.Date.context_today(self)
        open_needs = self.env["mro.part.need"].search(
            [("company_id", "=", self.company_id.id), ("state", "in", ("planned", "due", "stock"))]
        )
        cache = {}
        for need in open_needs:
            moved = self._risk_order_by(need, today, cache)
            if moved:
                needs.append({"need_id": need.id, "order_by_now": need.order_by_date, "order_by_risk": moved})
        self.line_ids = [(5, 0, 0)] + [(0, 0, v) for v in lines]
        self.need_line_ids = [(5, 0, 0)] + [(0, 0, v) for v in needs]
        self.added_value = added
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "target": "new"}  # fmt: skip

    def _risk_order_by(self, need, today, cache):
        """The need's order-by date with lead times stretched by the factor (``cache``: the planner's, shared by
        the needs of one preview)."""
        planner = self.env["mro.jit.planner"]
        policy = planner._policy(self.company_id, self.factor)
        _inputs, decision, _seller = planner._decide(
            need.equipment_id, need.part_id, need, self.company_id, today, policy, cache
        )
        return decision.action == "plan" and decision.order_by

    def action_apply(self):
        """Switch risk mode on: save the current min/max, apply the stretched ones, re-plan."""
        self.ensure_one()
        company = self.company_id
        points = self.env["stock.warehouse.orderpoint"].search(
            [("company_id", "=", company.id), ("mro_managed", "=", True)]
        )
        for point in points.filtered(lambda p: not p.mro_saved):
            point.write(
                {"mro_saved_min": point.product_min_qty, "mro_saved_max": point.product_max_qty, "mro_saved": True}
            )
        company.write({"mro_risk_mode": True, "mro_risk_factor": self.factor})
        touched = self.env["mro.jit.minmax"]._apply_minmax(company, self.factor)
        for point in touched.filtered(lambda p: not p.mro_saved):
            point.write({"mro_saved_min": 0.0, "mro_saved_max": 0.0, "mro_saved": True})
        self.env["mro.jit.planner"]._plan(company)
        return {"type": "ir.actions.act_window_close"}

    def action_switch_off(self):
        """Switch risk mode off: every orderpoint gets back the values saved when it was switched on."""
        self.ensure_one()
        company = self.company_id
        points = self.env["stock.warehouse.orderpoint"].search(
            [("company_id", "=", company.id), ("mro_saved", "=", True)]
        )
        for point in points:
            point.write(
                {"product_min_qty": point.mro_saved_min, "product_max_qty": point.mro_saved_max, "mro_saved": False}
            )
        company.mro_risk_mode = False
        self.env["mro.jit.planner"]._plan(company)
        return {"type": "ir.actions.act_window_close"}


class MroRiskModeWizardLine(models.TransientModel):
    _name = "mro.risk.mode.wizard.line"
    _description = "Risk mode preview: a part"

    wizard_id = fields.Many2one("mro.risk.mode.wizard", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="wizard_id.currency_id")
    product_id = fields.Many2one("product.product", readonly=True)
    min_now = fields.Float(readonly=True)
    max_now = fields.Float(readonly=True)
    min_risk = fields.Float("Min in risk mode", readonly=True)
    max_risk = fields.Float("Max in risk mode", readonly=True)
    added_value = fields.Monetary(readonly=True)


class MroRiskModeWizardNeed(models.TransientModel):
    _name = "mro.risk.mode.wizard.need"
    _description = "Risk mode preview: an order-by date"

    wizard_id = fields.Many2one("mro.risk.mode.wizard", required=True, ondelete="cascade")
    need_id = fields.Many2one("mro.part.need", readonly=True)
    equipment_id = fields.Many2one(related="need_id.equipment_id")
    product_id = fields.Many2one(related="need_id.product_id")
    order_by_now = fields.Date("Order by now", readonly=True)
    order_by_risk = fields.Date("Order by in risk mode", readonly=True)
