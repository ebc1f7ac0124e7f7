from odoo import api, fields, models
from odoo.exceptions import UserError

PAUSE_REASONS = [
    ("parts", "Waiting for parts"),
    ("permit", "Waiting for permit or lock-out"),
    ("travel", "Travel"),
    ("other", "Other"),
]


class MroWorkInterval(models.Model):
    """One interval of a technician's time on a maintenance request: working, or paused with a reason.

    Written by the request's Start / Pause / Resume / Done buttons only (the system records who and when);
    the request's actual duration and the wrench-time KPI are computed from them."""

    _name = "mro.work.interval"
    _description = "Work interval on a maintenance request"
    _order = "start desc, id desc"

    request_id = fields.Many2one("maintenance.request", required=True, ondelete="cascade", index=True, readonly=True)
    user_id = fields.Many2one("res.users", "Technician", required=True, index=True, readonly=True)
    team_id = fields.Many2one(related="request_id.maintenance_team_id", store=True, string="Team")
    equipment_id = fields.Many2one(related="request_id.equipment_id", store=True)
    company_id = fields.Many2one(related="request_id.company_id", store=True, index=True)
    kind = fields.Selection([("work", "Working"), ("pause", "Paused")], required=True, readonly=True)
    pause_reason = fields.Selection(PAUSE_REASONS, readonly=True)
    product_id = fields.Many2one(
        "product.product", "Waiting for part", readonly=True, help="The part not in the kit when the work paused."
    )
    note = fields.Char(readonly=True)
    start = fields.Datetime(required=True, readonly=True, index=True)
    stop = fields.Datetime(readonly=True, help="Empty while the interval runs.")
    hours = fields.Float(compute="_compute_hours", store=True, digits=(16, 2), aggregator="sum")

    @api.depends("start", "stop")
    def _compute_hours(self):
        for interval in self:
            if interval.start and interval.stop:
                interval.hours = max((interval.stop - interval.start).total_seconds() / 3600.0, 0.0)
            else:
                interval.hours = 0.0

    @api.depends("request_id", "kind", "pause_reason", "start")
    def _compute_display_name(self):
        reasons = dict(PAUSE_REASONS)
        for interval in self:
            what = reasons.get(interval.pause_reason) if interval.kind == "pause" else self.env._("Working")
            interval.display_name = f"{interval.request_id.name}: {what} ({fields.Datetime.to_string(interval.start)})"

    # ------------------------------------------------------------------ the timer's buttons
    @api.model
    def _check_request(self, request):
        request.check_access("write")  # the technician works on this request
        if request.stage_id.done or request.archive:
            raise UserError(self.env._("%s is closed.", request.display_name))

    @api.model
    def _open(self, request):
        """The current user's running interval on ``request`` (working or paused), if any."""
        return request.mro_interval_ids.filtered(lambda i: i.user_id.id == self.env.uid and not i.stop)[:1]

    @api.model
    def _add(self, request, kind, now, **values):
        # sudo: intervals are written by the timer's buttons only (who and when are the system's record).
        return self.sudo().create({"request_id": request.id, "user_id": self.env.uid, "kind": kind, "start": now,
                                   **values})  # fmt: skip

    @api.model
    def _start(self, requests):
        """Start (or resume) the current user's work on ``requests``; a request not started yet goes in
        progress (its second stage)."""
        now = fields.Datetime.now()
        for request in requests:
            self._check_request(request)
            current = self._open(request)
            if current.kind == "work":
                continue
            current.sudo().stop = now
            self._add(request, "work", now)
            if not self.env["mro.request.kit"]._work_started(request):
                stage = self.env["maintenance.stage"].search(
                    [("done", "=", False)], order="sequence, id", offset=1, limit=1
                )
                if stage:
                    request.stage_id = stage

    @api.model
    def _pause(self, requests, reason, note=False):
        """Pause the current user's work with a reason; pausing for parts while a needed part is not in the kit
        links the wait to that part."""
        if reason not in dict(PAUSE_REASONS):
            raise UserError(self.env._("Unknown pause reason %s.", reason))
        now = fields.Datetime.now()
        for request in requests:
            self._check_request(request)
            current = self._open(request)
            if current.kind == "pause":
                continue
            current.sudo().stop = now
            values = {"pause_reason": reason, "note": note or False}
            if reason == "parts":
                values["product_id"] = self.env["mro.request.kit"].sudo()._short_parts(request.sudo())[:1].id
            self._add(request, "pause", now, **values)

    @api.model
    def _stop_all(self, requests, now=None):
        """Every running interval of ``requests`` stops (the work is done or cancelled)."""
        requests.mro_interval_ids.filtered(lambda i: not i.stop).sudo().write({"stop": now or fields.Datetime.now()})
