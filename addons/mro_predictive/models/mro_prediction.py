from odoo import api, fields, models
from odoo.tools import SQL

OUTCOMES = [
    ("hit", "Hit"),
    ("wrong_date", "Wrong date"),
    ("false_alarm", "False alarm"),
    ("other_mode", "Other failure mode"),
    ("miss", "Missed failure"),
]


class MroPrediction(models.Model):
    """The ledger: every published prediction, scored against what the technician found, and every failure
    that came without a prediction (a miss). Written by the system only (the analysis, and the bookkeeping
    when a request is done): people read it."""

    _name = "mro.prediction"
    _description = "Published Failure Prediction"
    _order = "published_at desc, id desc"

    equipment_id = fields.Many2one("maintenance.equipment", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="equipment_id.company_id", store=True, index=True)
    asset_model_id = fields.Many2one("mro.asset.model", readonly=True, index=True)
    sensor_id = fields.Many2one("mro.sensor", ondelete="set null", readonly=True)
    published_at = fields.Datetime(required=True, readonly=True, index=True)
    data_from = fields.Datetime("Inputs from", readonly=True)
    data_to = fields.Datetime("Inputs to", readonly=True)
    model = fields.Char(readonly=True)
    reason = fields.Text(readonly=True)
    rul_days = fields.Float("RUL (days)", readonly=True, digits=(16, 1))
    rul_lower_days = fields.Float("Lower (days)", readonly=True, digits=(16, 1))
    rul_upper_days = fields.Float("Upper (days)", readonly=True, digits=(16, 1))
    confidence = fields.Float(readonly=True)
    predicted_failure_date = fields.Datetime(readonly=True)
    lower_date = fields.Datetime(readonly=True)
    upper_date = fields.Datetime(readonly=True)
    failure_probability = fields.Float(readonly=True)
    horizon_days = fields.Integer(readonly=True)
    quantiles = fields.Json(readonly=True)
    state = fields.Selection(
        [("open", "Waiting for the outcome"), ("scored", "Scored")], default="open", required=True, index=True
    )
    outcome = fields.Selection(
        OUTCOMES,
        readonly=True,
        index=True,
        help="Hit: the wear was found as predicted (or the failure came within the tolerance); wrong date: the "
        "failure came outside it; false alarm: no defect found; other failure mode: something else was wrong; "
        "missed failure: a failure that came without a prediction.",
    )
    request_id = fields.Many2one("maintenance.request", readonly=True)
    actual_failure_date = fields.Datetime(readonly=True)
    error_days = fields.Float(
        "Error (days)", readonly=True, digits=(16, 1), aggregator="avg", help="Predicted minus actual; > 0 is late."
    )
    abs_error_days = fields.Float("Absolute error (days)", readonly=True, digits=(16, 1), aggregator="avg")
    interval_held = fields.Boolean(readonly=True)
    hit = fields.Boolean(readonly=True)
    coverage_pct = fields.Float("Interval coverage (%)", readonly=True, aggregator="avg", digits=(16, 1))
    hit_pct = fields.Float("Hit rate (%)", readonly=True, aggregator="avg", digits=(16, 1))

    @api.depends("equipment_id", "published_at", "rul_days", "outcome")
    def _compute_display_name(self):
        for prediction in self:
            when = fields.Datetime.to_string(prediction.published_at)
            if prediction.outcome == "miss":
                prediction.display_name = self.env._(
                    "%(e)s: failure without prediction (%(d)s)", e=prediction.equipment_id.display_name, d=when
                )
            else:
                prediction.display_name = (
                    f"{prediction.equipment_id.display_name}: {prediction.rul_days:.0f} d ({when})"
                )

    @api.model
    def _latest_by_equipment(self, equipments):
        """{equipment id: its latest prediction in the ledger}, in one query (the analysis and the planner
        both ask)."""
        if not equipments:
            return {}
        self.flush_model(["equipment_id", "published_at"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (equipment_id) equipment_id, id FROM mro_prediction
                    WHERE equipment_id = ANY(%s) ORDER BY equipment_id, published_at DESC, id DESC""",
                equipments.ids,
            )
        )
        return {equipment_id: self.browse(prediction_id) for equipment_id, prediction_id in self.env.cr.fetchall()}

    def _score(self, request, failure_date, outcome=None):
        """Score these predictions against ``request``, done at (or failing at) ``failure_date`` (naive UTC).

        ``outcome``: what the technician found ("hit", "false_alarm", "other_mode"); without it (a corrective
        failure), a prediction is a hit when its error is within max(2 days, 25% of the RUL it announced),
        else a wrong date. Its interval held when the date fell between its lower and upper dates."""
        for prediction in self:
            predicted = prediction.predicted_failure_date or failure_date  # a row without a date has no error
            error = (predicted - failure_date).total_seconds() / 86400.0
            held = bool(prediction.lower_date and prediction.lower_date <= failure_date <= prediction.upper_date)
            found = outcome or ("hit" if abs(error) <= max(2.0, 0.25 * prediction.rul_days) else "wrong_date")
            hit = found == "hit"
            prediction.write(
                {
                    "state": "scored",
                    "outcome": found,
                    "request_id": request.id,
                    "actual_failure_date": failure_date,
                    "error_days": error,
                    "abs_error_days": abs(error),
                    "interval_held": held,
                    "hit": hit,
                    "coverage_pct": 100.0 if held else 0.0,
                    "hit_pct": 100.0 if hit else 0.0,
                }
            )

    @api.model
    def _record_miss(self, request, failure_date):
        """A failure that came without a prediction: a ledger row of its own, so that the accuracy report
        counts it."""
        equipment = request.equipment_id
        return self.create(
            {
                "equipment_id": equipment.id,
                "asset_model_id": equipment.mro_asset_model_id.id,
                "published_at": failure_date,
                "model": self.env._("none"),
                "reason": self.env._("No prediction was open when %s failed.", equipment.display_name),
                "state": "scored",
                "outcome": "miss",
                "request_id": request.id,
                "actual_failure_date": failure_date,
                "hit_pct": 0.0,
                "coverage_pct": 0.0,
            }
        )
