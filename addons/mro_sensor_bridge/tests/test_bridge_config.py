from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import MroSensorCase


@tagged("post_install", "-at_install")
class TestBridgeConfig(MroSensorCase):
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

    def test_credentials_create_a_technical_user_and_working_key(self):
        action = self.gateway_b.action_create_bridge_credentials()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        user = self.gateway_b.user_id
        self.assertEqual(wizard.login, user.login)
        self.assertEqual(user.groups_id, self.env.ref("mro_sensor_bridge.group_sensor_gateway"))
        self.assertTrue(user.share)
        uid = self.env["res.users.apikeys"]._check_credentials(scope="rpc", key=wizard.api_key)
        self.assertEqual(uid, user.id)
        # A second call keeps the user and issues another key.
        again = self.env["mro.sensor.gateway.credentials"].browse(
            self.gateway_b.action_create_bridge_credentials()["res_id"]
        )
        self.assertEqual(self.gateway_b.user_id, user)
        self.assertNotEqual(again.api_key, wizard.api_key)

    def test_only_admins_create_credentials(self):
        manager = new_test_user(self.env, login="mgr3", groups="maintenance.group_equipment_manager")
        with self.assertRaises(AccessError):
            self.gateway_b.with_user(manager).action_create_bridge_credentials()
