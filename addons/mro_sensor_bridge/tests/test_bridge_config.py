from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import MroSensorCase


@tagged("post_install", "-at_install")
class TestBridgeConfig(MroSensorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_test_user(cls.env, login="sysadmin", groups="base.group_user,base.group_system")

    def test_bridge_gets_its_active_sensors_with_decoding(self):
        gateway = self.gateway.with_user(self.bridge_user)
        config = gateway.get_bridge_config("1.2.3")
        self.assertEqual(config["gateway"]["code"], "GW1")
        tags = {tag["code"]: tag for tag in config["sensors"]}
        self.assertEqual(set(tags), {"P1-VIB", "P1-TMP"})  # not archived, not other gateways
        vib = tags["P1-VIB"]
        self.assertEqual(
            (vib["protocol"], vib["device"], vib["address"], vib["data_type"], vib["byte_order"], vib["scale"]),
            ("modbus", "plc1", "100", "float32", "CDAB", 0.1),
        )
        self.assertEqual(vib["equipment"], "Pump P-1")
        self.assertEqual(tags["P1-TMP"]["value_path"], "data.value")
        self.assertNotIn(None, [v for tag in config["sensors"] for v in tag.values()])  # XML-RPC safe
        self.assertTrue(self.gateway.last_seen)
        self.assertEqual(self.gateway.version, "1.2.3")

    def test_called_without_record_uses_the_callers_gateway(self):
        config = self.env["mro.sensor.gateway"].with_user(self.bridge_user).get_bridge_config()
        self.assertEqual(config["gateway"]["id"], self.gateway.id)

    def test_other_gateway_refused(self):
        with self.assertRaises(AccessError):
            self.gateway_b.with_user(self.bridge_user).get_bridge_config()
        technician = new_test_user(self.env, login="tech3", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.gateway.with_user(technician).get_bridge_config()
        with self.assertRaisesRegex(UserError, "No sensor gateway"):
            self.env["mro.sensor.gateway"].with_user(technician).get_bridge_config()

    def issue_key(self, gateway, expiration_date=None):
        """What the administrator does in the UI: Create bridge credentials, then Issue the key."""
        action = gateway.with_user(self.admin).action_create_bridge_credentials()
        with Form(self.env[action["res_model"]].with_user(self.admin).with_context(**action["context"])) as form:
            if expiration_date:
                form.expiration_date = expiration_date
        shown = form.record.action_generate()
        self.assertEqual(shown["res_model"], "mro.sensor.gateway.credentials.show")
        return shown["context"]

    def key_user(self, key):
        return self.env["res.users.apikeys"]._check_credentials(scope="rpc", key=key)

    def test_credentials_create_a_technical_user_and_working_key(self):
        shown = self.issue_key(self.gateway_b)
        user = self.gateway_b.user_id
        self.assertEqual(shown["default_login"], user.login)
        self.assertEqual(user.groups_id, self.env.ref("mro_sensor_bridge.group_sensor_gateway"))
        self.assertTrue(user.share)
        self.assertEqual(self.key_user(shown["default_api_key"]), user.id)

    def test_the_key_is_shown_once_and_stored_nowhere_in_clear(self):
        """The wizard stored the plaintext API key in a table."""
        shown = self.issue_key(self.gateway_b)
        key = shown["default_api_key"]
        self.assertFalse(self.env["mro.sensor.gateway.credentials"].search([]))  # the dialog's record is gone
        self.assertTrue(self.env["mro.sensor.gateway.credentials.show"]._abstract)  # the key's dialog has no table
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name LIKE 'mro_sensor_gateway%%'
                  AND data_type IN ('character varying', 'text', 'jsonb')"""
        )
        for table, column in self.env.cr.fetchall():
            self.env.cr.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s', [f"%{key}%"])
            self.assertEqual(self.env.cr.fetchone()[0], 0, f"{table}.{column} holds the key")

    def test_rotation_revokes_the_previous_key(self):
        first = self.issue_key(self.gateway_b)["default_api_key"]
        user = self.gateway_b.user_id
        self.assertEqual(self.key_user(first), user.id)
        second = self.issue_key(self.gateway_b)["default_api_key"]
        self.assertEqual(self.gateway_b.user_id, user)  # the same technical user
        self.assertNotEqual(first, second)
        self.assertIsNone(self.key_user(first))
        self.assertEqual(self.key_user(second), user.id)
        self.assertIn("1 previous key(s) revoked", self.gateway_b.message_ids[0].body)

    def test_a_key_may_expire(self):
        with self.assertRaises(ValidationError):
            self.issue_key(self.gateway_b, fields.Datetime.now() - timedelta(minutes=1))
        expiry = fields.Datetime.now() + timedelta(days=30)
        shown = self.issue_key(self.gateway_b, expiry)
        key = shown["default_api_key"]
        self.assertEqual(self.gateway_b.api_key_expiration_date, expiry)
        self.assertEqual(self.key_user(key), self.gateway_b.user_id.id)
        self.env.cr.execute(
            "UPDATE res_users_apikeys SET expiration_date = now() AT TIME ZONE 'UTC' - interval '1 second' "
            "WHERE user_id = %s",
            [self.gateway_b.user_id.id],
        )
        self.assertIsNone(self.key_user(key))  # expired: refused
        self.assertFalse(self.issue_key(self.gateway_b)["default_expiration_date"])  # no expiry: valid until rotated

    def test_only_admins_create_credentials(self):
        manager = new_test_user(self.env, login="mgr3", groups="maintenance.group_equipment_manager")
        with self.assertRaises(AccessError):
            self.gateway_b.with_user(manager).action_create_bridge_credentials()
        with self.assertRaises(AccessError):
            self.gateway_b.with_user(manager)._rotate_bridge_key()
