"""Who does what: every flow as the role that uses it, and every refusal a role should meet."""

from markupsafe import Markup

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestRoles(PredictiveCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.member_ids = [Command.link(cls.technician.id)]
        cls.manager = new_test_user(cls.env, login="mro-mgr", groups="maintenance.group_equipment_manager")
        cls.outsider = new_test_user(cls.env, login="mro-other", groups="base.group_user", name="Olga Outsider")
        cls.fan = cls.env["maintenance.equipment"].create({"name": "Fan F-9", "mro_criticality": "B"})
        cls.rule = cls.env["mro.prescriptive.rule"].create(
            {"name": "Replace bearing", "condition": "rul_below", "rul_days": 30, "maintenance_type": "preventive"}
        )
        cls.done = cls.env["maintenance.stage"].search([("done", "=", True)], limit=1)

    # ------------------------------------------------------------------ technician
    def test_technician_sees_the_team_equipment_and_analyses_it_whole(self):
        self.write_history(self.vib, self.degradation())
        pump = self.pump.with_user(self.technician)
        self.assertIn(self.pump, self.env["maintenance.equipment"].with_user(self.technician).search([]))
        self.assertNotIn(self.fan, self.env["maintenance.equipment"].with_user(self.technician).search([]))
        pump.action_analyze_health()
        # Not half done: health, its alerts, the ledger row and the rule's request all exist.
        self.assertIn(pump.mro_health_state, ("warning", "critical"))
        alerts = self.env["mro.health.alert"].with_user(self.technician).search([("equipment_id", "=", self.pump.id)])
        self.assertTrue(alerts)
        self.assertEqual(self.env["mro.prediction"].search_count([("equipment_id", "=", self.pump.id)]), 1)
        request = self.env["maintenance.request"].search([("mro_rule_id", "=", self.rule.id)])
        self.assertEqual(request.equipment_id, self.pump)
        # The reasons name the sensor, never a database id.
        self.assertIn("[P7-VIB] Pump vibration", pump.mro_health_reasons)
        self.assertNotIn(f"sensor {self.vib.id}", pump.mro_health_reasons)
        # The technician acknowledges and comments.
        alert = alerts[0].with_user(self.technician)
        alert.action_acknowledge()
        self.assertEqual((alert.state, alert.acknowledged_by_id), ("acknowledged", self.technician))
        alert.message_post(body="Checked on site: bearing noise.", message_type="comment")
        # ... and closes the rule's request on the equipment with an open prediction.
        job = request.with_user(self.technician)
        job.write({"mro_condition_found": "worn", "stage_id": self.done.id})
        prediction = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id)])
        self.assertEqual((prediction.state, prediction.outcome), ("scored", "hit"))

    def test_request_technician_follows_its_equipment(self):
        """A technician outside the team, assigned to a request, can open its equipment and close it."""
        request = self.env["maintenance.request"].create(
            {"name": "Check fan", "equipment_id": self.fan.id, "user_id": self.outsider.id}
        )
        fan = self.fan.with_user(self.outsider)
        self.assertEqual(fan.name, "Fan F-9")
        request.with_user(self.outsider).stage_id = self.done
        self.assertTrue(request.stage_id.done)

    def test_technician_closes_a_corrective_request_with_an_open_prediction(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        request = (
            self.env["maintenance.request"]
            .with_user(self.technician)
            .create({"name": "Pump noisy, stopped", "equipment_id": self.pump.id, "maintenance_type": "corrective"})
        )
        request.write({"stage_id": self.done.id})
        prediction = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id)])
        self.assertEqual(prediction.state, "scored")
        self.assertEqual(prediction.request_id, request)
        self.assertEqual(self.vib.mro_baseline_n, 0)

    def test_technician_refusals(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        pump = self.pump.with_user(self.technician)
        with self.assertRaises(AccessError):
            pump.write({"mro_health_state": "good"})
        with self.assertRaises(AccessError):
            pump.write({"mro_rul_days": 365.0})
        alert = self.env["mro.health.alert"].search([("equipment_id", "=", self.pump.id)], limit=1)
        with self.assertRaises(AccessError):
            alert.with_user(self.technician).write({"equipment_id": self.fan.id})
        with self.assertRaises(AccessError):
            alert.with_user(self.technician).write({"acknowledged_by_id": self.outsider.id})
        with self.assertRaises(AccessError):
            self.env["mro.prediction"].with_user(self.technician).create(
                {"equipment_id": self.pump.id, "published_at": "2026-01-01 00:00:00"}
            )
        prediction = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id)], limit=1)
        with self.assertRaises(AccessError):
            prediction.with_user(self.technician).write({"outcome": "hit"})
        with self.assertRaises(AccessError):
            self.env["maintenance.request"].with_user(self.technician).create(
                {"name": "Forged", "equipment_id": self.pump.id, "mro_prediction_id": prediction.id}
            )
        with self.assertRaises(AccessError):
            self.vib.with_user(self.technician).write({"mro_baseline_median": 9.0})
        # Equipment outside the team and not followed stays out of reach.
        with self.assertRaises(AccessError):
            self.fan.with_user(self.technician).read(["name"])
        with self.assertRaises(AccessError):
            self.fan.with_user(self.technician).action_analyze_health()

    # ------------------------------------------------------------------ maintenance manager
    def test_manager_configures_and_analyses_but_never_forges_a_forecast(self):
        pump = self.pump.with_user(self.manager)
        pump.write({"mro_criticality": "B", "mro_asset_model_id": self.env.ref("mro_predictive.asset_model_pump").id})
        self.env["mro.sensor"].with_user(self.manager).create(
            {
                "code": "P7-TMP",
                "name": "Bearing temperature",
                "equipment_id": self.pump.id,
                "measure_kind": "temperature",
            }
        )
        self.env["mro.prescriptive.rule"].with_user(self.manager).create(
            {"name": "Critical health", "condition": "health_state", "health_state": "critical", "notify": True}
        )
        self.write_history(self.vib, self.degradation())
        pump.action_analyze_health()
        self.assertTrue(pump.mro_last_analysis)
        for values in (
            {"mro_rul_days": 1.0},
            {"mro_predicted_failure_date": "2026-01-01 00:00:00"},
            {"mro_failure_probability": 1},
        ):
            with self.assertRaises(AccessError):
                pump.write(values)
        with self.assertRaises(AccessError):
            self.env["maintenance.equipment"].with_user(self.manager).create({"name": "X", "mro_health_state": "good"})
        with self.assertRaises(AccessError):
            self.env["mro.prediction"].with_user(self.manager).create(
                {"equipment_id": self.pump.id, "published_at": "2026-01-01 00:00:00"}
            )
        # Managers see every alert, and may acknowledge one, but not edit it.
        alert = self.env["mro.health.alert"].with_user(self.manager).search([("equipment_id", "=", self.pump.id)])[:1]
        self.assertTrue(alert)
        with self.assertRaises(AccessError):
            alert.write({"severity": "info"})
        alert.action_close()
        self.assertEqual(alert.state, "closed")

    def test_messages_are_html_not_escaped_text(self):
        self.rule.write({"instructions": "<p>Replace the <b>drive-end</b> bearing.</p>", "notify": True})
        self.write_history(self.vib, self.degradation())
        self.analyze()
        request = self.env["maintenance.request"].search([("mro_rule_id", "=", self.rule.id)])
        self.assertIn("<b>drive-end</b>", request.description)
        self.assertIn("Opened by rule <b>Replace bearing</b>", request.description)
        self.assertNotIn("&lt;", request.description)
        note = self.pump.message_ids.filtered(lambda m: "Replace bearing" in (m.body or ""))
        self.assertEqual(len(note), 1)
        self.assertIsInstance(note.body, Markup)
        self.assertNotIn("&lt;", note.body)
