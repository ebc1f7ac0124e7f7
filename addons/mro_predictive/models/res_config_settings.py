from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mro_planning_horizon_days = fields.Integer(related="company_id.mro_planning_horizon_days", readonly=False)
    mro_prediction_confidence = fields.Float(related="company_id.mro_prediction_confidence", readonly=False)
    mro_analysis_window_days = fields.Integer(related="company_id.mro_analysis_window_days", readonly=False)
    mro_gateway_silence_minutes = fields.Integer(related="company_id.mro_gateway_silence_minutes", readonly=False)
    mro_maintenance_planner_id = fields.Many2one(related="company_id.mro_maintenance_planner_id", readonly=False)
