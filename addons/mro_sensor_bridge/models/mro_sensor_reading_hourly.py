from odoo import fields, models


class MroSensorReadingHourly(models.Model):
    """Hourly aggregates of a sensor's readings, kept forever (raw readings expire).

    Written only by :meth:`mro.sensor.reading._insert_readings`, which adds exactly the rows
    it inserted, so the figures stay exact whatever order readings arrive in.
    """

    _name = "mro.sensor.reading.hourly"
    _description = "Sensor Reading (hourly aggregate)"
    _log_access = False
    _order = "hour desc"
    _rec_name = "hour"

    sensor_id = fields.Many2one("mro.sensor", required=True, ondelete="cascade", index=False)
    hour = fields.Datetime(required=True, help="Start of the hour, UTC.")
    value_count = fields.Integer("Readings", required=True, aggregator="sum")
    value_sum = fields.Float("Sum", required=True, aggregator="sum")
    value_min = fields.Float("Min", required=True, aggregator="min")
    value_max = fields.Float("Max", required=True, aggregator="max")
    value_mean = fields.Float("Mean", required=True, aggregator="avg")
    first_ts = fields.Datetime("First reading", required=True)
    last_ts = fields.Datetime("Last reading", required=True)
    last_value = fields.Float("Last", required=True, aggregator=None)
    equipment_id = fields.Many2one(related="sensor_id.equipment_id")
    company_id = fields.Many2one(related="sensor_id.company_id")

    _sql_constraints = [
        # Also the index for one sensor's history: (sensor_id, hour). It carries the hourly mean so that
        # the health analysis reads a sensor's window from a few index pages (an index-only scan)
        # instead of one heap page per hour, wherever the rows of that sensor lie in the table.
        (
            "sensor_hour_uniq",
            "unique(sensor_id, hour) include (value_mean)",
            "One aggregate per sensor and hour.",
        ),
    ]
