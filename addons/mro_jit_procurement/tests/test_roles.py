"""Who does what in the spare-parts loop: each flow as its role, and each refusal."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestJitRoles(JitCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login="jit-mgr", groups="maintenance.group_equipment_manager")
        cls.storekeeper = new_test_user(cls.env, login="jit-store", groups="stock.group_stock_user")
        cls.technician = new_test_user(cls.env, login="jit-tech", groups="base.group_user")
        cls.team = cls.env["maintenance.team"].create(
            {"name": "Pumps", "member_ids": [Command.set(cls.technician.ids)]}
        )
        cls.pump.maintenance_team_id = cls.team

    def open_request(self):
        prediction = self.env["mro.prediction"].create(
            {"equipment_id": self.pump.id, "published_at": fields.Datetime.now(), "rul_days": 9.0}
        )
        return self.env["maintenance.request"].create(
            {"name": "Replace bearing", "equipment_id": self.pump.id, "mro_prediction_id": prediction.id,
             "maintenance_team_id": self.team.id}
        )  # fmt: skip

    def test_buyer_plans_now_and_sees_the_plan(self):
        self.predict(self.pump, rul=60)
        self.predict(self.fan, rul=80)
        self.Planner.with_user(self.buyer).action_plan_now()
        needs = self.Need.with_user(self.buyer).search([("state", "not in", ("done", "cancel"))])
        self.assertEqual(set(needs.equipment_id.ids), {self.pump.id, self.fan.id}, "the buyer's plan is not empty")
        self.assertTrue(all(needs.mapped("order_by_date")))
        # The buyer may comment on a need and cancel one not ordered yet.
        need = needs.filtered(lambda n: n.state == "planned")[:1]
        need.message_post(body="Vendor closed in August, check.", message_type="comment")
        need.action_cancel()
        self.assertEqual(need.state, "cancel")

    def test_nobody_forges_a_need(self):
        self.predict(self.pump, rul=2, lower=1, upper=3)
        self.plan()
        ordered = self.needs(self.pump, self.bearing)
        self.assertEqual(ordered.state, "ordered")
        for user in (self.buyer, self.manager, self.technician):
            Need = self.Need.with_user(user)
            with self.assertRaises(AccessError):
                Need.create(
                    {"equipment_id": self.pump.id, "product_id": self.seal.id, "quantity": 50, "state": "due",
                     "partner_id": self.seals.id, "order_by_date": fields.Date.today(), "failure_probability": 1.0}
                )  # fmt: skip
            with self.assertRaises(AccessError):
                ordered.with_user(user).write({"quantity": 100})
        with self.assertRaises(UserError):
            ordered.with_user(self.buyer).action_cancel()  # ordered: cancel the purchase instead
        with self.assertRaises(AccessError):
            ordered.with_user(self.technician).action_cancel()

    def test_only_buyers_and_managers_run_the_planner(self):
        self.predict(self.pump, rul=60)
        self.Planner.with_user(self.manager).action_plan_now()
        self.assertTrue(self.needs(self.pump))
        for user in (self.technician, self.storekeeper):
            with self.assertRaises(AccessError):
                self.Planner.with_user(user).action_plan_now()

    def test_the_work_order_knows_its_parts(self):
        self.put_in_stock(self.seal, 1)
        request = self.open_request()
        self.predict(self.pump, rul=20)
        self.plan(today=fields.Date.today() + timedelta(days=30))  # late: the bearing is ordered now
        order = self.needs(self.pump, self.bearing).purchase_id
        self.assertTrue(order)
        order.button_confirm()
        # The technician sees each part's state on the request: the seal in the kit, the bearing on order.
        job = request.with_user(self.technician)
        self.assertEqual(job.mro_parts_state, "on_order")
        self.assertIn("1 in kit", job.mro_parts_summary)
        self.assertIn("1 on order", job.mro_parts_summary)
        self.assertIn(order.name, job.mro_parts_html)
        self.assertNotIn("&lt;", job.mro_parts_html)
        # The job is scheduled before the bearing arrives: the planner gets an activity, once.
        planner = new_test_user(self.env, login="jit-planner", groups="maintenance.group_equipment_manager")
        self.company.mro_maintenance_planner_id = planner
        request.schedule_date = order.order_line[:1].date_planned - timedelta(days=2)
        self.env["maintenance.request"]._cron_mro_parts_watch()
        self.env["maintenance.request"]._cron_mro_parts_watch()
        activity = request.activity_ids.filtered(lambda a: a.summary == "Parts arrive after the scheduled date")
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, planner)
        self.assertIn(self.bearing.display_name, activity.note)

    def test_storekeeper_sees_the_kits_work_orders(self):
        self.put_in_stock(self.bearing, 5)
        self.put_in_stock(self.seal, 2)
        request = self.open_request()
        ordinary = self.env["maintenance.request"].create({"name": "Clean", "equipment_id": self.fan.id})
        visible = self.env["maintenance.request"].with_user(self.storekeeper).search([])
        self.assertIn(request, visible)
        self.assertNotIn(ordinary, visible)
        kit = request.mro_picking_id.with_user(self.storekeeper)
        kit.move_ids.picked = True
        kit.button_validate()
        self.assertEqual(kit.state, "done")
        # Parts go back to stock through the storekeeper, not the technician.
        with self.assertRaises(AccessError):
            request.with_user(self.technician).action_mro_return_parts()
