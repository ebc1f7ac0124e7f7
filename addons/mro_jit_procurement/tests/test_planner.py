from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestPlanner(JitCase):
    def test_far_failure_is_planned_not_ordered(self):
        self.predict(self.pump, rul=120)
        self.assertFalse(self.plan())
        needs = self.needs(self.pump)
        self.assertEqual(needs.mapped("state"), ["planned", "planned"])
        today = fields.Date.context_today(self.Planner)
        for need in needs:
            self.assertGreater(need.order_by_date, today)
            self.assertLess(need.order_by_date, need.predicted_failure_date.date())
            self.assertIn("order by", need.reason)
        # The seal's vendor is slower (10 days quoted vs 5): it must be ordered earlier.
        bearing, seal = (
            needs.filtered(lambda n: n.product_id == self.bearing),
            needs.filtered(lambda n: n.product_id == self.seal),
        )
        self.assertLess(seal.order_by_date, bearing.order_by_date)

    def test_due_parts_become_rfqs_grouped_by_vendor_with_reasons(self):
        self.predict(self.pump, rul=9)
        self.predict(self.fan, rul=8)
        orders = self.plan()
        self.assertEqual(orders.partner_id, self.skf | self.seals)
        skf_order = orders.filtered(lambda o: o.partner_id == self.skf)
        self.assertEqual(skf_order.state, "draft")  # auto-approval is off
        self.assertTrue(skf_order.mro_jit)
        # One line for the bearing of both machines: 2 (pump) + 1 (fan).
        self.assertEqual(len(skf_order.order_line), 1)
        self.assertEqual(skf_order.order_line.product_qty, 3)
        self.assertIn("Pump P-1", skf_order.origin)
        self.assertIn("Fan F-1", skf_order.origin)
        self.assertEqual(skf_order.mro_need_ids.equipment_id, self.pump | self.fan)
        body = " ".join(skf_order.message_ids.mapped("body"))
        self.assertIn("Pump P-1: 2.0 x", body)
        self.assertIn("failure expected", body)
        self.assertEqual(set(self.needs().mapped("state")), {"ordered"})
        self.assertIn("Left for review: auto-approval is off", skf_order.message_ids[0].body)

    def test_never_orders_twice(self):
        self.predict(self.pump, rul=9)
        first = self.plan()
        lines = first.order_line
        quantities = lines.mapped("product_qty")
        self.predict(self.pump, rul=7)  # a newer prediction of the same failure
        self.assertFalse(self.plan())
        self.assertEqual(first.order_line, lines)
        self.assertEqual(lines.mapped("product_qty"), quantities)
        self.assertEqual(self.env["purchase.order"].search_count([("mro_jit", "=", True)]), 2)

    def test_free_stock_and_incoming_count(self):
        self.put_in_stock(self.bearing, 2)
        manual = self.env["purchase.order"].create(
            {"partner_id": self.seals.id, "order_line": [(0, 0, {"product_id": self.seal.id, "product_qty": 1})]}
        )
        manual.button_confirm()  # one seal already incoming
        self.predict(self.pump, rul=9)
        self.assertFalse(self.plan())
        self.assertEqual(set(self.needs(self.pump).mapped("state")), {"stock"})
        self.assertIn("Covered by free stock", self.needs(self.pump, self.bearing).reason)
        # The fan now needs a bearing too: the two in stock are claimed by the pump, so it is bought.
        self.predict(self.fan, rul=8)
        orders = self.plan()
        self.assertEqual(orders.order_line.product_id, self.bearing)
        self.assertEqual(orders.order_line.product_qty, 1)

    def test_late_order_is_an_emergency(self):
        self.predict(self.pump, rul=2, lower=1, upper=3)
        orders = self.plan()
        need = self.needs(self.pump, self.bearing)
        self.assertTrue(need.late)
        self.assertTrue(need.emergency)
        self.assertIn("order now", need.reason)
        self.assertTrue(orders.filtered(lambda o: o.partner_id == self.skf).mro_emergency)

    def test_criticality_c_runs_to_failure(self):
        self.fan.mro_criticality = "C"
        self.predict(self.fan, rul=8)
        self.plan()
        self.assertFalse(self.needs(self.fan))

    def test_repair_done_closes_needs_and_withdrawn_prediction_cancels(self):
        self.predict(self.pump, rul=120)
        self.plan()
        needs = self.needs(self.pump)
        self.pump.write({"mro_predicted_failure_date": False, "mro_rul_days": False})
        # The policy releases a need after a week without a usable warning (a prediction may come back).
        self.plan()
        self.assertEqual(set(needs.mapped("state")), {"planned"})
        self.plan(fields.Date.context_today(self.Planner) + timedelta(days=7))
        self.assertEqual(set(needs.mapped("state")), {"cancel"})
        self.predict(self.fan, rul=9)
        self.plan()
        done = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        repair = self.env["maintenance.request"].create(
            {"name": "Fan bearing", "equipment_id": self.fan.id, "maintenance_type": "corrective"}
        )
        repair.stage_id = done  # the work is done through the normal flow: the need it answered is closed
        need = self.Need.search([("equipment_id", "=", self.fan.id)])
        self.assertEqual((need.state, need.request_id), ("done", repair))
        self.plan()
        self.assertEqual(need.state, "done")

    def test_plant_shutdown_pulls_the_order_forward(self):
        self.predict(self.pump, rul=60)
        self.plan()
        before = self.needs(self.pump, self.bearing).order_by_date
        # A plant shutdown over the three days up to that date: nobody orders then.
        calendar = self.company.resource_calendar_id
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Plant shutdown",
                "calendar_id": calendar.id,
                "date_from": datetime.combine(before - timedelta(days=2), datetime.min.time()),
                "date_to": datetime.combine(before, datetime.max.time().replace(microsecond=0)),
            }
        )
        self.plan()
        need = self.needs(self.pump, self.bearing)
        self.assertLess(need.order_by_date, before - timedelta(days=2))
        self.assertLess(need.order_by_date.weekday(), 5)  # a working day of the standard calendar
        self.assertIn("plant closed", need.reason)

    def test_a_scheduled_job_pulls_the_order_forward(self):
        """The part must be in the kit before the job starts: a job scheduled before the predicted failure
        (a shutdown window) is the deadline its order-by date aims at, not the failure."""
        self.predict(self.pump, rul=60)
        self.plan()
        before = self.needs(self.pump, self.bearing).order_by_date
        job_start = datetime.combine(fields.Date.context_today(self.Planner) + timedelta(days=25), datetime.min.time())
        job = self.env["maintenance.request"].create(
            {"name": "Shutdown: replace bearing", "equipment_id": self.pump.id, "schedule_date": job_start}
        )
        self.plan()
        need = self.needs(self.pump, self.bearing)
        self.assertLess(need.order_by_date, before)
        self.assertLessEqual(need.order_by_date, job_start.date() - timedelta(days=5))  # lead time 5 d at least
        self.assertIn("scheduled job", need.reason)
        # Moved later than the failure's own date, the job no longer sets the date: the failure does again.
        job.schedule_date = job_start + timedelta(days=120)
        self.plan()
        self.assertEqual(self.needs(self.pump, self.bearing).order_by_date, before)

    def test_vendor_closure_moves_the_order_earlier(self):
        self.predict(self.pump, rul=60)
        self.plan()
        before = self.needs(self.pump, self.seal).order_by_date
        closures = self.env["resource.calendar"].create({"name": "Seals Ltd calendar"})
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Vendor summer closure",
                "calendar_id": closures.id,
                "date_from": datetime.combine(before + timedelta(days=1), datetime.min.time()),
                "date_to": datetime.combine(before + timedelta(days=5), datetime.min.time()),
            }
        )
        self.seals.mro_closure_calendar_id = closures
        self.plan()
        need = self.needs(self.pump, self.seal)
        self.assertLess(need.order_by_date, before)
        self.assertIn("vendor closed", need.reason)
