from odoo import fields, models


class MroSensor(models.Model):
    _inherit = "mro.sensor"

    baseline_median = fields.Float("Baseline median", readonly=True, digits=(16, 4))
    baseline_mad = fields.Float("Baseline MAD", readonly=True, digits=(16, 4), help="Median absolute deviation.")
    baseline_n = fields.Integer("Baseline samples", readonly=True)
    baseline_learned_at = fields.Datetime(readonly=True)
    anomaly = fields.Boolean(readonly=True)
    anomaly_z = fields.Float("Robust z-score", readonly=True, digits=(16, 2))
    data_quality = fields.Char(
        readonly=True, help="Data-quality faults found by the last analysis (not machine faults)."
    )
    analysis_note = fields.Char(readonly=True)
