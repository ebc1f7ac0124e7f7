from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestReservation(JitCase):
    def open_request(self, equipment):
        prediction = self.env["mro.prediction"].create(
            {"equipment_id": equipment.id, "published_at": "2026-01-01 00:00:00", "rul_days": 9.0}
        )
        return self.env["maintenance.request"].create(
            {"name": "Replace bearing", "equipment_id": equipment.id, "mro_prediction_id": prediction.id}
        )

    def test_request_from_a_prediction_reserves_its_kit_and_cancel_releases_it(self):
        self.put_in_stock(self.bearing, 5)
        self.put_in_stock(self.seal, 1)
        request = self.open_request(self.pump)
        kit = request.mro_picking_id
        self.assertTrue(kit)
        self.assertEqual(kit.state, "assigned")
        self.assertEqual(
            {(m.product_id, m.product_uom_qty) for m in kit.move_ids}, {(self.bearing, 2.0), (self.seal, 1.0)}
        )
        self.assertEqual(kit.location_dest_id, self.company.mro_maintenance_location_id)
        self.assertFalse(request.mro_waited_for_parts)
        self.assertEqual(self.bearing.with_context(warehouse_id=self.warehouse.id).free_qty, 3.0)
        request.archive_equipment_request()  # cancel
        self.assertEqual(kit.state, "cancel")
        self.assertEqual(self.bearing.with_context(warehouse_id=self.warehouse.id).free_qty, 5.0)

    def test_missing_critical_part_is_a_stockout_when_the_work_is_due(self):
        self.put_in_stock(self.seal, 1)
        request = self.open_request(self.pump)
        request.schedule_date = fields.Datetime.now() + timedelta(days=3)
        self.assertIn("critical parts not in stock", request.message_ids[0].body)
        # Opened before its bearing arrived, as JIT means: not a stockout while the work is not due.
        Request = self.env["maintenance.request"]
        Request._cron_mro_parts_watch()
        self.assertFalse(request.mro_waited_for_parts)
        # The scheduled date comes and the critical bearing is still not in the kit: the work waits.
        with freeze_time(fields.Datetime.now() + timedelta(days=3, hours=1)):
            Request._cron_mro_parts_watch()
            self.assertTrue(request.mro_waited_for_parts)
            start = request.mro_parts_wait_start
            self.assertEqual(start, request.schedule_date)
        # Five hours later the bearing is received and reserved in the kit: the wait ends and is recorded.
        self.put_in_stock(self.bearing, 2)
        request.mro_picking_id.action_assign()
        with freeze_time(start + timedelta(hours=5)):
            Request._cron_mro_parts_watch()
        self.assertAlmostEqual(request.mro_parts_wait_hours, 5.0, places=1)
        self.assertEqual(request.mro_parts_state, "ready")

    def test_parts_not_in_stock_are_not_a_stockout_when_they_come_in_time(self):
        request = self.open_request(self.pump)
        request.schedule_date = fields.Datetime.now() + timedelta(days=3)
        self.put_in_stock(self.bearing, 2)
        self.put_in_stock(self.seal, 1)
        request.mro_picking_id.action_assign()
        with freeze_time(fields.Datetime.now() + timedelta(days=3, hours=1)):
            self.env["maintenance.request"]._cron_mro_parts_watch()
        self.assertFalse(request.mro_waited_for_parts)
        self.assertFalse(request.mro_parts_wait_hours)

    def test_ordinary_requests_reserve_nothing(self):
        self.put_in_stock(self.bearing, 5)
        request = self.env["maintenance.request"].create({"name": "Clean", "equipment_id": self.pump.id})
        self.assertFalse(request.mro_picking_id)

    def test_two_requests_on_one_machine_share_one_kit(self):
        """Two rules firing on the same failing pump open two requests, but its parts are reserved once;
        when the request holding the kit is cancelled, the other one reserves it."""
        self.put_in_stock(self.bearing, 5)
        self.put_in_stock(self.seal, 1)
        first = self.open_request(self.pump)
        second = self.open_request(self.pump)
        self.assertTrue(first.mro_picking_id)
        self.assertFalse(second.mro_picking_id)
        self.assertIn(first.mro_picking_id.name, second.message_ids[0].body)
        self.assertEqual(self.bearing.with_context(warehouse_id=self.warehouse.id).free_qty, 3.0)
        first.archive_equipment_request()
        self.assertEqual(first.mro_picking_id.state, "cancel")
        self.assertEqual(second.mro_picking_id.state, "assigned")
        self.assertEqual(self.bearing.with_context(warehouse_id=self.warehouse.id).free_qty, 3.0)
