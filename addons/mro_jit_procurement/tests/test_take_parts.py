"""Scan a part out from a phone, as a technician: from the kit or from stock, with lots, reorders and clear
refusals."""

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestTakeParts(JitCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.technician = new_test_user(cls.env, login="take-tech", groups="base.group_user", name="Tom Tech")
        cls.storekeeper = new_test_user(cls.env, login="take-store", groups="stock.group_stock_user", name="Sue Store")
        cls.team = cls.env["maintenance.team"].create(
            {"name": "Pumps", "member_ids": [Command.set(cls.technician.ids)]}
        )
        cls.pump.write({"maintenance_team_id": cls.team.id, "serial_no": "TP-P1"})
        cls.Take = cls.env["mro.part.take"].with_user(cls.technician)
        cls.grease = cls._part("Grease cartridge", 8.0, cls.skf, delay=2)

    def open_request(self, in_progress=True):
        prediction = self.env["mro.prediction"].create(
            {"equipment_id": self.pump.id, "published_at": fields.Datetime.now(), "rul_days": 9.0}
        )
        request = self.env["maintenance.request"].create(
            {"name": "Replace bearing", "equipment_id": self.pump.id, "mro_prediction_id": prediction.id,
             "maintenance_team_id": self.team.id, "user_id": self.technician.id,
             "schedule_date": fields.Datetime.now()}
        )  # fmt: skip
        if in_progress:
            request.with_user(self.technician).action_mro_timer_start()
        return request

    def on_hand(self, product):
        return product.with_context(warehouse_id=self.warehouse.id).qty_available

    def test_a_part_label_opens_the_screen_and_is_taken_from_the_kit(self):
        self.put_in_stock(self.bearing, 5)
        self.put_in_stock(self.seal, 1)
        request = self.open_request()
        kit = request.mro_picking_id
        self.assertEqual(kit.state, "assigned")
        # The label's QR code (a link) as any phone camera reads it.
        url = self.env["mro.qr.label"]._url(self.bearing)
        self.assertIn(f"/odoo/mro-take-parts?product_id={self.bearing.id}", url)
        found = self.Take.lookup(url)
        self.assertEqual(found["kind"], "product")
        self.assertEqual(found["product"]["id"], self.bearing.id)
        self.assertEqual(found["request_id"], request.id, "the request in progress is the default")
        done = self.Take.take(self.bearing.id, request.id, 2)
        self.assertTrue(done["from_kit"])  # the kit was only reserved: it gives its reservation up
        self.assertEqual(self.on_hand(self.bearing), 3.0)
        self.assertNotIn(self.bearing, kit.move_ids.filtered(lambda m: m.state != "cancel").product_id)
        self.assertEqual(request.mro_parts_cost, 2 * 40.0)
        self.assertEqual(request.mro_taken_move_ids.mro_taken_by_id, self.technician)
        self.assertEqual(request._mro_consumed_quantities(), {self.bearing: 2.0})
        # At the end of the job only the seal is left in the kit to consume.
        request.with_user(self.technician).action_mro_timer_done()
        self.assertEqual(self.on_hand(self.seal), 0.0)
        self.assertEqual(self.on_hand(self.bearing), 3.0, "taken once, not twice")

    def test_taken_from_a_validated_kit(self):
        self.put_in_stock(self.bearing, 2)
        self.put_in_stock(self.seal, 1)
        request = self.open_request()
        kit = request.mro_picking_id.with_user(self.storekeeper)
        kit.move_ids.picked = True
        kit.button_validate()
        done = self.Take.take(self.bearing.id, request.id, 1)
        self.assertTrue(done["from_kit"])
        move = request.mro_taken_move_ids
        self.assertEqual(move.location_id, self.company.mro_maintenance_location_id)
        self.assertEqual(move.location_dest_id, self.company.mro_consumption_location_id)

    def test_a_part_not_in_the_kit_comes_from_stock_and_reorders_below_its_minimum(self):
        self.put_in_stock(self.grease, 3)
        self.env["stock.warehouse.orderpoint"].create(
            {"product_id": self.grease.id, "warehouse_id": self.warehouse.id,
             "location_id": self.warehouse.lot_stock_id.id, "product_min_qty": 2, "product_max_qty": 6,
             "trigger": "auto"}
        )  # fmt: skip
        request = self.open_request()
        found = self.Take.lookup(self.grease.display_name)  # typed: not a code
        self.assertEqual(found["kind"], "unknown")
        self.grease.default_code = "GRS-1"
        self.assertEqual(self.Take.lookup("GRS-1")["product"]["id"], self.grease.id)
        done = self.Take.take(self.grease.id, request.id, 2)
        self.assertFalse(done["from_kit"])
        self.assertEqual(self.on_hand(self.grease), 1.0)
        # Below the minimum of 2: the reorder started at once, not at the next scheduler run.
        self.assertIn("reordered", done["reorder"])
        rfq = self.env["purchase.order.line"].search([("product_id", "=", self.grease.id)]).order_id
        self.assertEqual(rfq.partner_id, self.skf)
        self.assertEqual(rfq.order_line.product_qty, 5.0)  # up to the maximum of 6

    def test_an_equipment_label_preselects_its_request(self):
        self.put_in_stock(self.bearing, 1)
        other = self.env["maintenance.request"].create(
            {"name": "Other job", "user_id": self.technician.id, "schedule_date": fields.Datetime.now()}
        )
        request = self.open_request()
        found = self.Take.lookup(self.env["mro.qr.label"]._url(self.pump))
        self.assertEqual(found["kind"], "equipment")
        self.assertEqual(found["request_id"], request.id)
        self.assertIn(other.id, [r["id"] for r in found["requests"]])

    def test_lot_tracked_parts_ask_for_the_lot(self):
        self.grease.tracking = "lot"
        lot = self.env["stock.lot"].create({"name": "LOT-42", "product_id": self.grease.id})
        self.env["stock.quant"]._update_available_quantity(self.grease, self.warehouse.lot_stock_id, 4, lot_id=lot)
        request = self.open_request()
        with self.assertRaisesRegex(UserError, "tracked by lot"):
            self.Take.take(self.grease.id, request.id, 1)
        found = self.Take.lookup("LOT-42")
        self.assertEqual((found["product"]["id"], found["product"]["lot_id"]), (self.grease.id, lot.id))
        self.Take.take(self.grease.id, request.id, 1, lot.id)
        self.assertEqual(request.mro_taken_move_ids.move_line_ids.lot_id, lot)
        self.assertEqual(self.on_hand(self.grease), 3.0)

    def test_clear_refusals(self):
        request = self.open_request()
        unknown = self.Take.lookup("NO-SUCH-CODE")
        self.assertEqual(unknown["kind"], "unknown")
        self.assertIn("Unknown code NO-SUCH-CODE", unknown["message"])
        # Not enough stock: says whom to call, and nothing moves.
        self.company.mro_storekeeper_id = self.storekeeper
        with self.assertRaisesRegex(UserError, "Call Sue Store"):
            self.Take.take(self.grease.id, request.id, 1)
        self.assertFalse(request.mro_taken_move_ids)
        # A plant that allows it records the part anyway (stock negative until counted).
        self.company.mro_allow_negative_stock = True
        self.Take.take(self.grease.id, request.id, 1)
        self.assertEqual(self.on_hand(self.grease), -1.0)
        with self.assertRaisesRegex(UserError, "Pick the job"):
            self.Take.take(self.grease.id, False, 1)
        with self.assertRaisesRegex(UserError, "between 0 and 1,000"):
            self.Take.take(self.grease.id, request.id, -3)
        # A request the technician may not see is refused.
        stranger = self.env["maintenance.request"].create({"name": "Not mine", "equipment_id": self.fan.id})
        with self.assertRaises(AccessError):
            self.Take.take(self.grease.id, stranger.id, 1)
        # A portal user takes nothing.
        portal = new_test_user(self.env, login="take-portal", groups="base.group_portal")
        with self.assertRaises(AccessError):
            self.env["mro.part.take"].with_user(portal).lookup("GRS-1")
        # A closed request takes no more parts.
        request.with_user(self.technician).action_mro_timer_done()
        with self.assertRaisesRegex(UserError, "is closed"):
            self.Take.take(self.grease.id, request.id, 1)
