from odoo.tests import tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestMinMaxAndRiskMode(JitCase):
    def setUp(self):
        super().setUp()
        self.predict(self.pump, rul=100, probability=0.6)
        self.predict(self.fan, rul=90, probability=0.2)
        # Six conveyors share the bearing, without sensors: a failure history gives each a 50% chance
        # of failing within the 30-day planning horizon.
        conveyors = self.env["maintenance.equipment"].create(
            [{"name": f"Conveyor C-{i}", "mro_criticality": "B", "mro_failure_probability": 0.5} for i in range(6)]
        )
        self.env["mro.equipment.part"].create(
            [{"equipment_id": c.id, "product_id": self.bearing.id, "quantity": 1} for c in conveyors]
        )

    def orderpoint(self, product):
        return self.env["stock.warehouse.orderpoint"].search([("product_id", "=", product.id)])

    def test_dynamic_min_max_from_pooled_demand(self):
        self.MinMax._apply_minmax(self.company)
        point = self.orderpoint(self.bearing)
        self.assertTrue(point.mro_managed)
        self.assertGreater(point.product_max_qty, point.product_min_qty)
        self.assertIn("service", point.mro_reason)
        calm = point.product_min_qty
        # The pump is about to fail (it takes 2 bearings): its need claims them (the planner runs hourly) and
        # the orderpoint, which does not see claims, holds them on top of the buffer.
        self.predict(self.pump, rul=4, lower=3, upper=5)
        self.plan()
        self.MinMax._apply_minmax(self.company)
        self.assertGreaterEqual(point.product_min_qty, calm + 2)
        # A part only a scrapped machine used gets no orderpoint.
        self.fan.scrap_date = "2026-01-01"
        self.env["mro.equipment.part"].search(
            [("equipment_id", "=", self.pump.id), ("product_id", "=", self.seal.id)]
        ).unlink()
        self.MinMax._apply_minmax(self.company)
        self.assertFalse(self.orderpoint(self.seal))

    def test_preview_then_apply_then_undo(self):
        self.MinMax._apply_minmax(self.company)
        self.Planner._plan(self.company)
        point = self.orderpoint(self.bearing)
        saved = (point.product_min_qty, point.product_max_qty)
        action = self.env["res.config.settings"].create({}).action_mro_risk_mode()
        wizard = self.env["mro.risk.mode.wizard"].browse(action["res_id"])
        wizard.factor = 2.0
        wizard.action_preview()
        self.assertGreater(wizard.added_value, 0.0)
        line = wizard.line_ids.filtered(lambda ln: ln.product_id == self.bearing)
        self.assertEqual((line.min_now, line.max_now), saved)
        self.assertGreater(line.max_risk, line.max_now)
        moved = wizard.need_line_ids.filtered(lambda n: n.product_id == self.seal)
        self.assertLess(moved.order_by_risk, moved.order_by_now)
        # The preview changed nothing.
        self.assertEqual((point.product_min_qty, point.product_max_qty), saved)
        self.assertFalse(self.company.mro_risk_mode)
        wizard.action_apply()
        self.assertTrue(self.company.mro_risk_mode)
        self.assertEqual((point.product_min_qty, point.product_max_qty), (line.min_risk, line.max_risk))
        need = self.needs(self.pump, self.seal)
        self.assertEqual(need.order_by_date, moved.order_by_risk)
        off = self.env["mro.risk.mode.wizard"].create({"company_id": self.company.id})
        off.action_switch_off()
        self.assertFalse(self.company.mro_risk_mode)
        self.assertEqual((point.product_min_qty, point.product_max_qty), saved)
        self.assertEqual(self.needs(self.pump, self.seal).order_by_date, moved.order_by_now)
