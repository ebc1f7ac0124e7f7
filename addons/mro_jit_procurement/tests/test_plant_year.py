"""A plant's year, as its people live it: three wear cycles of one critical pump, every step done by the role
that does it in a plant, in compressed time."""

from datetime import datetime, timedelta

import numpy as np
from freezegun import freeze_time
from markupsafe import Markup

from odoo import Command, fields
from odoo.tests import TransactionCase, new_test_user, tagged

#: The first cycle starts here (naive UTC); each cycle is CYCLE days after the previous one.
START = datetime(2027, 1, 4, 8, 0)
CYCLE = timedelta(days=75)


@tagged("post_install", "-at_install")
class PlantCase(TransactionCase):
    """A pump (criticality A) fed by a gateway, its bearing from one vendor, a replacement rule, and the
    people: technician, maintenance manager, buyer, storekeeper, and the bridge's user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {"mro_auto_approve": False, "po_double_validation": "one_step", "mro_gateway_silence_minutes": 30}
        )
        cls.technician = new_test_user(cls.env, login="yr-tech", groups="base.group_user", name="Theo Technician")
        cls.manager = new_test_user(
            cls.env, login="yr-mgr", groups="maintenance.group_equipment_manager", name="Mia Manager"
        )
        cls.buyer = new_test_user(cls.env, login="yr-buyer", groups="purchase.group_purchase_user", name="Bo Buyer")
        cls.storekeeper = new_test_user(
            cls.env, login="yr-store", groups="stock.group_stock_user", name="Sam Storekeeper"
        )
        cls.bridge_user = new_test_user(cls.env, login="yr-bridge", groups="mro_sensor_bridge.group_sensor_gateway")
        cls.team = cls.env["maintenance.team"].create(
            {"name": "Rotating equipment", "member_ids": [Command.set(cls.technician.ids)]}
        )
        cls.gateway = cls.env["mro.sensor.gateway"].create(
            {"code": "YEAR-GW", "name": "Year line", "user_id": cls.bridge_user.id}
        )
        cls.pump = cls.env["maintenance.equipment"].create(
            {
                "name": "Feed pump P-101",
                "serial_no": "YR-P101",
                "mro_criticality": "A",
                "maintenance_team_id": cls.team.id,
                "technician_user_id": cls.technician.id,
                "effective_date": START.date() - timedelta(days=400),
            }
        )
        cls.vib = cls.env["mro.sensor"].create(
            {
                "code": "YR-P101-VIB",
                "name": "DE bearing vibration",
                "equipment_id": cls.pump.id,
                "gateway_id": cls.gateway.id,
                "warning_limit": 2.8,
                "alarm_limit": 4.5,
                "physical_max": 50.0,
            }
        )
        cls.vendor = cls.env["res.partner"].create({"name": "Bearings Inc"})
        cls.bearing = cls.env["product.product"].create(
            {
                "name": "Bearing 6310",
                "type": "consu",
                "is_storable": True,
                "standard_price": 85.0,
                "supplier_taxes_id": [Command.set([])],
                "seller_ids": [Command.create({"partner_id": cls.vendor.id, "price": 85.0, "delay": 4})],
            }
        )
        cls.env["mro.equipment.part"].create(
            {"equipment_id": cls.pump.id, "product_id": cls.bearing.id, "quantity": 1, "critical": True}
        )
        cls.rule = cls.env["mro.prescriptive.rule"].create(
            {
                "name": "Replace bearing",
                "condition": "rul_below",
                "rul_days": 30,
                "maintenance_team_id": cls.team.id,
                "maintenance_type": "preventive",
                "instructions": "<p>Replace the drive-end bearing.</p>",
            }
        )
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.done_stage = cls.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        # The cron's jobs run at once, in the test's transaction (queue_job's switch for tests).
        cls.Analysis = cls.env["mro.health.analysis"].with_context(queue_job__no_delay=True)
        cls.Planner = cls.env["mro.jit.planner"]

    # ------------------------------------------------------------------ helpers
    def ingest_wear(self, end, days=30, seed=1):
        """The bridge sends ``days`` of hourly readings up to ``end``: healthy at first, then the bearing wears
        (it would cross the 4.5 mm/s alarm limit about 12 days after ``end``)."""
        rng = np.random.default_rng(seed)
        t = np.arange(days * 24) / 24.0
        values = 1.0 + 0.05 * np.exp(0.1 * t) + rng.normal(0.0, 0.02, t.size)
        first = end - timedelta(hours=days * 24 - 1)
        items = [
            [self.vib.code, (first + timedelta(hours=i)).isoformat() + "Z", float(v)] for i, v in enumerate(values)
        ]
        result = self.env["mro.sensor.reading"].with_user(self.bridge_user).ingest(items)
        self.assertEqual(result["accepted"], len(items), result["rejected"][:3])

    def stock(self):
        return self.bearing.with_context(warehouse_id=self.warehouse.id).qty_available

    def run_cycle(self, start, seed):
        """One wear cycle, each step by its role; returns (request, purchase order)."""
        with freeze_time(start):
            self.ingest_wear(start, seed=seed)
            self.Analysis._cron_analyze()  # the system's cron
            self.pump.invalidate_recordset()
            self.assertTrue(self.pump.mro_predicted_failure_date, self.pump.mro_prediction_reason)
            request = self.env["maintenance.request"].search(
                [("equipment_id", "=", self.pump.id), ("stage_id.done", "=", False)]
            )
            self.assertEqual(len(request), 1)
            self.assertEqual(request.mro_rule_id, self.rule)
            self.assertTrue(request.mro_picking_id, "the kit is reserved")
            self.assertNotIn("&lt;", request.description)
            # The buyer plans; the part is not due yet, or due today.
            self.Planner.with_user(self.buyer).action_plan_now()
            need = (
                self.env["mro.part.need"]
                .with_user(self.buyer)
                .search([("equipment_id", "=", self.pump.id), ("state", "not in", ("done", "cancel"))])
            )
            self.assertEqual(len(need), 1, "the pump's bearing is planned again")
            order_by = need.order_by_date
            self.assertLessEqual(order_by, request.schedule_date.date())
        with freeze_time(datetime.combine(order_by, datetime.min.time()) + timedelta(hours=7)):
            # The cron logs a company's failure and goes on: here none may fail (a day before the records too).
            with self.assertNoLogs("odoo.addons.mro_jit_procurement.models.mro_jit_planner", level="ERROR"):
                self.Planner._cron_plan()
            order = need.purchase_id
            self.assertTrue(order, need.reason)
            self.assertEqual(order.state, "draft", "auto-approval is off: the buyer confirms")
            order.with_user(self.buyer).button_confirm()
            self.assertEqual(order.state, "purchase")
            self.assertEqual(request.mro_parts_state, "on_order")
        with freeze_time(order.order_line.date_planned):
            receipt = order.picking_ids.with_user(self.storekeeper)
            receipt.move_ids.quantity = 1
            receipt.move_ids.picked = True
            receipt.button_validate()
            self.assertEqual(receipt.state, "done")
            kit = request.mro_picking_id.with_user(self.storekeeper)
            kit.action_assign()  # the storekeeper checks availability and prepares the kit
            self.assertEqual(kit.state, "assigned")
            kit.move_ids.picked = True
            kit.button_validate()
            self.assertEqual(request.mro_parts_state, "ready")
        with freeze_time(max(request.schedule_date, order.order_line.date_planned) + timedelta(hours=1)):
            # The technician does the job and closes the request with what they found.
            job = request.with_user(self.technician)
            self.assertEqual(job.mro_condition_found, "worn", "sensible default")
            job.write({"mro_condition_found": "worn", "stage_id": self.done_stage.id})
            self.assertTrue(request.mro_consumption_picking_id)
            self.assertEqual(request.mro_consumption_picking_id.state, "done")
            self.assertFalse(request.mro_waited_for_parts, "the part came in time")
            self.assertEqual(need.state, "done")
            self.assertEqual(self.vib.mro_baseline_n, 0)
            self.assertFalse(self.pump.mro_predicted_failure_date, "the forecast of the replaced part is withdrawn")
        return request, order

    # ------------------------------------------------------------------ tests
    def test_three_wear_cycles(self):
        baselines, requests, orders = [], self.env["maintenance.request"], self.env["purchase.order"]
        for cycle in range(3):
            request, order = self.run_cycle(START + cycle * CYCLE, seed=cycle + 1)
            requests |= request
            orders |= order
            baselines.append(self.pump.mro_baseline_since)
        self.assertEqual(len(orders), 3)
        self.assertEqual(set(orders.mapped("state")), {"purchase"})
        self.assertEqual(len(requests), 3)
        open_needs = self.env["mro.part.need"].search(
            [("equipment_id", "=", self.pump.id), ("state", "not in", ("done", "cancel"))]
        )
        self.assertFalse(open_needs, "no need left behind")
        received = sum(orders.picking_ids.move_ids.filtered(lambda m: m.state == "done").mapped("quantity"))
        consumed = sum(
            requests.mro_consumption_picking_id.move_ids.filtered(lambda m: m.state == "done").mapped("quantity")
        )
        self.assertEqual((received, consumed), (3.0, 3.0))
        self.assertEqual(self.stock(), received - consumed)
        scored = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id), ("state", "=", "scored")])
        self.assertEqual(len(scored), 3)
        self.assertEqual(set(scored.mapped("outcome")), {"hit"})
        self.assertEqual(scored.request_id, requests)
        self.assertEqual(len(set(baselines)), 3, "baselines restarted at each of the three repairs")
        # The prediction accuracy report shows the three hits.
        groups = dict(self.env["mro.prediction"]._read_group([("state", "=", "scored")], ["outcome"], ["__count"]))
        self.assertEqual(groups.get("hit"), 3)

    def test_a_failure_without_prediction_is_a_miss_and_the_loop_goes_on(self):
        request, _order = self.run_cycle(START, seed=1)
        # Weeks later the pump fails with no warning (nothing predicted yet since the repair).
        with freeze_time(START + timedelta(days=40)):
            failure = (
                self.env["maintenance.request"]
                .with_user(self.technician)
                .create({"name": "Pump seized", "equipment_id": self.pump.id, "maintenance_type": "corrective"})
            )
            failure.write({"stage_id": self.done_stage.id})
        miss = self.env["mro.prediction"].search([("request_id", "=", failure.id)])
        self.assertEqual((miss.outcome, miss.state), ("miss", "scored"))
        self.assertEqual(miss.actual_failure_date.date(), failure.request_date)
        # The next wear cycle runs the whole loop again.
        request2, order2 = self.run_cycle(START + CYCLE, seed=2)
        self.assertNotEqual(request2, request)
        outcomes = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id)]).mapped("outcome")
        self.assertEqual(sorted(outcomes), ["hit", "hit", "miss"])
        with freeze_time(START + CYCLE + timedelta(days=20)):
            self.env["mro.jit.kpi"]._refresh(self.company)
        kpis = self.env["mro.jit.kpi"].search([("company_id", "=", self.company.id)])
        self.assertEqual(sum(kpis.mapped("predictions_scored")), 3)
        self.assertEqual(sum(kpis.mapped("predictions_hit")), 2)

    def test_unused_parts_go_back_to_stock(self):
        """The storekeeper returns what the job did not use with the wizard."""
        self.env["stock.quant"]._update_available_quantity(self.bearing, self.warehouse.lot_stock_id, 3)
        self.env["mro.equipment.part"].search([("equipment_id", "=", self.pump.id)]).quantity = 2
        with freeze_time(START):
            self.ingest_wear(START)
            self.Analysis._cron_analyze()
            request = self.env["maintenance.request"].search([("equipment_id", "=", self.pump.id)])
            self.assertEqual(request.mro_parts_state, "ready")
            request.with_user(self.technician).write({"stage_id": self.done_stage.id})
            self.assertEqual(self.stock(), 1.0)
            action = request.with_user(self.storekeeper).action_mro_return_parts()
            wizard = (
                self.env["mro.kit.return.wizard"]
                .with_user(self.storekeeper)
                .with_context(**action["context"])
                .create({})
            )
            self.assertEqual(wizard.line_ids.consumed_qty, 2.0)
            wizard.line_ids.return_qty = 1
            wizard.action_return()
            self.assertEqual(self.stock(), 2.0)
            self.assertEqual(request._mro_consumed_quantities(), {self.bearing: 1.0})
            body = request.message_ids[0].body
            self.assertIsInstance(body, Markup)
            self.assertIn("returned to stock", body)
            self.assertNotIn("&lt;", body)
        self.assertEqual(fields.Date.to_string(request.close_date), "2027-01-04")
