from odoo import api, fields, models
from odoo.exceptions import UserError

from .mro_work_interval import PAUSE_REASONS

TIMER_STATES = [("idle", "Not started"), ("running", "Working"), ("paused", "Paused"), ("done", "Done")]


class MaintenanceRequest(models.Model):
    """The technician's timer on a request: Start / Pause (with a reason) / Resume / Done, every interval
    recorded; and the parts taken for the job, with their cost."""

    _inherit = "maintenance.request"

    mro_interval_ids = fields.One2many("mro.work.interval", "request_id", "Time on the job", readonly=True)
    mro_timer_state = fields.Selection(
        TIMER_STATES, "Timer", compute="_compute_mro_timer", help="The current user's timer on this request."
    )
    mro_pause_reason = fields.Selection(PAUSE_REASONS, "Paused for", compute="_compute_mro_timer")
    mro_work_hours = fields.Float("Hours worked", compute="_compute_mro_hours", store=True, digits=(16, 2))
    mro_pause_hours = fields.Float("Hours paused", compute="_compute_mro_hours", store=True, digits=(16, 2))
    mro_taken_move_ids = fields.One2many("stock.move", "mro_request_id", "Parts taken", readonly=True)
    mro_parts_cost = fields.Monetary(
        "Parts cost", compute="_compute_mro_parts_cost", currency_field="mro_currency_id",
        help="Parts the job took (scanned out, or from its kit), net of what went back to stock, at cost.",
    )  # fmt: skip
    mro_currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")

    @api.depends("mro_interval_ids.stop", "stage_id.done")
    @api.depends_context("uid")
    def _compute_mro_timer(self):
        for request in self:
            mine = request.mro_interval_ids.filtered(lambda i: i.user_id.id == self.env.uid and not i.stop)[:1]
            if request.stage_id.done:
                request.mro_timer_state = "done"
            elif mine:
                request.mro_timer_state = "running" if mine.kind == "work" else "paused"
            else:
                request.mro_timer_state = "idle"
            request.mro_pause_reason = mine.pause_reason if mine.kind == "pause" else False

    @api.depends("mro_interval_ids.hours", "mro_interval_ids.kind")
    def _compute_mro_hours(self):
        for request in self:
            request.mro_work_hours = sum(request.mro_interval_ids.filtered(lambda i: i.kind == "work").mapped("hours"))
            request.mro_pause_hours = sum(
                request.mro_interval_ids.filtered(lambda i: i.kind == "pause").mapped("hours")
            )

    def _compute_mro_parts_cost(self):
        for request in self:
            # sudo: the cost of the job's parts is shown to whoever sees the job.
            moves = request.sudo().mro_taken_move_ids.filtered(lambda m: m.state == "done")
            total = 0.0
            for move in moves:
                into_job = move.location_dest_id.usage != "internal"
                total += (1 if into_job else -1) * move.product_qty * move.product_id.standard_price
            request.mro_parts_cost = total

    # ------------------------------------------------------------------ buttons
    def _mro_timer_check(self):
        self.ensure_one()
        self.check_access("write")  # the technician works on this request
        if self.stage_id.done or self.archive:
            raise UserError(self.env._("%s is closed.", self.display_name))

    def _mro_open_interval(self):
        return self.mro_interval_ids.filtered(lambda i: i.user_id.id == self.env.uid and not i.stop)[:1]

    def _mro_add_interval(self, kind, now, **values):
        # sudo: intervals are written by these buttons only (who and when are the system's record).
        return (
            self.env["mro.work.interval"]
            .sudo()
            .create({"request_id": self.id, "user_id": self.env.uid, "kind": kind, "start": now, **values})
        )

    def action_mro_timer_start(self):
        """Start (or resume) work: the request goes in progress."""
        now = fields.Datetime.now()
        for request in self:
            request._mro_timer_check()
            current = request._mro_open_interval()
            if current.kind == "work":
                continue
            current.sudo().stop = now
            request._mro_add_interval("work", now)
            if not request._mro_work_started():
                stage = self.env["maintenance.stage"].search(
                    [("done", "=", False)], order="sequence, id", offset=1, limit=1
                )
                if stage:
                    request.stage_id = stage
        return True

    action_mro_timer_resume = action_mro_timer_start

    def action_mro_timer_pause(self, reason="other", note=False):
        """Pause with a reason; pausing for parts while a needed part is not in the kit links the wait to it."""
        if reason not in dict(PAUSE_REASONS):
            raise UserError(self.env._("Unknown pause reason %s.", reason))
        now = fields.Datetime.now()
        for request in self:
            request._mro_timer_check()
            current = request._mro_open_interval()
            if current.kind == "pause":
                continue
            current.sudo().stop = now
            values = {"pause_reason": reason, "note": note or False}
            if reason == "parts":
                missing = request.sudo()._mro_short_parts()
                values["product_id"] = missing[:1].id
            request._mro_add_interval("pause", now, **values)
        return True

    def action_mro_timer_pause_dialog(self):
        """The pause button: ask why (one tap per reason on a phone)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Why pause?"),
            "res_model": "mro.timer.pause.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    def action_mro_timer_done(self):
        """Stop the timer and close the request (with the condition found, if it answers a prediction)."""
        now = fields.Datetime.now()
        done = self.env["maintenance.stage"].search([("done", "=", True)], order="sequence, id", limit=1)
        for request in self:
            request._mro_timer_check()
            request.mro_interval_ids.filtered(lambda i: not i.stop).sudo().write({"stop": now})
            request.stage_id = done
        return True

    def write(self, vals):
        result = super().write(vals)
        if "stage_id" in vals:
            # Work done or cancelled: every running timer of the request stops.
            ended = self.filtered(lambda r: r.stage_id.done)
            ended.mro_interval_ids.filtered(lambda i: not i.stop).sudo().write({"stop": fields.Datetime.now()})
        return result

    def action_mro_take_parts(self):
        """Open "Take parts" for this request."""
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "mro_take_parts",
            "name": self.env._("Take parts"),
            "params": {"request_id": self.id},
        }
