from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestRules(PredictiveCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule = cls.env["mro.prescriptive.rule"].create(
            {
                "name": "Replace bearing",
                "condition": "rul_below",
                "rul_days": 30,
                "criticality": "A",
                "maintenance_team_id": cls.team.id,
                "priority": "3",
                "maintenance_type": "preventive",
                "duration": 3.0,
                "instructions": "<p>Replace the drive-end bearing, check alignment.</p>",
                "cooldown_hours": 48,
            }
        )
        cls.done = cls.env["maintenance.stage"].search([("done", "=", True)], limit=1)

    def requests(self):
        return self.env["maintenance.request"].search([("mro_rule_id", "=", self.rule.id)])

    def test_rule_opens_one_request_with_its_reason(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        request = self.requests()
        self.assertEqual(len(request), 1)
        self.assertEqual(request.equipment_id, self.pump)
        self.assertEqual((request.maintenance_team_id, request.priority), (self.team, "3"))
        self.assertEqual((request.maintenance_type, request.duration), ("preventive", 3.0))
        self.assertIn("Replace the drive-end bearing", request.description)
        self.assertIn("remaining useful life", request.description)
        self.assertTrue(request.mro_prediction_id)
        self.assertLess(request.schedule_date, self.pump.mro_predicted_failure_date)
        # Seen again while the request is open: no second request.
        self.write_history(self.vib, self.degradation(days=1, seed=3, start=2.1))
        self.analyze()
        self.assertEqual(self.requests(), request)

    def test_cool_down_after_the_request_is_done(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        first = self.requests()
        # Nothing was replaced (no defect found), so the condition still holds at the next analyses.
        first.mro_condition_found = "no_defect"
        first.stage_id = self.done
        self.analyze()
        self.assertEqual(self.requests(), first, "within the 48 h cool-down")
        # 49 hours later the cool-down is over and the condition still holds: a new request.
        self.env.cr.execute(
            "UPDATE maintenance_request SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(hours=49), first.id),
        )
        first.invalidate_recordset(["create_date"])
        self.analyze()
        self.assertEqual(len(self.requests()), 2)

    def test_filters_and_other_conditions(self):
        self.pump.mro_criticality = "C"  # the rule is for criticality A only
        self.write_history(self.vib, self.degradation())
        self.analyze()
        self.assertFalse(self.requests())
        anomaly_rule = self.rule.copy({"name": "Anomaly check", "condition": "anomaly", "criticality": False})
        limit_rule = self.rule.copy(
            {"name": "Over warning", "condition": "measure_limit", "limit_level": "warning", "criticality": False}
        )
        state_rule = self.rule.copy({"name": "Warning state", "condition": "health_state", "criticality": False})
        prob_rule = self.rule.copy(
            {"name": "Likely failure", "condition": "probability_above", "probability": 0.5, "criticality": False}
        )
        self.analyze()
        by_rule = {
            rule: self.env["maintenance.request"].search_count([("mro_rule_id", "=", rule.id)])
            for rule in (anomaly_rule, limit_rule, state_rule, prob_rule)
        }
        self.assertEqual(by_rule[state_rule], 1)
        self.assertEqual(by_rule[prob_rule], 1)
        self.assertEqual(by_rule[limit_rule], int(self.vib.limit_state in ("warning", "alarm")))
        self.assertEqual(by_rule[anomaly_rule], int(self.pump.mro_anomaly))

    def test_schedule_is_the_last_working_slot_before_failure_skipping_a_shutdown(self):
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Day shift",
                "tz": "UTC",
                "attendance_ids": [
                    (0, 0, {"name": f"Day {d}", "dayofweek": str(d), "hour_from": 8, "hour_to": 16}) for d in range(5)
                ],
            }
        )
        self.team.mro_resource_calendar_id = calendar
        now = datetime(2026, 3, 2, 9, 0)  # a Monday
        deadline = datetime(2026, 3, 20, 10, 0)  # Friday of the third week, 10:00
        Rule = self.env["mro.prescriptive.rule"]
        slot = Rule._schedule(self.team, self.pump.company_id, deadline, 3.0, now)
        # 10:00 leaves only 2 working hours on Friday: the job starts Thursday 15:00 and ends Friday 10:00.
        self.assertEqual(slot, datetime(2026, 3, 19, 15, 0))
        # A plant shutdown from Wednesday 18 to Friday 20 pulls the work forward to Tuesday 17, 13:00-16:00.
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Plant shutdown",
                "calendar_id": calendar.id,
                "date_from": datetime(2026, 3, 18, 0, 0),
                "date_to": datetime(2026, 3, 20, 23, 59),
            }
        )
        slot = Rule._schedule(self.team, self.pump.company_id, deadline, 3.0, now)
        self.assertEqual(slot, datetime(2026, 3, 17, 13, 0))
        # A deadline already past: the first working slot from now.
        self.assertEqual(Rule._schedule(self.team, self.pump.company_id, now - timedelta(days=1), 3.0, now), now)
        saturday = datetime(2026, 3, 7, 10, 0)
        self.assertEqual(
            Rule._schedule(self.team, self.pump.company_id, saturday - timedelta(days=1), 3.0, saturday),
            datetime(2026, 3, 9, 8, 0),
        )

    def test_notifications_once_per_episode(self):
        """A notifying rule tells people when the condition starts, when it gets worse and when it clears;
        not at every analysis while it lasts, and not again within its cool-down."""
        notify = self.env["mro.prescriptive.rule"].create(
            {
                "name": "Critical health",
                "condition": "health_state",
                "health_state": "warning",
                "create_request": False,
                "notify": True,
                "cooldown_hours": 12,
            }
        )

        def notes():
            return self.pump.message_ids.filtered(lambda m: "Critical health" in (m.body or ""))

        self.write_history(self.vib, self.degradation())
        start = datetime.now()
        for run in range(10):  # every 15 minutes for 2.5 hours, the condition lasting
            with freeze_time(start + timedelta(minutes=15 * run)):
                self.analyze()
        self.assertEqual(len(notes()), 1)
        self.assertNotIn("&lt;", notes().body)
        # It gets worse (critical), 13 hours later: one more.
        with freeze_time(start + timedelta(hours=13)):
            self.pump.sudo().write({"mro_health_state": "critical"})
            self.env["mro.prescriptive.rule"]._run_for(self.pump, rules=notify, now=fields.Datetime.now())
            self.env["mro.prescriptive.rule"]._run_for(self.pump, rules=notify, now=fields.Datetime.now())
        self.assertEqual(len(notes()), 2)
        self.assertIn("worse", notes()[0].body)
        # It clears: one last message for the episode.
        with freeze_time(start + timedelta(hours=14)):
            self.pump.sudo().write({"mro_health_state": "good"})
            for _run in range(3):
                self.env["mro.prescriptive.rule"]._run_for(self.pump, rules=notify, now=fields.Datetime.now())
        self.assertEqual(len(notes()), 3)
        self.assertIn("cleared", notes()[0].body)
        # It flaps back within the cool-down of the last notification: a new episode, but no new message;
        # and it ends unannounced.
        with freeze_time(start + timedelta(hours=15)):
            self.pump.sudo().write({"mro_health_state": "warning"})
            self.env["mro.prescriptive.rule"]._run_for(self.pump, rules=notify, now=fields.Datetime.now())
            self.pump.sudo().write({"mro_health_state": "good"})
            self.env["mro.prescriptive.rule"]._run_for(self.pump, rules=notify, now=fields.Datetime.now())
        self.assertEqual(len(notes()), 3)
        episodes = self.env["mro.rule.episode"].search([("rule_id", "=", notify.id)])
        self.assertEqual(len(episodes), 2)
