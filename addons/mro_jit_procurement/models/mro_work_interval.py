from odoo import api, fields, models

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
