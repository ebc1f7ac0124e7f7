from datetime import timedelta

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestAutoApproval(JitCase):
    def setUp(self):
        super().setUp()
        self.company.write(
            {
                "mro_auto_approve": True,
                "mro_auto_approve_limit": 500.0,
                "mro_auto_approve_a": True,
                "mro_buyer_id": self.buyer.id,
            }
        )

    def bearing_order(self):
        self.predict(self.fan, rul=8, probability=0.9)
        return self.plan().filtered(lambda o: o.partner_id == self.skf)

    def test_under_the_limit_is_confirmed_with_its_reason(self):
        order = self.bearing_order()  # 1 bearing x 40
        self.assertEqual(order.state, "purchase")
        self.assertEqual(order.mro_approval, "auto")
        self.assertIn("within the auto-approval limit", order.mro_approval_reason)
        self.assertTrue(any("Auto-approved" in body for body in order.message_ids.mapped("body")))
        self.assertTrue(order.picking_ids)  # a real purchase: the receipt exists

    def test_over_the_limit_is_left_for_the_buyer(self):
        self.company.mro_auto_approve_limit = 30.0
        order = self.bearing_order()
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.mro_approval, "review")
        self.assertIn("above the auto-approval limit", order.mro_approval_reason)
        activity = order.activity_ids
        self.assertEqual(activity.user_id, self.buyer)
        self.assertIn("above the auto-approval limit", activity.note)
        # Planning again does not pile up activities.
        self.plan()
        self.assertEqual(len(order.activity_ids), 1)

    def test_never_above_the_double_validation_amount(self):
        self.company.write({"po_double_validation": "two_step", "po_double_validation_amount": 35.0})
        order = self.bearing_order()
        self.assertEqual(order.state, "draft")
        self.assertIn("double-validation amount", order.mro_approval_reason)

    def test_criticality_and_confidence_pass_the_policy(self):
        self.company.mro_auto_approve_b = False  # the fan is B
        order = self.bearing_order()
        self.assertEqual(order.mro_approval, "review")
        self.assertIn("criticality B", order.mro_approval_reason)
        order.button_cancel()
        self.Need.search([]).unlink()
        self.company.mro_auto_approve_b = True
        self.company.mro_auto_approve_min_probability = 0.95
        order = self.bearing_order()
        self.assertEqual(order.mro_approval, "review")
        self.assertIn("failure probability 90% below 95%", order.mro_approval_reason)

    def test_a_manual_line_needs_a_buyer(self):
        order = self.bearing_order()
        order.button_cancel()
        order.button_draft()
        self.env["purchase.order.line"].create({"order_id": order.id, "product_id": self.seal.id, "product_qty": 1})
        order._mro_apply_approval_policy()
        self.assertEqual(order.state, "draft")
        self.assertIn("lines not planned from predictions", order.mro_approval_reason)

    # ------------------------------------------------------------------ what people could forge
    def test_buyers_cannot_forge_the_decision(self):
        order = self.bearing_order()
        buyer_order = order.with_user(self.buyer)
        for values in ({"mro_approval": "auto"}, {"mro_approval_reason": "fine"}, {"mro_jit": False}):
            with self.assertRaises(AccessError):
                buyer_order.write(values)
        with self.assertRaises(AccessError):
            self.env["purchase.order"].with_user(self.buyer).create(
                {"partner_id": self.skf.id, "mro_jit": True, "mro_approval": "auto"}
            )

    def review_order(self):
        """A spare-parts RFQ left for review (over a tiny limit), then the limit raised again."""
        self.company.mro_auto_approve_limit = 30.0
        order = self.bearing_order()
        self.assertEqual(order.state, "draft")
        self.company.mro_auto_approve_limit = 500.0
        return order

    def test_only_lines_as_planned_are_auto_approved(self):
        order = self.review_order()
        line = order.order_line.with_user(self.buyer)
        line.price_unit = 45.0  # the vendor lists 40
        order._mro_apply_approval_policy()
        self.assertEqual(order.state, "draft")
        self.assertIn("above the vendor's listed", order.mro_approval_reason)
        line.write({"price_unit": 40.0, "product_qty": 5})  # the plan needs 1
        order._mro_apply_approval_policy()
        self.assertIn("ordered where the plan needs 1", order.mro_approval_reason)
        line.product_qty = 1
        order.with_user(self.buyer).partner_id = self.seals  # not on the bearing's vendor list
        order._mro_apply_approval_policy()
        self.assertEqual(order.state, "draft")
        self.assertIn("is not on the vendor list", order.mro_approval_reason)
        order.with_user(self.buyer).partner_id = self.skf
        order._mro_apply_approval_policy()
        self.assertEqual((order.state, order.mro_approval), ("purchase", "auto"))

    def test_a_daily_cap_per_vendor(self):
        self.company.mro_auto_approve_daily_cap = 100.0
        first = self.bearing_order()  # 40, auto-approved
        self.assertEqual(first.mro_approval, "auto")
        self.company.mro_auto_approve_a = True
        self.predict(self.pump, rul=8, probability=0.9)  # 2 bearings, 80, from the same vendor the same day
        second = self.plan().filtered(lambda o: o.partner_id == self.skf)
        self.assertNotEqual(second, first)
        self.assertEqual((second.state, second.mro_approval), ("draft", "review"))
        self.assertIn("daily cap", second.mro_approval_reason)

    def test_a_changed_approved_order_is_decided_again(self):
        order = self.bearing_order()
        self.assertEqual(order.mro_approval, "auto")
        line = order.order_line.with_user(self.buyer)
        line.date_planned = line.date_planned + timedelta(days=1)  # not a decisive change
        self.assertEqual(order.mro_approval, "auto")
        line.product_qty = 20  # 800: above the limit
        self.assertEqual(order.mro_approval, "review")
        self.assertIn("above the auto-approval limit", order.mro_approval_reason)
        self.assertTrue(order.activity_ids.filtered(lambda a: a.user_id == self.buyer))
        self.assertIn("approval is withdrawn", order.message_ids[0].body)
        self.assertNotIn("&lt;", order.message_ids[0].body)

    def test_a_currency_without_rate_is_never_auto_approved(self):
        currency = self.env["res.currency"].create({"name": "MRX", "symbol": "M", "rate_ids": []})
        self.skf.property_purchase_currency_id = currency
        order = self.bearing_order()
        self.assertEqual(order.currency_id, currency)
        self.assertEqual(order.mro_approval, "review")
        self.assertIn("no exchange rate for MRX", order.mro_approval_reason)

    def test_policy_changes_are_recorded(self):
        admin = new_test_user(self.env, login="jit-admin", groups="base.group_system,purchase.group_purchase_manager")
        self.company.with_user(admin).write({"mro_auto_approve_limit": 900.0, "mro_risk_factor": 2.0})
        change = self.env["mro.policy.change"].with_user(admin).search([], limit=1)
        self.assertEqual((change.field_name, change.user_id), ("mro_auto_approve_limit", admin))
        self.assertEqual((change.old_value, change.new_value), ("500.0", "900.0"))
        with self.assertRaises(AccessError):
            change.with_user(admin).write({"new_value": "1"})
