from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    mro_planning_horizon_days = fields.Integer("Planning horizon (days)", default=30)
    mro_prediction_confidence = fields.Float(
        "Prediction interval confidence", default=0.8, help="Central probability of the RUL interval."
    )
    mro_analysis_window_days = fields.Integer(
        "Analysis window (days)",
        default=30,
        help="Days of hourly history each analysis reads. Baselines, once learned, are kept (until a corrective "
        "repair), so the window only needs to show the recent trend; longer windows cost proportionally more.",
    )
    mro_gateway_silence_minutes = fields.Integer(
        "Gateway silence limit (minutes)",
        default=30,
        help="A gateway (bridge) not seen for longer than this raises a data-quality alert and marks the health "
        "of its equipment as stale; 0 turns the check off.",
    )
    mro_maintenance_planner_id = fields.Many2one(
        "res.users",
        "Maintenance planner",
        help="Gets the activities that concern the plan rather than one machine: a silent gateway, a part that "
        "will arrive after its job's scheduled date.",
    )
