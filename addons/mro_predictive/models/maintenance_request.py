from datetime import datetime, time, timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .maintenance_equipment import check_machine_write

CONDITIONS = [
    ("worn", "Worn as predicted"),
    ("no_defect", "No defect found"),
    ("other", "Other failure mode"),
]
#: What the technician's finding makes of the prediction in the ledger.
OUTCOME_OF_CONDITION = {"worn": "hit", "no_defect": "false_alarm", "other": "other_mode"}
#: Fields only the system sets: linking a request to a rule or a prediction reserves a kit and scores the ledger.
REQUEST_MACHINE_FIELDS = frozenset({"mro_rule_id", "mro_prediction_id"})
#: Equipment fields cleared when the worn part is replaced: the forecast described the part that is gone.
FORECAST_RESET = {
    "mro_health_score": 0.0,
    "mro_health_state": False,
    "mro_anomaly": False,
    "mro_rul_days": 0.0,
    "mro_rul_lower_days": 0.0,
    "mro_rul_upper_days": 0.0,
    "mro_rul_confidence": 0.0,
    "mro_rul_quantiles": False,
    "mro_predicted_failure_date": False,
    "mro_failure_probability": 0.0,
    "mro_prediction_model": False,
    "mro_limiting_sensor_id": False,
    "mro_health_stale": False,
}


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    mro_rule_id = fields.Many2one("mro.prescriptive.rule", string="Opened by rule", readonly=True, index=True)
    mro_prediction_id = fields.Many2one("mro.prediction", string="Prediction", readonly=True)
    mro_health_state = fields.Selection(related="equipment_id.mro_health_state", string="Equipment health")
    mro_condition_found = fields.Selection(
        CONDITIONS,
        "Condition found",
        tracking=True,
        help="What the technician found. On a request opened from a prediction it scores the prediction in the "
        "ledger, and a replacement (worn as predicted, other failure mode) restarts the sensors' baselines.",
    )

    @api.constrains("mro_condition_found", "stage_id")
    def _check_mro_condition_found(self):
        for request in self:
            if request.stage_id.done and request._mro_from_prediction() and not request.mro_condition_found:
                raise ValidationError(
                    self.env._("Say what you found on %s (Condition found) before closing it.", request.display_name)
                )

    def _mro_from_prediction(self):
        self.ensure_one()
        return bool(self.mro_rule_id or self.mro_prediction_id)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_machine_write(self, vals, REQUEST_MACHINE_FIELDS)
            if (vals.get("mro_rule_id") or vals.get("mro_prediction_id")) and "mro_condition_found" not in vals:
                vals["mro_condition_found"] = "worn"  # the usual finding; the technician changes it if not
        return super().create(vals_list)

    def write(self, vals):
        check_machine_write(self, vals, REQUEST_MACHINE_FIELDS)
        was_done = {request.id: request.stage_id.done for request in self} if "stage_id" in vals else {}
        result = super().write(vals)
        if "stage_id" in vals:
            # Only a request that reaches done through the normal flow books its outcome (one created
            # directly in a done stage records history and changes nothing).
            newly_done = self.filtered(lambda r: r.stage_id.done and not was_done.get(r.id))
            newly_done._mro_on_done()
        return result

    def _add_followers(self):
        result = super()._add_followers()
        # What people see follows Odoo's rules: a request's technician follows its equipment, so that the one
        # who does the work can open the machine, its health and its alerts.
        for request in self.filtered(lambda r: r.equipment_id and r.user_id):
            # sudo: subscribing another user needs write access on the equipment, which technicians lack.
            request.equipment_id.sudo().message_subscribe(partner_ids=request.user_id.partner_id.ids)
        return result

    def _mro_failure_date(self):
        """When the failure happened: the reported date for a corrective request raised by people;
        the day the work was done for one opened by a prediction (the machine ran until then). Reported (or
        done) on the day itself, it is that moment, so that a forecast published earlier the same day counts
        as made before the failure; on another day, the middle of that day."""
        self.ensure_one()
        if self._mro_from_prediction():
            day, moment = self.close_date, fields.Datetime.now()
        else:
            day, moment = self.request_date, self.create_date
        day = day or fields.Date.today()
        if moment and moment.date() == day:
            return moment
        return datetime.combine(day, time(12, 0))

    def _mro_on_done(self):
        """Work on equipment is done: book what it means. A job of the system, whoever closes the request."""
        # sudo: the bookkeeping (ledger, baselines, alerts; parts in the JIT addon) is the system's job; the
        # technician who closes the request may write none of it, and may not even see the equipment's ledger.
        for request in self.sudo().filtered("equipment_id"):
            request._mro_book_outcome()

    def _mro_book_outcome(self):
        """Score the ledger and restart learning after a replacement.

        - Opened from a prediction: the technician's finding scores the equipment's open predictions (worn as
          predicted: a hit with its error in days; no defect found: a false alarm; other failure mode).
        - Corrective, raised by people: the open predictions are scored by their error against the reported
          failure; with none open, the failure is a miss.
        - A replacement (any outcome but "no defect found") restarts the sensors' baselines, withdraws the
          forecast of the part that is gone and closes its alerts, so the next wear cycle starts afresh."""
        self.ensure_one()
        equipment = self.equipment_id
        from_prediction = self._mro_from_prediction()
        if not from_prediction and self.maintenance_type != "corrective":
            return  # routine work: nothing was predicted nor failed
        failure = self._mro_failure_date()
        Prediction = self.env["mro.prediction"]
        # The failure is known to the day (a request's date): forecasts published that day or before it count.
        day_after = datetime.combine(failure.date() + timedelta(days=1), time.min)
        predictions = Prediction.search(
            [("equipment_id", "=", equipment.id), ("state", "=", "open"), ("published_at", "<", day_after)]
        )
        if from_prediction:
            condition = self.mro_condition_found or "worn"
            (predictions | self.mro_prediction_id.filtered(lambda p: p.state == "open"))._score(
                self, failure, OUTCOME_OF_CONDITION[condition]
            )
            replaced = condition != "no_defect"
        else:
            if predictions:
                predictions._score(self, failure)
            else:
                Prediction._record_miss(self, failure)
            replaced = True
        if replaced:
            self._mro_restart_learning()

    def _mro_restart_learning(self):
        """The worn part is gone: baselines are relearned from the readings after now, the forecast that
        described the old part is withdrawn, and its alerts are closed."""
        self.ensure_one()
        equipment = self.equipment_id
        now = fields.Datetime.now()
        equipment.write(
            {
                **FORECAST_RESET,
                "mro_baseline_since": now,
                "mro_health_reasons": self.env._(
                    "Work done (%s): baselines are relearned from the new readings.", self.name
                ),
                "mro_prediction_reason": False,
            }
        )
        equipment.mro_sensor_ids.write(
            {
                "mro_baseline_median": 0.0,
                "mro_baseline_mad": 0.0,
                "mro_baseline_n": 0,
                "mro_baseline_learned_at": False,
                "mro_anomaly": False,
                "mro_anomaly_z": 0.0,
            }
        )
        alerts = equipment.mro_health_alert_ids.filtered(lambda a: a.state != "closed" and a.kind != "data_quality")
        alerts._close(self.env._("Work done: %s", self.name))
