import time

from odoo.addons.mro_predictive.tests.common import PredictiveCase
from odoo.tests import HttpCase, tagged

from .screens import screenshots


@tagged("post_install", "-at_install")
class TestHealthToPurchaseTour(HttpCase):
    """In Chromium: the equipment kanban coloured by health, the degraded pump's trend with its forecast band
    and RUL, its alert acknowledged, the link to the purchase that buys its bearing, and the work order the
    rule opened with its parts' state. Screenshots of the five screens go to ``var/screenshots`` (to
    ``docs/`` with MRO_UPDATE_DOCS=1)."""

    def setUp(self):
        super().setUp()
        env = self.env
        company = env.company
        company.write(
            {"mro_auto_approve": True, "mro_auto_approve_a": True, "mro_auto_approve_limit": 500.0,
             "po_double_validation": "one_step"}
        )  # fmt: skip
        team = env["maintenance.team"].create({"name": "Rotating equipment"})
        self.pump = env["maintenance.equipment"].create(
            {"name": "Pump P-7", "serial_no": "P7", "mro_criticality": "A", "maintenance_team_id": team.id,
             "technician_user_id": env.ref("base.user_admin").id}
        )  # fmt: skip
        sensor = env["mro.sensor"].create(
            {"code": "P7-VIB", "name": "Pump vibration", "equipment_id": self.pump.id, "warning_limit": 2.8,
             "alarm_limit": 4.5}
        )  # fmt: skip
        vendor = env["res.partner"].create({"name": "Bearings Inc"})
        bearing = env["product.product"].create(
            {"name": "Bearing 6310", "type": "consu", "is_storable": True, "standard_price": 85.0,
             "supplier_taxes_id": [(6, 0, [])],
             "seller_ids": [(0, 0, {"partner_id": vendor.id, "price": 85.0, "delay": 4})]}
        )  # fmt: skip
        env["mro.equipment.part"].create({"equipment_id": self.pump.id, "product_id": bearing.id, "critical": True})
        env["mro.prescriptive.rule"].create(
            {"name": "Replace bearing", "condition": "rul_below", "rul_days": 30, "maintenance_team_id": team.id}
        )
        values = PredictiveCase.degradation(days=30, rate=0.12)
        end = time.time() - 60
        stamps = [round((end - (len(values) - 1 - i) * 3600) * 1_000_000) for i in range(len(values))]
        env["mro.sensor.reading"]._insert_readings([sensor.id] * len(values), stamps, [float(v) for v in values])
        env["mro.health.analysis"]._analyze(self.pump)
        self.assertEqual(self.pump.mro_health_state, "critical", self.pump.mro_health_reasons)
        planner = env["mro.jit.planner"]
        planner._plan(company)
        need = env["mro.part.need"].search([("equipment_id", "=", self.pump.id)])
        if need.state != "ordered":
            planner._plan(company, today=need.order_by_date)
        self.assertEqual(need.purchase_id.state, "purchase")

    def test_tour(self):
        with screenshots() as (target, taken):
            self.start_tour("/odoo/action-maintenance.hr_equipment_action", "mro_health_to_purchase", login="admin")
        self.assertEqual(
            sorted(taken),
            ["1-equipment-kanban", "2-equipment-health", "3-alert-acknowledged", "4-purchase-order",
             "5-work-order-parts"],
        )  # fmt: skip
        for name in taken:
            self.assertTrue((target / f"{name}.png").read_bytes().startswith(b"\x89PNG"))
        alert = self.env["mro.health.alert"].search([("equipment_id", "=", self.pump.id), ("kind", "=", "rul")])
        self.assertEqual(alert.state, "acknowledged")
