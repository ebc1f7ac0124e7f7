from odoo.tests import tagged

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
