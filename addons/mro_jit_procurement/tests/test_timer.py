"""The technician's timer and the wrench-time KPI."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestTimer(JitCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tech = new_test_user(cls.env, login="timer-tech", groups="base.group_user", name="Tia Timer")
        cls.tech2 = new_test_user(cls.env, login="timer-tech2", groups="base.group_user", name="Ugo Timer")
        cls.team = cls.env["maintenance.team"].create(
            {"name": "Timers", "member_ids": [Command.set((cls.tech | cls.tech2).ids)]}
        )
        cls.pump.maintenance_team_id = cls.team

    def job(self, start, user=None):
        prediction = self.env["mro.prediction"].create(
            {"equipment_id": self.pump.id, "published_at": start, "rul_days": 9.0}
        )
        with freeze_time(start):
            return self.env["maintenance.request"].create(
                {"name": "Replace bearing", "equipment_id": self.pump.id, "mro_prediction_id": prediction.id,
                 "maintenance_team_id": self.team.id, "user_id": (user or self.tech).id, "schedule_date": start}
            )  # fmt: skip

    def test_start_pause_resume_done(self):
        t0 = datetime(2027, 3, 1, 8, 0)
        self.put_in_stock(self.seal, 1)  # the bearing is missing
        request = self.job(t0)
        job = request.with_user(self.tech)
        self.assertEqual(job.mro_timer_state, "idle")
        with freeze_time(t0):
            job.action_mro_timer_start()
        self.assertEqual(job.mro_timer_state, "running")
        self.assertFalse(request.stage_id.done)
        self.assertNotEqual(request.stage_id, self.env["maintenance.stage"].search([], order="sequence", limit=1))
        with freeze_time(t0 + timedelta(hours=1)):
            job.action_mro_timer_pause_dialog()
            wizard = self.env["mro.timer.pause.wizard"].with_user(self.tech).create({"request_id": request.id})
            wizard.action_pause_parts()
        self.assertEqual((job.mro_timer_state, job.mro_pause_reason), ("paused", "parts"))
        pause = request.mro_interval_ids.filtered(lambda i: i.kind == "pause")
        self.assertEqual(pause.product_id, self.bearing, "the wait is linked to the part not in the kit")
        # A second technician's timer is their own.
        self.assertEqual(request.with_user(self.tech2).mro_timer_state, "idle")
        with freeze_time(t0 + timedelta(hours=4)):
            job.action_mro_timer_resume()
        with freeze_time(t0 + timedelta(hours=5, minutes=30)):
            job.action_mro_timer_pause(reason="travel", note="to the store")
        with freeze_time(t0 + timedelta(hours=6)):
            job.action_mro_timer_resume()
        with freeze_time(t0 + timedelta(hours=6, minutes=30)):
            job.action_mro_timer_done()
        self.assertTrue(request.stage_id.done)
        self.assertEqual(job.mro_timer_state, "done")
        intervals = request.mro_interval_ids.sorted("start")
        self.assertEqual(
            [(i.kind, i.pause_reason or "", i.hours) for i in intervals],
            [("work", "", 1.0), ("pause", "parts", 3.0), ("work", "", 1.5), ("pause", "travel", 0.5),
             ("work", "", 0.5)],
        )  # fmt: skip
        self.assertEqual(set(intervals.user_id), {self.tech})
        self.assertAlmostEqual(request.mro_work_hours, 3.0)
        self.assertAlmostEqual(request.mro_pause_hours, 3.5)
        # Intervals are the buttons' record: nobody edits them.
        with self.assertRaises(AccessError):
            intervals[0].with_user(self.tech).write({"stop": fields.Datetime.now()})
        with self.assertRaises(AccessError):
            self.env["mro.work.interval"].with_user(self.tech).create(
                {"request_id": request.id, "user_id": self.tech.id, "kind": "work", "start": t0}
            )

    def test_wrench_time_per_month_technician_and_team(self):
        """Known intervals: in March, 6 h working and 4 h waiting (3 for parts); in April, 9 h working and 1 h
        waiting. Wrench time 60% then 90%: +30 points against the first month."""
        for start, work, wait, reason in (
            (datetime(2027, 3, 2, 8), 2.0, 3.0, "parts"),
            (datetime(2027, 3, 9, 8), 4.0, 1.0, "permit"),
            (datetime(2027, 4, 6, 8), 9.0, 1.0, "travel"),
        ):
            job = self.job(start).with_user(self.tech)
            with freeze_time(start):
                job.action_mro_timer_start()
            with freeze_time(start + timedelta(hours=work / 2)):
                job.action_mro_timer_pause(reason=reason)
            with freeze_time(start + timedelta(hours=work / 2 + wait)):
                job.action_mro_timer_resume()
            with freeze_time(start + timedelta(hours=work + wait)):
                job.action_mro_timer_done()
        with freeze_time(datetime(2027, 4, 20)):
            self.env["mro.jit.kpi"]._refresh(self.company)
        kpis = {k.month.month: k for k in self.env["mro.jit.kpi"].search([("company_id", "=", self.company.id)])}
        march, april = kpis[3], kpis[4]
        self.assertEqual((march.work_hours, march.wait_hours, march.parts_wait_hours), (6.0, 4.0, 3.0))
        self.assertAlmostEqual(march.wrench_time, 60.0)
        self.assertAlmostEqual(march.wrench_time_change, 0.0)
        self.assertAlmostEqual(april.wrench_time, 90.0)
        self.assertAlmostEqual(april.wrench_time_change, 30.0)
        # Per technician and team: the group's ratio of sums, not the average of ratios.
        Report = self.env["mro.wrench.time.report"].with_user(self.tech)
        [by_user] = Report.read_group([("user_id", "=", self.tech.id)], ["wrench_time"], ["user_id"])
        self.assertAlmostEqual(by_user["wrench_time"], 100.0 * 15.0 / 20.0)
        self.assertAlmostEqual(by_user["work_hours"], 15.0)
        [by_team] = Report.read_group([], ["wrench_time", "parts_wait_hours"], ["team_id"])
        self.assertEqual(by_team["team_id"][0], self.team.id)
        self.assertAlmostEqual(by_team["parts_wait_hours"], 3.0)
