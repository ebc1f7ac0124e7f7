"""Day one: an ordinary company's database taken to a running loop through Predictive Setup's buttons, by a
maintenance manager (an administrator only issues the bridge's key)."""

import time
from datetime import datetime, timedelta
from pathlib import Path

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

NL = "\n"
KINDS = ["pump", "motor", "fan", "compressor", "conveyor", "gearbox"]
HERE = Path(__file__).resolve().parent


@tagged("post_install", "-at_install")
class TestPredictiveSetup(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.company = env["res.company"].create({"name": "Day One Plant"})
        cls.env = env = env(context=dict(env.context, allowed_company_ids=[cls.company.id]))
        cls.manager = new_test_user(
            env, login="setup-mgr", groups="maintenance.group_equipment_manager,base.group_allow_export",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)], name="Max Manager",
        )  # fmt: skip
        cls.admin = new_test_user(
            env, login="setup-admin", groups="base.group_system,maintenance.group_equipment_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )  # fmt: skip
        cls.warehouse = env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.team = env["maintenance.team"].create({"name": "Day One maintenance", "company_id": cls.company.id})
        # 30 equipment, named as plants name them.
        names = ["Cooling water pump", "Mixer motor", "Supply fan", "Air compressor", "Belt conveyor", "Gearbox"]
        cls.equipment = env["maintenance.equipment"].create(
            [
                {"name": f"{names[i % 6]} {100 + i}", "company_id": cls.company.id, "maintenance_team_id": cls.team.id}
                for i in range(30)
            ]
        )
        # 200 products from 5 vendors, and a year of receipts for 40 of them.
        cls.vendors = env["res.partner"].create(
            [{"name": f"Vendor {v}", "company_id": cls.company.id} for v in range(5)]
        )
        cls.products = env["product.product"].create(
            [
                {"name": f"Part {i:03d}", "default_code": f"DO-{i:03d}", "type": "consu", "is_storable": True,
                 "standard_price": 10.0 + i, "company_id": cls.company.id,
                 "seller_ids": [Command.create({"partner_id": cls.vendors[i % 5].id, "price": 10.0 + i,
                                                "delay": 2 + (i % 5) * 2, "company_id": cls.company.id})]}
                for i in range(200)
            ]
        )  # fmt: skip
        PO = env["purchase.order"].with_company(cls.company)
        for k, product in enumerate(cls.products[:40]):
            ordered = datetime.now() - timedelta(days=360 - 8 * k)
            order = PO.create(
                {"partner_id": product.seller_ids.partner_id.id, "company_id": cls.company.id,
                 "order_line": [Command.create({"product_id": product.id, "product_qty": 3})]}
            )  # fmt: skip
            order.button_confirm()
            order.date_approve = ordered
            receipt = order.picking_ids
            receipt.move_ids.quantity = 3
            receipt.move_ids.picked = True
            receipt.button_validate()
            receipt.date_done = ordered + timedelta(days=product.seller_ids.delay + (k % 3))
        # An old corrective repair of pump 100 that took a part from stock (a transfer named after it).
        repair = env["maintenance.request"].create(
            {"name": "Pump 100 seized", "equipment_id": cls.equipment[0].id, "maintenance_type": "corrective",
             "company_id": cls.company.id, "maintenance_team_id": cls.team.id,
             "request_date": fields.Date.today() - timedelta(days=90),
             "duration": 60.0}
        )  # fmt: skip
        scrap = env["stock.location"].search(
            [("usage", "=", "inventory"), ("company_id", "in", (cls.company.id, False))], limit=1
        )
        move = env["stock.move"].create(
            {"name": "Seal for the pump", "product_id": cls.products[1].id, "product_uom_qty": 1,
             "product_uom": cls.products[1].uom_id.id, "location_id": cls.warehouse.lot_stock_id.id,
             "location_dest_id": scrap.id, "origin": repair.name, "company_id": cls.company.id}
        )  # fmt: skip
        move._action_confirm()
        move.quantity = 1
        move.picked = True
        move._action_done()
        cls.Setup = env["mro.setup"].with_user(cls.manager).with_company(cls.company)

    def step(self, key):
        return next(s for s in self.Setup.get_checklist()["steps"] if s["key"] == key)

    def import_csv(self, model, text, fields_):
        importer = (
            self.env["base_import.import"]
            .with_user(self.manager)
            .create({"res_model": model, "file": text.encode(), "file_type": "text/csv", "file_name": "import.csv"})
        )
        header = text.splitlines()[0].split(",")
        result = importer.execute_import(
            fields_, header, {"quoting": '"', "separator": ",", "has_headers": True}, dryrun=False
        )
        self.assertFalse([m for m in result["messages"] if m["type"] == "error"], result["messages"])
        return result["ids"]

    def test_an_afternoon_from_an_ordinary_database_to_the_loop(self):
        checklist = self.Setup.get_checklist()
        self.assertFalse(checklist["ready"])
        self.assertTrue(checklist["missing"])
        self.assertEqual(checklist["steps"][0]["key"], "criticality")

        # 1. Criticality audit: production impact where the manager knows it, then accept the suggestions.
        pump = self.equipment[0]
        pump.with_user(self.manager).mro_production_impact = "high"
        self.equipment[5].with_user(self.manager).mro_production_impact = "none"
        self.assertEqual(pump.mro_criticality_suggested, "A")  # high impact, 60 h down last quarter
        self.assertIn("production impact high", pump.mro_criticality_basis)
        self.assertEqual(self.equipment[5].mro_criticality_suggested, "C")
        self.assertEqual(self.step("criticality")["done"], 0)
        self.Setup.action_apply_criticality_suggestions()
        self.assertEqual(pump.mro_criticality, "A")
        self.assertEqual(self.step("criticality")["status"], "done")

        # 2. Asset models suggested from names; applied in bulk with their sensors and ISO limits.
        self.assertEqual(pump.mro_asset_model_suggested_id.machine_kind, "pump")
        self.Setup.action_apply_asset_models()
        self.assertEqual(self.step("asset_models")["status"], "done")
        self.assertTrue(pump.mro_sensor_ids)
        self.assertEqual(
            pump.mro_sensor_ids.filtered(lambda s: s.measure_kind == "vibration_velocity")[:1].alarm_limit, 4.5
        )

        # 3. Connect: a gateway, its key (an administrator's button), the sources imported from the PLC's export.
        self.Setup.action_create_gateway()
        gateway = self.env["mro.sensor.gateway"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(gateway), 1)
        with self.assertRaises(AccessError):
            gateway.with_user(self.manager).action_create_bridge_credentials()
        action = gateway.with_user(self.admin).action_create_bridge_credentials()
        dialog = self.env[action["res_model"]].with_user(self.admin).create({"gateway_id": gateway.id})
        shown = dialog.action_generate()["context"]
        self.assertTrue(gateway.user_id)
        self.assertTrue(shown["default_api_key"])
        step = self.step("connect")
        self.assertIn("mro-bridge pull-config", step["commands"])
        self.assertIn(self.env.cr.dbname, step["commands"])
        self.assertTrue(step["blocking"])
        # The integrator exports the sensors the asset models created, fills in their sources from the PLC's
        # tag list, and imports the file back (Odoo's export and import: the ID column updates them).
        sensors = self.env["mro.sensor"].search([("company_id", "=", self.company.id)])
        exported = sensors.with_user(self.manager).export_data(["id", "code"])["datas"]
        rows = ["ID,Code,Gateway,Protocol,Source device,Source address"]
        rows += [f"{xmlid},{code},{gateway.code},MQTT,broker,plant/{code}" for xmlid, code in exported]
        self.import_csv(
            "mro.sensor", NL.join(rows), ["id", "code", "gateway_id", "protocol", "source_device", "source_address"]
        )
        self.assertEqual(self.env["mro.sensor"].search_count([("company_id", "=", self.company.id)]), len(sensors))
        self.assertEqual(set(sensors.mapped("protocol")), {"mqtt"})
        self.assertEqual(set(sensors.gateway_id.ids), set(gateway.ids))
        # The bridge sends its first readings: the step turns green per sensor.
        stamp = time.time() - 60
        batch = [[s.code, stamp - k * 3600, 1.0 + 0.01 * k] for s in sensors for k in range(6)]
        result = self.env["mro.sensor.reading"].with_user(gateway.user_id).ingest(batch)
        self.assertEqual(result["accepted"], len(batch), result["rejected"][:3])
        self.assertEqual(self.step("connect")["status"], "done")

        # 4. Baselines: none learned yet after six hours; the step says when.
        step = self.step("baselines")
        self.assertEqual(step["done"], 0)
        self.assertTrue(any("by 20" in line for line in step["lines"]), step["lines"])
        self.assertFalse(step["blocking"])
        # The analysis cron queues its jobs; no job runner takes them (queue_job not loaded server-wide): after
        # half an hour the step says so and blocks.
        self.env["mro.health.analysis"].sudo()._cron_analyze()
        self.assertFalse(self.step("baselines")["blocking"])
        with freeze_time(fields.Datetime.now() + timedelta(minutes=31)):
            step = self.step("baselines")
        self.assertTrue(step["blocking"], step)
        self.assertIn("job runner", step["missing"])
        self.env["queue.job"].sudo().search([("method_name", "=", "_job_analyze")]).unlink()
        self.assertFalse(self.step("baselines")["blocking"])

        # 5. Parts mapping: the spreadsheet through Odoo's standard import, and a suggestion from the past repair.
        template = (HERE.parent / "static" / "templates" / "spare_parts_lists.csv").read_text().splitlines()[0]
        lines = [template] + [
            f"{e.name},DO-{10 + i:03d},{1 + i % 2},{'True' if i % 3 == 0 else 'False'},wear"
            for i, e in enumerate(self.equipment)
        ]
        self.import_csv(
            "mro.equipment.part",
            "\n".join(lines),
            ["equipment_id", "product_id", "quantity", "critical", "failure_mode"],
        )
        self.assertEqual(len(self.env["mro.equipment.part"].search([("company_id", "=", self.company.id)])), 30)
        suggestion = self.env["mro.part.suggestion"].with_user(self.manager).search([("equipment_id", "=", pump.id)])
        self.assertEqual(suggestion.product_id, self.products[1])
        suggestion.action_add_to_parts_list()
        self.assertIn(self.products[1], pump.mro_part_ids.product_id)
        self.assertEqual(self.step("parts")["status"], "done")

        # 6. Rules from templates, one click each, and the auto-approval policy.
        for button in [b for b in self.step("rules")["buttons"] if b["method"] == "action_create_rule"]:
            self.Setup.action_create_rule(*button["args"])
        self.Setup.action_enable_auto_approval(400.0)
        self.assertEqual(self.step("rules")["status"], "done")
        self.assertTrue(self.company.mro_auto_approve)
        change = self.env["mro.policy.change"].sudo().search([("company_id", "=", self.company.id)], limit=1)
        self.assertEqual(change.user_id, self.manager)

        # 7. Lead times from the year of receipts; the vendors with the most variance are listed.
        self.Setup.action_learn_lead_times()
        step = self.step("lead_times")
        self.assertEqual(step["status"], "done")
        learned = self.env["mro.lead.time"].sudo().search([("company_id", "=", self.company.id), ("count", ">", 0)])
        self.assertGreaterEqual(len(learned), 40)
        self.assertTrue(any("variance score" in line for line in step["lines"]))

        checklist = self.Setup.get_checklist()
        self.assertTrue(checklist["ready"], checklist["missing"])

    def test_steps_can_be_skipped_and_only_managers_use_it(self):
        self.Setup.action_skip("lead_times")
        step = self.step("lead_times")
        self.assertTrue(step["skipped"])
        self.assertNotIn(step["missing"] or "-", self.Setup.get_checklist()["missing"])
        self.Setup.action_skip("lead_times")
        self.assertFalse(self.step("lead_times")["skipped"])
        technician = new_test_user(self.env, login="setup-tech", groups="base.group_user", company_id=self.company.id,
                                   company_ids=[Command.set(self.company.ids)])  # fmt: skip
        with self.assertRaises(AccessError):
            self.env["mro.setup"].with_user(technician).get_checklist()

    def test_the_sensor_template_imports_as_it_is(self):
        """An integrator fills the template from a PLC export: every column maps to the sensor's source."""
        templates = self.env["mro.sensor"].get_import_templates()
        self.assertTrue(templates[0]["template"].endswith("/mro_sensor_bridge/static/templates/sensors.csv"))
        self.assertTrue(
            self.env["mro.equipment.part"].get_import_templates()[0]["template"].endswith("spare_parts_lists.csv")
        )
        self.env["mro.sensor.gateway"].create({"code": "LINE1", "name": "Line 1", "company_id": self.company.id})
        for name in ("Process water pump P-102", "Supply fan F-302", "Air compressor C-401"):
            self.env["maintenance.equipment"].create({"name": name, "company_id": self.company.id})
        text = (HERE.parent.parent / "mro_sensor_bridge" / "static" / "templates" / "sensors.csv").read_text()
        fields_ = [
            "code", "name", "equipment_id", "measure_kind", "unit", "gateway_id", "protocol", "source_device",
            "source_address", "modbus_unit_id", "modbus_register_type", "modbus_address_base", "data_type",
            "byte_order", "bit_index", "scale", "value_offset", "mqtt_value_path", "mqtt_ts_path", "poll_interval",
            "deadband", "deadband_mode", "max_silence", "warning_limit", "alarm_limit", "physical_min",
            "physical_max",
        ]  # fmt: skip
        importer = (
            self.env["base_import.import"]
            .with_user(self.manager)
            .create(
                {"res_model": "mro.sensor", "file": text.encode(), "file_type": "text/csv", "file_name": "sensors.csv"}
            )
        )
        header = importer.parse_preview({"quoting": '"', "separator": ",", "has_headers": True})["headers"]
        self.assertEqual(len(header), len(fields_))
        result = importer.execute_import(fields_, header, {"quoting": '"', "separator": ",", "has_headers": True})
        self.assertFalse(result["messages"], result["messages"])
        vib = self.env["mro.sensor"].search([("code", "=", "P102-VIB-DE")])
        self.assertEqual(
            (vib.protocol, vib.source_address, vib.byte_order, vib.gateway_id.code), ("modbus", "100", "ABCD", "LINE1")
        )
        tmp = self.env["mro.sensor"].search([("code", "=", "F302-TMP")])
        self.assertEqual((tmp.protocol, tmp.mqtt_value_path, tmp.mqtt_ts_path), ("mqtt", "value", "ts"))
        opc = self.env["mro.sensor"].search([("code", "=", "C401-VIB")])
        self.assertEqual((opc.protocol, opc.source_address), ("opcua", "ns=2;s=C401-VIB"))
