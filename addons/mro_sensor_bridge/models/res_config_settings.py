from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mro_sensor_retention_days = fields.Integer(
        "Raw reading retention (days)",
        config_parameter="mro_sensor_bridge.retention_days",
        default=90,
        help="Raw readings older than this are deleted once their hourly aggregate exists; "
        "0 keeps them forever. Readings older than this are also refused by ingest.",
    )
