from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from .screens import screenshots


@tagged("post_install", "-at_install")
class TestPhoneTour(HttpCase):
    """A technician's day on a phone (Chromium at 390 x 844, touch): the part's label opens "Take parts" and the
    part is taken for the job in progress, the timer of the next job is started and paused for parts, and an
    alert is acknowledged with one tap. Screenshots of each screen (see tests/screens.py)."""

    browser_size = "390x844"
    touch_enabled = True

    def setUp(self):
        super().setUp()
        env = self.env
        self.tech = new_test_user(env, login="phone-tech", groups="base.group_user", name="Pat Phone")
        team = env["maintenance.team"].create({"name": "Pumps", "member_ids": [Command.set(self.tech.ids)]})
        self.pump = env["maintenance.equipment"].create(
            {"name": "Pump P-9", "serial_no": "P9", "mro_criticality": "A", "maintenance_team_id": team.id,
             "technician_user_id": self.tech.id}
        )  # fmt: skip
        vendor = env["res.partner"].create({"name": "Bearings Inc"})
        warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
        self.parts = {}
        for name, price in (("Bearing 6310", 85.0), ("Seal kit M40", 30.0)):
            product = env["product.product"].create(
                {"name": name, "type": "consu", "is_storable": True, "standard_price": price,
                 "seller_ids": [Command.create({"partner_id": vendor.id, "price": price, "delay": 4})]}
            )  # fmt: skip
            env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 4)
            env["mro.equipment.part"].create({"equipment_id": self.pump.id, "product_id": product.id, "critical": True})
            self.parts[name] = product
        # A second pump, whose seal is to be inspected today.
        pump10 = env["maintenance.equipment"].create(
            {"name": "Pump P-10", "serial_no": "P10", "mro_criticality": "B", "maintenance_team_id": team.id}
        )
        env["mro.equipment.part"].create({"equipment_id": pump10.id, "product_id": self.parts["Seal kit M40"].id})
        now = fields.Datetime.now()
        for name, pump in (("Replace bearing", self.pump), ("Inspect seal", pump10)):
            prediction = env["mro.prediction"].create({"equipment_id": pump.id, "published_at": now, "rul_days": 9.0})
            request = env["maintenance.request"].create(
                {"name": name, "equipment_id": pump.id, "mro_prediction_id": prediction.id,
                 "maintenance_team_id": team.id, "user_id": self.tech.id, "schedule_date": now}
            )  # fmt: skip
            if name == "Replace bearing":
                request.with_user(self.tech).action_mro_timer_start()  # in progress
                self.job = request
        self.alert = env["mro.health.alert"]._create_machine_made(
            [{"name": "Pump P-9: Health state", "equipment_id": self.pump.id, "kind": "health",
              "severity": "warning", "message": "[P9-VIB] Pump vibration: 3.1 over the warning limit 2.8"}]
        )  # fmt: skip

    def test_phone_day(self):
        bearing = self.parts["Bearing 6310"]
        label = self.env["mro.qr.label"]._url(bearing)
        path = label[label.index("/odoo/") :]
        with screenshots() as (target, taken):
            self.start_tour(path, "mro_phone_take_parts", login="phone-tech")
            self.start_tour("/odoo/my-day", "mro_phone_my_day", login="phone-tech")
            self.start_tour(
                "/odoo/action-mro_predictive.mro_health_alert_action", "mro_phone_alerts", login="phone-tech"
            )
        self.assertEqual(sorted(taken), ["6-phone-take-parts", "7-phone-my-day", "8-phone-alert-acknowledged"])
        for name in taken:
            self.assertTrue((target / f"{name}.png").read_bytes().startswith(b"\x89PNG"))
        # What the screens did, in the database.
        taken_moves = self.job.mro_taken_move_ids
        self.assertEqual((taken_moves.product_id, taken_moves.product_uom_qty), (bearing, 1.0))
        self.assertEqual(taken_moves.mro_taken_by_id, self.tech)
        seal_job = self.env["maintenance.request"].search([("name", "=", "Inspect seal")])
        pause = seal_job.mro_interval_ids.filtered(lambda i: i.kind == "pause")
        self.assertEqual((pause.pause_reason, pause.user_id), ("parts", self.tech))
        self.assertEqual((self.alert.state, self.alert.acknowledged_by_id), ("acknowledged", self.tech))
