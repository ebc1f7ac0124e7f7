from odoo import fields
from odoo.addons.mro_predictive.tests.common import PredictiveCase
from odoo.tests import tagged


@tagged("post_install", "-at_install")
class TestPredictionToPurchase(PredictiveCase):
    """The whole loop inside Odoo: sensor history -> analysis -> rule -> request with its kit reserved ->
    planner -> auto-approved purchase order with its reason."""

    def test_degrading_pump_gets_its_bearing_just_in_time(self):
        company = self.env.company
        company.write(
            {"mro_auto_approve": True, "mro_auto_approve_a": True, "mro_auto_approve_limit": 500.0,
             "po_double_validation": "one_step"}
        )  # fmt: skip
        vendor = self.env["res.partner"].create({"name": "Bearings Inc"})
        bearing = self.env["product.product"].create(
            {
                "name": "Bearing 6310",
                "type": "consu",
                "is_storable": True,
                "standard_price": 85.0,
                "supplier_taxes_id": [(6, 0, [])],
                "seller_ids": [(0, 0, {"partner_id": vendor.id, "price": 85.0, "delay": 4})],
            }
        )
        self.env["mro.equipment.part"].create(
            {"equipment_id": self.pump.id, "product_id": bearing.id, "quantity": 1, "critical": True}
        )
        self.env["mro.prescriptive.rule"].create(
            {"name": "Replace bearing", "condition": "rul_below", "rul_days": 30, "maintenance_team_id": self.team.id,
             "maintenance_type": "preventive"}
        )  # fmt: skip
        self.write_history(self.vib, self.degradation())  # crosses the alarm limit ~12.5 days after the last point
        self.analyze()
        self.assertTrue(self.pump.mro_predicted_failure_date, self.pump.mro_prediction_reason)
        request = self.env["maintenance.request"].search([("equipment_id", "=", self.pump.id)])
        self.assertEqual(len(request), 1)
        self.assertTrue(request.mro_picking_id)  # the kit transfer exists (waiting: nothing in stock)
        # Not a stockout yet: the work is not due, and the part is planned to arrive in time.
        self.assertFalse(request.mro_waited_for_parts)
        self.assertEqual(request.mro_parts_state, "missing")
        planner = self.env["mro.jit.planner"]
        planner._plan(company)
        need = self.env["mro.part.need"].search([("equipment_id", "=", self.pump.id)])
        self.assertTrue(need.order_by_date)
        self.assertLessEqual(need.order_by_date, request.schedule_date.date())
        if need.state == "planned":  # not yet: nothing bought early
            self.assertFalse(self.env["purchase.order"].search([("partner_id", "=", vendor.id)]))
            # The day the order-by date comes, the planner buys.
            orders = planner._plan(company, today=need.order_by_date)
        else:  # due today: bought at the first planning
            self.assertLessEqual(need.order_by_date, fields.Date.today())
            orders = need.purchase_id
        self.assertEqual(orders.partner_id, vendor)
        self.assertEqual(orders.state, "purchase")
        self.assertEqual(orders.mro_approval, "auto")
        need = orders.mro_need_ids
        self.assertEqual(need.equipment_id, self.pump)
        self.assertIn("Pump P-7", need.reason)
        self.assertIn("failure expected", need.reason)
