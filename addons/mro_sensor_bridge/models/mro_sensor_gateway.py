from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError


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
    api_key_expiration_date = fields.Datetime(
        "API key expires",
        compute="_compute_api_key_expiration_date",
        groups="base.group_system",
        help="When the bridge's current API key stops working (empty: no expiry, or no key).",
    )
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
            raise UserError(self.env._("No sensor gateway is linked to user %s.", self.env.user.login))
        gateway.ensure_one()
        gateway.check_access("read")
        if gateway.user_id != self.env.user and not self.env.user.has_group("maintenance.group_equipment_manager"):
            raise AccessError(
                self.env._("Only the gateway's own bridge user or a maintenance manager may read its configuration.")
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

    @api.depends("user_id")
    def _compute_api_key_expiration_date(self):
        # sudo: API keys are readable by their owner only; an administrator looks at the bridge user's.
        keys = self.env["res.users.apikeys"].sudo().search([("user_id", "in", self.user_id.ids)])
        for gateway in self:
            mine = keys.filtered(lambda key, user=gateway.user_id: key.user_id == user)
            dates = mine.mapped("expiration_date")
            gateway.api_key_expiration_date = max(dates) if mine and all(dates) else False

    def action_create_bridge_credentials(self):
        """Open the dialog that issues a new API key for the gateway's bridge (with an optional expiry)."""
        self.ensure_one()
        self._check_credentials_access()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("New bridge API key"),
            "res_model": "mro.sensor.gateway.credentials",
            "view_mode": "form",
            "target": "new",
            "context": {"default_gateway_id": self.id},
        }

    def _check_credentials_access(self):
        if not self.env.is_system():
            raise AccessError(self.env._("Only administrators can create bridge credentials."))

    def _rotate_bridge_key(self, expiration_date=None):
        """Create (or reuse) the gateway's technical user, revoke every API key it had and issue a new
        one, valid until ``expiration_date`` (UTC; ``None``: until revoked). Returns the new key, which
        Odoo stores only as a hash: the caller shows it once."""
        self.ensure_one()
        self._check_credentials_access()
        user = self.user_id
        if not user:
            # sudo: an administrator creating a technical user outside the user-type groups.
            user = (
                self.env["res.users"]
                .sudo()
                .with_context(no_reset_password=True)
                .create(
                    {
                        "name": self.env._("Bridge %s", self.code),
                        "login": f"bridge-{self.code.lower()}-{self.company_id.id}",
                        "company_id": self.company_id.id,
                        "company_ids": [fields.Command.set(self.company_id.ids)],
                        "groups_id": [fields.Command.set(self.env.ref("mro_sensor_bridge.group_sensor_gateway").ids)],
                    }
                )
            )
            # sudo: an administrator may lack the maintenance manager's right to write gateways.
            self.sudo().user_id = user
        # sudo: the keys belong to the bridge user. Rotation: the previous keys stop working now.
        Keys = self.env["res.users.apikeys"].sudo()
        revoked = Keys.search([("user_id", "=", user.id)])
        revoked._remove()
        key = Keys.with_user(user).sudo()._generate("rpc", f"mro-bridge {self.code}", expiration_date or None)
        # sudo: as above (posting takes write access); the message is still authored by the administrator.
        self.sudo().message_post(
            body=self.env._(
                "New API key issued for %(login)s (%(expiry)s); %(count)s previous key(s) revoked.",
                login=user.login,
                expiry=self.env._("expires %s", fields.Datetime.to_string(expiration_date))
                if expiration_date
                else self.env._("no expiry"),
                count=len(revoked),
            )
        )
        self.invalidate_recordset(["api_key_expiration_date"])
        return key


class MroSensorGatewayCredentials(models.TransientModel):
    """Step 1 of 'Create bridge credentials': choose the key's expiry, then issue it."""

    _name = "mro.sensor.gateway.credentials"
    _description = "New bridge API key"

    gateway_id = fields.Many2one("mro.sensor.gateway", required=True, ondelete="cascade")
    user_id = fields.Many2one(related="gateway_id.user_id")
    expiration_date = fields.Datetime(
        "Expires",
        help="After this moment the key no longer opens Odoo; leave empty for a key valid until it is rotated.",
    )

    @api.constrains("expiration_date")
    def _check_expiration_date(self):
        for wizard in self:
            if wizard.expiration_date and wizard.expiration_date <= fields.Datetime.now():
                raise ValidationError(self.env._("The key's expiry must be in the future."))

    def action_generate(self):
        """Revoke the bridge's previous keys, issue a new one and show it once (nothing stores it in
        clear: the dialog gets it in its context, as Odoo's own API key dialog does)."""
        self.ensure_one()
        gateway = self.gateway_id
        key = gateway._rotate_bridge_key(self.expiration_date)
        expiration_date = self.expiration_date
        self.unlink()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Bridge credentials"),
            "res_model": "mro.sensor.gateway.credentials.show",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_gateway": gateway.display_name,
                "default_database": self.env.cr.dbname,
                "default_login": gateway.user_id.login,
                "default_api_key": key,
                "default_expiration_date": fields.Datetime.to_string(expiration_date) if expiration_date else False,
            },
        }


class MroSensorGatewayCredentialsShow(models.AbstractModel):
    """Step 2: the new key, shown once. An abstract model: nothing is stored, not even in a transient table."""

    _name = "mro.sensor.gateway.credentials.show"
    _description = "Bridge credentials (shown once)"

    # the field 'id' is needed for the onchange that returns the default values (as res.users.apikeys.show)
    id = fields.Id()
    gateway = fields.Char(readonly=True)
    database = fields.Char(readonly=True)
    login = fields.Char(readonly=True)
    api_key = fields.Char(readonly=True)
    expiration_date = fields.Datetime("Expires", readonly=True)
