from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mro_risk_a = fields.Float(related="company_id.mro_risk_a", readonly=False)
    mro_risk_b = fields.Float(related="company_id.mro_risk_b", readonly=False)
    mro_risk_c = fields.Float(related="company_id.mro_risk_c", readonly=False)
    mro_receiving_days = fields.Float(related="company_id.mro_receiving_days", readonly=False)
    mro_kitting_days = fields.Float(related="company_id.mro_kitting_days", readonly=False)
    mro_service_level = fields.Float(related="company_id.mro_service_level", readonly=False)
    mro_order_cost = fields.Monetary(related="company_id.mro_order_cost", readonly=False)
    mro_holding_rate = fields.Float(related="company_id.mro_holding_rate", readonly=False)
    mro_auto_approve = fields.Boolean(related="company_id.mro_auto_approve", readonly=False)
    mro_auto_approve_limit = fields.Monetary(related="company_id.mro_auto_approve_limit", readonly=False)
    mro_auto_approve_daily_cap = fields.Monetary(related="company_id.mro_auto_approve_daily_cap", readonly=False)
    mro_auto_approve_a = fields.Boolean(related="company_id.mro_auto_approve_a", readonly=False)
    mro_auto_approve_b = fields.Boolean(related="company_id.mro_auto_approve_b", readonly=False)
    mro_auto_approve_c = fields.Boolean(related="company_id.mro_auto_approve_c", readonly=False)
    mro_auto_approve_min_probability = fields.Float(
        related="company_id.mro_auto_approve_min_probability", readonly=False
    )
    mro_buyer_id = fields.Many2one(related="company_id.mro_buyer_id", readonly=False)
    mro_risk_mode = fields.Boolean(related="company_id.mro_risk_mode")
    mro_risk_factor = fields.Float(related="company_id.mro_risk_factor", readonly=False)
    mro_ghost_days = fields.Integer(related="company_id.mro_ghost_days", readonly=False)
    mro_allow_negative_stock = fields.Boolean(related="company_id.mro_allow_negative_stock", readonly=False)
    mro_storekeeper_id = fields.Many2one(related="company_id.mro_storekeeper_id", readonly=False)

    def action_mro_risk_mode(self):
        return self.env["mro.risk.mode.wizard"]._open(self.company_id)
