from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mro_planning_horizon_days = fields.Integer(related="company_id.mro_planning_horizon_days", readonly=False)
    mro_prediction_confidence = fields.Float(related="company_id.mro_prediction_confidence", readonly=False)
    mro_analysis_window_days = fields.Integer(related="company_id.mro_analysis_window_days", readonly=False)
