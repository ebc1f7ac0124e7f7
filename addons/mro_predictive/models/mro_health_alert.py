from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL

SEVERITY = [("info", "Info"), ("warning", "Warning"), ("critical", "Critical")]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


class MroHealthAlert(models.Model):
    """One alert per condition episode: opened when a condition appears, kept up to date while it
    lasts (one record, however many analyses see it), closed when it clears or by a user."""

    _name = "mro.health.alert"
    _description = "Equipment Health Alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state_rank, severity_rank desc, opened_at desc"
    # People change alerts only through Acknowledge and Close; whoever may read one may comment on it.
    _mail_post_access = "read"

    name = fields.Char(required=True)
    equipment_id = fields.Many2one("maintenance.equipment", ondelete="cascade", index=True)
    gateway_id = fields.Many2one(
        "mro.sensor.gateway", ondelete="cascade", index="btree_not_null", help="A silent gateway (no equipment)."
    )
    company_id = fields.Many2one("res.company", compute="_compute_company_id", store=True, index=True)
    sensor_id = fields.Many2one("mro.sensor", ondelete="set null")
    kind = fields.Selection(
        [
            ("health", "Health state"),
            ("anomaly", "Anomaly"),
            ("rul", "Short remaining life"),
            ("data_quality", "Data quality"),
        ],
        required=True,
    )
    severity = fields.Selection(SEVERITY, required=True, default="warning", tracking=True)
    severity_rank = fields.Integer(compute="_compute_ranks", store=True)
    state = fields.Selection(
        [("open", "Open"), ("acknowledged", "Acknowledged"), ("closed", "Closed")],
        default="open",
        required=True,
        tracking=True,
        index=True,
    )
    state_rank = fields.Integer(compute="_compute_ranks", store=True)
    message = fields.Text()
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    last_seen = fields.Datetime(readonly=True, help="Last analysis that still saw the condition.")
    acknowledged_by_id = fields.Many2one("res.users", readonly=True)
    acknowledged_at = fields.Datetime(readonly=True)
    closed_at = fields.Datetime(readonly=True)
    close_reason = fields.Char(readonly=True)
    health_state = fields.Selection(related="equipment_id.mro_health_state")
    technician_user_id = fields.Many2one(related="equipment_id.technician_user_id")

    _sql_constraints = [
        (
            "equipment_or_gateway",
            "CHECK(equipment_id IS NOT NULL OR gateway_id IS NOT NULL)",
            "An alert is about an equipment or a gateway.",
        ),
    ]

    @api.depends("equipment_id.company_id", "gateway_id.company_id")
    def _compute_company_id(self):
        for alert in self:
            alert.company_id = alert.equipment_id.company_id or alert.gateway_id.company_id

    @api.depends("state", "severity")
    def _compute_ranks(self):
        for alert in self:
            alert.state_rank = {"open": 0, "acknowledged": 1, "closed": 2}[alert.state]
            alert.severity_rank = SEVERITY_RANK[alert.severity]

    @api.model_create_multi
    def create(self, vals_list):
        alerts = super().create(vals_list)
        # One "to do" activity per alert for its equipment's technician (else owner), created in one
        # call as ``activity_schedule`` would, so that a first analysis of a large fleet stays fast.
        todo = self.env["ir.model.data"]._xmlid_to_res_id("mail.mail_activity_data_todo", raise_if_not_found=False)
        activity_type = self.env["mail.activity.type"].browse(todo) if todo else self._default_activity_type()
        model_id = self.env["ir.model"]._get_id(self._name)
        today = fields.Date.context_today(self)
        activities = []
        for alert in alerts:
            user = alert._responsible()
            if user:
                activities.append(
                    {
                        "activity_type_id": activity_type.id,
                        "summary": self.env._("Check %s", (alert.equipment_id or alert.gateway_id).display_name),
                        "note": alert.message,
                        "automated": True,
                        "date_deadline": today,
                        "res_model_id": model_id,
                        "res_id": alert.id,
                        "user_id": user.id,
                    }
                )
        if activities and not self.env.context.get("mail_activity_automation_skip"):
            self.env["mail.activity"].create(activities)
        return alerts

    def _responsible(self):
        """Who gets the alert's activity: the equipment's technician, else its owner; for a gateway, the
        company's maintenance planner, else whoever set the gateway up."""
        self.ensure_one()
        if self.equipment_id:
            return self.equipment_id.technician_user_id or self.equipment_id.owner_user_id
        company = self.gateway_id.company_id
        return company.mro_maintenance_planner_id or self.gateway_id.create_uid.filtered(lambda u: not u.share)

    def action_acknowledge(self):
        """Acknowledge open alerts: whoever may read an alert may acknowledge it, in their own name."""
        self.check_access("read")
        to_ack = self.filtered(lambda a: a.state == "open")
        # sudo: people never write alerts directly (no write access); this button writes only the state,
        # the caller's own user and the time.
        to_ack.sudo().write(
            {"state": "acknowledged", "acknowledged_by_id": self.env.uid, "acknowledged_at": fields.Datetime.now()}
        )
        to_ack.sudo().activity_feedback(["mail.mail_activity_data_todo"], feedback=self.env._("Acknowledged"))
        return True

    def action_close(self):
        self.check_access("read")
        # sudo: as for action_acknowledge, the caller's name and the time only.
        self.sudo()._close(self.env._("Closed by %s", self.env.user.name))
        return True

    def _close(self, reason):
        to_close = self.filtered(lambda a: a.state != "closed")
        to_close.write({"state": "closed", "closed_at": fields.Datetime.now(), "close_reason": reason})
        for alert in to_close:
            alert._mro_post(body=reason)
        to_close.activity_unlink(["mail.mail_activity_data_todo"])

    def action_open_equipment(self):
        self.ensure_one()
        record = self.equipment_id or self.gateway_id
        return {"type": "ir.actions.act_window", "res_model": record._name, "res_id": record.id, "view_mode": "form"}

    @api.model
    def _sync_episodes(self, equipment, conditions, now, current, to_create):
        """Open, update or close the alerts of ``equipment`` (``current``: its alerts not closed) to match
        ``conditions``: a key ``(kind, sensor_id or False)`` -> ``(severity, message)`` for every condition
        present now; open alerts whose key is absent are closed as cleared. The values of new alerts are added
        to ``to_create`` (the caller creates a whole batch's alerts at once with :meth:`_create_machine_made`).
        """
        if not conditions and not current:
            return
        by_key = {(alert.kind, alert.sensor_id.id): alert for alert in current}
        for key, (severity, message) in conditions.items():
            alert = by_key.pop(key, None)
            if alert is None:
                to_create.append(self._prepare_episode_vals(equipment, key, severity, message, now))
                continue
            values = {"last_seen": now}
            if SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]:
                values.update(severity=severity, message=message, state="open")
                alert._mro_post(body=Markup("%s %s") % (self.env._("Worse:"), message))
            alert.write(values)
        for alert in by_key.values():
            alert._close(self.env._("Condition cleared"))

    @api.model
    def _prepare_episode_vals(self, equipment, key, severity, message, now):
        """Values of the alert that opens an episode of condition ``key`` on ``equipment`` (a hook for
        integrators)."""
        kind, sensor_id = key
        label = dict(self._fields["kind"].selection)[kind]
        return {
            "name": f"{equipment.display_name}: {label}",
            "equipment_id": equipment.id,
            "sensor_id": sensor_id or False,
            "kind": kind,
            "severity": severity,
            "message": message,
            "opened_at": now,
            "last_seen": now,
        }

    @api.model
    def _sync_gateway_alerts(self, now):
        """One data-quality alert per silent gateway and episode: opened when a gateway with sensors has not
        been seen for longer than its company's limit, closed when it is seen again."""
        self.env["mro.sensor.gateway"].flush_model(["last_seen"])
        self.env.cr.execute(
            SQL(
                """SELECT g.id, g.last_seen < %(now)s - make_interval(mins => c.mro_gateway_silence_minutes)
                     FROM mro_sensor_gateway g JOIN res_company c ON c.id = g.company_id
                    WHERE g.active AND g.last_seen IS NOT NULL AND c.mro_gateway_silence_minutes > 0
                      AND EXISTS (SELECT 1 FROM mro_sensor s WHERE s.gateway_id = g.id AND s.active)""",
                now=now,
            )
        )
        silent = {gateway_id for gateway_id, quiet in self.env.cr.fetchall() if quiet}
        current = self.search([("gateway_id", "!=", False), ("state", "!=", "closed")])
        back = self.env._("The gateway is sending data again")
        current.filtered(lambda a: a.gateway_id.id not in silent)._close(back)
        new = silent - set(current.gateway_id.ids)
        vals_list = []
        for gateway in self.env["mro.sensor.gateway"].browse(sorted(new)):
            vals_list.append(
                {
                    "name": self.env._("%s: gateway silent", gateway.display_name),
                    "gateway_id": gateway.id,
                    "kind": "data_quality",
                    "severity": "warning",
                    "message": self.env._(
                        "Gateway %(gateway)s not seen since %(since)s UTC (limit %(minutes)s min): the readings of "
                        "its %(count)s sensors stopped; their equipment's health is stale.",
                        gateway=gateway.display_name,
                        since=fields.Datetime.to_string(gateway.last_seen),
                        minutes=gateway.company_id.mro_gateway_silence_minutes,
                        count=gateway.sensor_count,
                    ),
                    "opened_at": now,
                    "last_seen": now,
                }
            )
        return self._create_machine_made(vals_list)

    @api.model
    def _create_machine_made(self, vals_list):
        """Create alerts opened by the analysis: no "created" chatter line nor tracking values, only
        the technician's activity."""
        return self.with_context(mail_create_nolog=True, tracking_disable=True).create(vals_list)
