from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import MroSensorCase

# Models a bridge user has no business reading; checked for each one installed.
SENSITIVE_MODELS = [
    "purchase.order",
    "stock.picking",
    "maintenance.equipment",
    "maintenance.request",
    "res.partner",
    "hr.employee",
    "account.move",
    "ir.config_parameter",
]


@tagged("post_install", "-at_install")
class TestAccess(MroSensorCase):
    def test_bridge_user_is_no_internal_user(self):
        self.assertTrue(self.bridge_user.share)
        self.assertFalse(self.bridge_user.has_group("base.group_user"))

    def test_bridge_user_cannot_read_unrelated_business_data(self):
        env = self.env(user=self.bridge_user)
        checked = [name for name in SENSITIVE_MODELS if name in env]
        # maintenance, partners and settings are always installed here; purchase too once the
        # procurement addon is, and then purchase orders are checked as well.
        self.assertGreaterEqual(len(checked), 4)
        for name in checked:
            with self.subTest(model=name), self.assertRaises(AccessError):
                env[name].search([], limit=1)

    def test_bridge_user_sees_only_its_gateway_and_sensors(self):
        env = self.env(user=self.bridge_user)
        self.assertEqual(env["mro.sensor.gateway"].search([]), self.gateway)
        self.assertEqual(set(env["mro.sensor"].search([]).ids), {self.vib.id, self.temp.id})
        with self.assertRaises(AccessError):
            env["mro.sensor"].browse(self.foreign.id).read(["code"])
        with self.assertRaises(AccessError):
            env["mro.sensor"].browse(self.other_gw.id).read(["code"])
        with self.assertRaises(AccessError):
            env["mro.sensor.gateway"].browse(self.gateway_b.id).read(["code"])

    def test_bridge_user_cannot_write_sensors_or_gateway_or_readings(self):
        env = self.env(user=self.bridge_user)
        with self.assertRaises(AccessError):
            env["mro.sensor"].browse(self.vib.id).write({"alarm_limit": 100.0})
        with self.assertRaises(AccessError):
            env["mro.sensor"].create({"code": "X", "name": "X", "equipment_id": self.equipment.id})
        with self.assertRaises(AccessError):
            env["mro.sensor.gateway"].browse(self.gateway.id).write({"name": "mine"})
        with self.assertRaises(AccessError):
            env["mro.sensor.reading"].search([])

    def test_maintenance_user_reads_own_company_only(self):
        technician = new_test_user(self.env, login="tech2", groups="base.group_user")
        env = self.env(user=technician)
        sensors = env["mro.sensor"].search([("code", "in", ["P1-VIB", "Q9-VIB"])])
        self.assertEqual(sensors, self.vib)
        with self.assertRaises(AccessError):
            env["mro.sensor"].browse(self.foreign.id).read(["code"])
        with self.assertRaises(AccessError):
            env["mro.sensor"].browse(self.vib.id).write({"alarm_limit": 1.0})

    def test_manager_configures_sensors_in_own_company(self):
        manager = new_test_user(self.env, login="mgr2", groups="maintenance.group_equipment_manager")
        sensor = (
            self.env["mro.sensor"]
            .with_user(manager)
            .create({"code": "P1-NEW", "name": "New", "equipment_id": self.equipment.id})
        )
        sensor.alarm_limit = 9.0
        self.assertEqual(sensor.company_id, self.company)
