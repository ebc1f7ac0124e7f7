from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


class MroSensorGateway(models.Model):
    """One bridge instance (one per site or line) and the technical user it logs in as."""

    _name = "mro.sensor.gateway"
    _description = "Sensor Gateway (bridge)"
    _inherit = ["mail.thread"]
    _order = "code"
    _check_company_auto = True
    _rec_names_search = ["code", "name"]

    code = fields.Char(required=True, tracking=True, help="Short identifier, e.g. the site or line.")
    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    user_id = fields.Many2one(
        "res.users",
        string="Bridge user",
        tracking=True,
        ondelete="restrict",
        domain="[('share', '=', True)]",
        help="Technical user the bridge logs in as (member of the 'Sensor gateway' group only).",
    )
    last_seen = fields.Datetime(readonly=True, help="Last time this bridge pulled its configuration or sent readings.")
    version = fields.Char("Bridge version", readonly=True)
    sensor_ids = fields.One2many("mro.sensor", "gateway_id", string="Sensors")
    sensor_count = fields.Integer(compute="_compute_sensor_count")
    note = fields.Text()

    _sql_constraints = [
        ("code_company_uniq", "unique(company_id, code)", "A gateway code must be unique within a company."),
        ("user_uniq", "unique(user_id)", "A bridge user belongs to one gateway only."),
    ]

    @api.depends("sensor_ids")
    def _compute_sensor_count(self):
        counts = dict(self.env["mro.sensor"]._read_group([("gateway_id", "in", self.ids)], ["gateway_id"], ["__count"]))
        for gateway in self:
            gateway.sensor_count = counts.get(gateway, 0)

    @api.model
    def _for_current_user(self):
        """The gateway the current (bridge) user belongs to, or an empty recordset."""
        # sudo: find it whatever the caller's rules; access is checked on use (check_access, rules).
        return self.sudo().search([("user_id", "=", self.env.uid)], limit=1).sudo(False)

    def get_bridge_config(self, bridge_version=None):
        """Return the tag list the bridge should read, for its gateway.

        Called over XML-RPC by the bridge on its own gateway record (or on no record, in which
        case the caller's gateway is used). Returns ``{"gateway": {...}, "sensors": [{...}]}``
        with every active sensor of the gateway and its source address and decoding settings.
        """
        gateway = self or self._for_current_user()
        if not gateway:
            raise UserError(_("No sensor gateway is linked to user %s.", self.env.user.login))
        gateway.ensure_one()
        gateway.check_access("read")
        if gateway.user_id != self.env.user and not self.env.user.has_group("maintenance.group_equipment_manager"):
            raise AccessError(
                _("Only the gateway's own bridge user or a maintenance manager may read its configuration.")
            )
        sensors = self.env["mro.sensor"].search([("gateway_id", "=", gateway.id), ("active", "=", True)])
        if gateway.user_id == self.env.user:
            # Heartbeat: a bridge user may not write its gateway; only these two fields are touched.
            values = {"last_seen": fields.Datetime.now()}
            if bridge_version:
                values["version"] = str(bridge_version)[:64]
            gateway.sudo().write(values)
        return {
            "gateway": {
                "id": gateway.id,
                "code": gateway.code,
                "name": gateway.name,
                # sudo: a bridge user may not read companies; it gets its own company's name.
                "company": gateway.sudo().company_id.name,
            },
            "sensors": [sensor._bridge_tag() for sensor in sensors],
        }

    def action_view_sensors(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_sensor_bridge.mro_sensor_action")
        action["domain"] = [("gateway_id", "=", self.id)]
        action["context"] = {"default_gateway_id": self.id}
        return action

    def action_create_bridge_credentials(self):
        """Create (or reuse) the gateway's technical user and give it a new API key.

        The key is shown once in a dialog; Odoo stores only its hash.
        """
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators can create bridge credentials."))
        user = self.user_id
        if not user:
            # sudo: an administrator creating a technical user outside the user-type groups.
            user = (
                self.env["res.users"]
                .sudo()
                .with_context(no_reset_password=True)
                .create(
                    {
                        "name": _("Bridge %s", self.code),
                        "login": f"bridge-{self.code.lower()}-{self.company_id.id}",
                        "company_id": self.company_id.id,
                        "company_ids": [fields.Command.set(self.company_id.ids)],
                        "groups_id": [fields.Command.set(self.env.ref("mro_sensor_bridge.group_sensor_gateway").ids)],
                    }
                )
            )
            self.user_id = user
        # sudo: the key belongs to the bridge user; no expiry for a machine credential.
        key = self.env["res.users.apikeys"].with_user(user).sudo()._generate("rpc", f"mro-bridge {self.code}", None)
        wizard = self.env["mro.sensor.gateway.credentials"].create(
            {"gateway_id": self.id, "login": user.login, "api_key": key}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Bridge credentials"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }


class MroSensorGatewayCredentials(models.TransientModel):
    _name = "mro.sensor.gateway.credentials"
    _description = "Bridge credentials (shown once)"

    gateway_id = fields.Many2one("mro.sensor.gateway", required=True, ondelete="cascade")
    login = fields.Char(readonly=True)
    api_key = fields.Char(readonly=True)
    database = fields.Char(default=lambda self: self.env.cr.dbname, readonly=True)
