from odoo import api, fields, models

from .maintenance_equipment import check_machine_write

#: Fields of ``mro.sensor`` that only the analysis (and the bookkeeping after a repair) writes.
SENSOR_MACHINE_FIELDS = frozenset(
    {
        "mro_baseline_median", "mro_baseline_mad", "mro_baseline_n", "mro_baseline_learned_at", "mro_anomaly",
        "mro_anomaly_z", "mro_data_quality", "mro_analysis_note", "mro_silent",
    }
)  # fmt: skip


class MroSensor(models.Model):
    _inherit = "mro.sensor"

    mro_baseline_median = fields.Float("Baseline median", readonly=True, digits=(16, 4))
    mro_baseline_mad = fields.Float("Baseline MAD", readonly=True, digits=(16, 4), help="Median absolute deviation.")
    mro_baseline_n = fields.Integer("Baseline samples", readonly=True)
    mro_baseline_learned_at = fields.Datetime(readonly=True)
    mro_anomaly = fields.Boolean(readonly=True)
    mro_anomaly_z = fields.Float("Robust z-score", readonly=True, digits=(16, 2))
    mro_data_quality = fields.Char(
        readonly=True, help="Data-quality faults found by the last analysis (not machine faults)."
    )
    mro_analysis_note = fields.Char(readonly=True)
    mro_silent = fields.Boolean(
        "Silent", readonly=True, help="No reading for longer than the sensor's silence limit (last analysis)."
    )
    mro_silence_minutes = fields.Integer(
        "Silence limit (minutes)",
        help="No reading for longer than this raises a data-quality alert and marks the equipment's health as "
        "stale. 0: automatic, three times the longer of the poll interval and the maximum silence, at least 1 hour.",
    )
    mro_silence_limit = fields.Integer(
        "Silence limit (s)", compute="_compute_mro_silence_limit", store=True, help="The limit in effect, in seconds."
    )

    @api.depends("mro_silence_minutes", "poll_interval", "max_silence")
    def _compute_mro_silence_limit(self):
        for sensor in self:
            if sensor.mro_silence_minutes > 0:
                sensor.mro_silence_limit = sensor.mro_silence_minutes * 60
            else:
                sensor.mro_silence_limit = int(max(3600.0, 3.0 * max(sensor.poll_interval, sensor.max_silence)))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_machine_write(self, vals, SENSOR_MACHINE_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        check_machine_write(self, vals, SENSOR_MACHINE_FIELDS)
        return super().write(vals)
