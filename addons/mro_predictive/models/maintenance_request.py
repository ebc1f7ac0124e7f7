from datetime import datetime, time

from odoo import api, fields, models


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    mro_rule_id = fields.Many2one("mro.prescriptive.rule", string="Opened by rule", readonly=True, index=True)
    mro_prediction_id = fields.Many2one("mro.prediction", string="Prediction", readonly=True)

    def write(self, vals):
        was_done = {request.id: request.stage_id.done for request in self} if "stage_id" in vals else {}
        result = super().write(vals)
        if "stage_id" in vals:
            newly_done = self.filtered(lambda r: r.stage_id.done and not was_done.get(r.id))
            newly_done._mro_on_done()
        return result

    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        requests.filtered(lambda r: r.stage_id.done)._mro_on_done()
        return requests

    def _mro_failure_date(self):
        """When the failure happened: the reported date for a corrective request raised by people;
        the day the work was done for one opened by a prediction (the machine ran until then)."""
        self.ensure_one()
        day = self.close_date if self.mro_rule_id else self.request_date
        return datetime.combine(day or fields.Date.today(), time(12, 0))

    def _mro_on_done(self):
        """A corrective request is done: score the predictions before it, and restart the baselines."""
        for request in self.filtered(lambda r: r.maintenance_type == "corrective" and r.equipment_id):
            failure = request._mro_failure_date()
            equipment = request.equipment_id
            predictions = self.env["mro.prediction"].search(
                [("equipment_id", "=", equipment.id), ("state", "=", "open"), ("published_at", "<=", failure)]
            )
            predictions._score(request, failure)
            # sudo: the technician closing the request may not write equipment or sensors; only the
            # learning state is reset (baselines are relearned from data after the repair).
            equipment.sudo().write({"baseline_since": fields.Datetime.now()})
            equipment.sensor_ids.sudo().write(
                {"baseline_median": 0.0, "baseline_mad": 0.0, "baseline_n": 0, "baseline_learned_at": False}
            )
