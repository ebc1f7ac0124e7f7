from odoo import fields, models


class MroTimerPauseWizard(models.TransientModel):
    """Why the work pauses: one tap per reason on a phone."""

    _name = "mro.timer.pause.wizard"
    _description = "Pause the work on a maintenance request"

    request_id = fields.Many2one("maintenance.request", required=True, readonly=True)
    note = fields.Char()

    def _pause(self, reason):
        self.ensure_one()
        self.request_id.action_mro_timer_pause(reason=reason, note=self.note)
        return {"type": "ir.actions.act_window_close"}

    def action_pause_parts(self):
        return self._pause("parts")

    def action_pause_permit(self):
        return self._pause("permit")

    def action_pause_travel(self):
        return self._pause("travel")

    def action_pause_other(self):
        return self._pause("other")
