import base64
import io
from datetime import timedelta

import openpyxl

from odoo import fields
from odoo.tests import tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestReports(JitCase):
    def test_xlsx_plan_content(self):
        self.predict(self.pump, rul=9)
        self.plan()
        action = self.needs(self.pump).action_export_xlsx()
        attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(attachment.datas)))
        rows = list(book.active.iter_rows(values_only=True))
        self.assertEqual(rows[0][:4], ("Equipment", "Criticality", "Part", "Quantity"))
        by_part = {row[2]: row for row in rows[1:]}
        self.assertEqual(set(by_part), {"Bearing 6205", "Seal kit"})
        bearing = by_part["Bearing 6205"]
        self.assertEqual((bearing[0], bearing[1], bearing[3], bearing[4]), ("Pump P-1", "A", 2.0, "Bearings Inc"))
        self.assertEqual(bearing[9], "Ordered")
        self.assertTrue(bearing[10].startswith("P"))  # the purchase order's reference
        self.assertIn("order", bearing[14])

    def test_qr_payload_opens_the_record(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://erp.example.com")
        Qr = self.env["mro.qr.label"]
        self.assertEqual(Qr._url(self.pump), f"https://erp.example.com/odoo/maintenance.equipment/{self.pump.id}")
        # A part's label opens "Take parts" for it.
        self.assertEqual(
            Qr._url(self.bearing), f"https://erp.example.com/odoo/mro-take-parts?product_id={self.bearing.id}"
        )
        png = Qr._png(Qr._url(self.pump))
        self.assertTrue(png.startswith(b"\x89PNG"))
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("mro_jit_procurement.report_mro_equipment_label", self.pump.ids)[0]
            .decode()
        )
        self.assertIn("data:image/png;base64,", html)
        self.assertIn(f"/odoo/maintenance.equipment/{self.pump.id}", html)
        self.assertIn("Pump P-1", html)

    def test_obsolete_and_ghost_parts(self):
        self.fan.write({"scrap_date": fields.Date.today()})
        gear = self._part("Gear set", 300.0, self.skf, delay=20)
        self.env["mro.equipment.part"].create({"equipment_id": self.fan.id, "product_id": gear.id})
        self.put_in_stock(gear, 2)
        self.env.flush_all()
        report = self.env["mro.part.obsolete.report"].search([])
        gear_row = report.filtered(lambda r: r.product_id == gear)
        self.assertEqual(gear_row.kind, "obsolete")  # only on the scrapped fan
        self.assertAlmostEqual(gear_row.stock_value, 600.0)
        bearing_row = report.filtered(lambda r: r.product_id == self.bearing)
        self.assertEqual(bearing_row.kind, "ghost")  # the pump still uses it, but it never moved
        self.assertEqual(bearing_row.active_equipment_count, 1)

    def test_kpis(self):
        self.predict(self.pump, rul=2, lower=1, upper=3)
        self.company.write({"mro_auto_approve": True, "mro_auto_approve_a": True, "mro_auto_approve_limit": 1000})
        self.plan()  # late: an emergency purchase, auto-approved
        stage_done = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        prediction = self.env["mro.prediction"].create(
            {
                "equipment_id": self.pump.id,
                "published_at": fields.Datetime.now() - timedelta(days=3),
                "rul_days": 2.0,
                "rul_lower_days": 1.0,
                "rul_upper_days": 4.0,
                "predicted_failure_date": fields.Datetime.now() - timedelta(days=1),
                "lower_date": fields.Datetime.now() - timedelta(days=2),
                "upper_date": fields.Datetime.now() + timedelta(days=1),
            }
        )
        failure = self.env["maintenance.request"].create(
            {"name": "Pump failed", "equipment_id": self.pump.id, "maintenance_type": "corrective"}
        )
        failure.stage_id = stage_done
        self.assertEqual(prediction.state, "scored")
        self.env["mro.jit.kpi"]._refresh(self.company)
        month = self.env["mro.jit.kpi"].search([("company_id", "=", self.company.id)], order="month desc", limit=1)
        self.assertEqual(month.emergency_orders, 2)  # bearing and seal vendors, both ordered late
        self.assertAlmostEqual(month.emergency_spend, 2 * 40.0 + 120.0)
        # the prediction the plan was made from (published today) and the one published three days ago
        scored = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id), ("state", "=", "scored")])
        self.assertEqual(len(scored), 2)
        self.assertIn(prediction, scored)
        self.assertEqual(month.predictions_scored, 2)
        self.assertAlmostEqual(month.hit_rate, 100.0 * len(scored.filtered("hit")) / 2)
        self.assertEqual(self.env["mro.jit.kpi"].search_count([("company_id", "=", self.company.id)]), 12)
