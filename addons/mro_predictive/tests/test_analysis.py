import time
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import numpy as np
from freezegun import freeze_time

from odoo import Command, fields
from odoo.addons.mro_predictive.models import mro_health_analysis, mro_health_assessment, mro_health_publication
from odoo.addons.queue_job.job import Job as QueueJob
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PredictiveCase


def day(epoch):
    return datetime.fromtimestamp(epoch, tz=timezone.utc).date()


@tagged("post_install", "-at_install")
class TestAnalysis(PredictiveCase):
    def test_degrading_pump_gets_a_forecast(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        pump = self.pump
        self.assertTrue(pump.mro_last_analysis)
        self.assertFalse(pump.mro_analysis_error)
        self.assertEqual(pump.mro_limiting_sensor_id, self.vib)
        self.assertTrue(pump.mro_predicted_failure_date, pump.mro_prediction_reason)
        # Truth: the threshold is crossed ~12.5 days after the last point.
        self.assertTrue(5 < pump.mro_rul_days < 25, pump.mro_rul_days)
        self.assertTrue(pump.mro_rul_lower_days <= pump.mro_rul_days <= pump.mro_rul_upper_days)
        self.assertIn(pump.mro_prediction_model, ("exponential", "linear"))
        self.assertTrue(pump.mro_prediction_reason)
        self.assertEqual(pump.mro_rul_confidence, 0.8)
        self.assertEqual(len(pump.mro_rul_quantiles), 99)
        self.assertGreater(pump.mro_failure_probability, 0.5)  # within the 30-day horizon
        self.assertIn(pump.mro_health_state, ("warning", "critical"))
        self.assertLess(pump.mro_health_score, 70)
        self.assertTrue(self.vib.mro_baseline_n)
        learned_at = self.vib.mro_baseline_learned_at
        self.assertTrue(learned_at)
        # Kept, not relearned, by the next analysis: the stored baseline is used.
        self.write_history(self.vib, [2.1])
        self.analyze()
        self.assertEqual(self.vib.mro_baseline_learned_at, learned_at)
        chart = pump.mro_health_trend()
        self.assertTrue(chart["history"])
        self.assertEqual(chart["alarm"], 4.5)
        self.assertLess(chart["forecast"]["lower"], chart["forecast"]["upper"])

    def test_healthy_pump_has_no_date(self):
        self.write_history(self.vib, self.healthy())
        self.analyze()
        self.assertEqual(self.pump.mro_health_state, "good")
        self.assertFalse(self.pump.mro_predicted_failure_date)
        self.assertFalse(self.pump.mro_anomaly)
        self.assertTrue(self.pump.mro_prediction_reason)  # why there is no prediction

    def test_cron_queues_batches_as_jobs_once(self):
        """The cron queues the equipment to analyse in jobs of ``_batch_size`` on the analysis channel, never
        the same equipment twice while it waits; each job analyses its batch; then only equipment with new
        readings is queued again."""
        fleet = self.env["maintenance.equipment"]
        for i in range(4):
            equipment = self.env["maintenance.equipment"].create({"name": f"Fan F-{i}"})
            sensor = self.env["mro.sensor"].create(
                {"code": f"F{i}-VIB", "name": "vib", "equipment_id": equipment.id, "alarm_limit": 7.1}
            )
            self.write_history(sensor, self.healthy(days=3, seed=i))
            fleet |= equipment
        self.write_history(self.vib, self.healthy(days=3))
        fleet |= self.pump
        pending = self.Analysis._candidates()
        self.assertTrue(set(fleet.ids) <= set(pending))
        Job = self.env["queue.job"]
        cron = self.env["mro.health.analysis"]  # as the scheduler calls it: the jobs are stored, not run
        with patch.object(type(self.Analysis), "_batch_size", 2):
            self.assertEqual(cron._cron_analyze(), len(pending))
        jobs = Job.search([("method_name", "=", "_job_analyze")])
        self.assertEqual(len(jobs), (len(pending) + 1) // 2)
        self.assertEqual(set(jobs.mapped("channel")), {"root.mro_analysis"})
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        self.assertEqual(sorted(i for job in jobs for i in job.args[0]), sorted(pending))
        # Waiting in a job: not queued again by the next run, and nothing analysed yet.
        self.assertEqual(self.Analysis._candidates(), [])
        self.assertEqual(cron._cron_analyze(), 0)
        self.assertFalse(self.pump.mro_last_analysis)
        for job in jobs:
            result = QueueJob.load(self.env, job.uuid).perform()
            self.assertIn("analysed", result)
        self.env.invalidate_all()
        self.assertTrue(all(fleet.mapped("mro_last_analysis")))
        self.assertFalse(any(fleet.mapped("mro_analysis_queued")))
        self.assertEqual(self.Analysis._candidates(), [])
        # New readings for one equipment only: only it is queued again.
        self.write_history(self.vib, [1.3])
        self.assertEqual(self.Analysis._candidates(), [self.pump.id])
        self.assertEqual(cron._cron_analyze(), 1)
        self.assertEqual(Job.search_count([("method_name", "=", "_job_analyze")]), len(jobs) + 1)

    def test_a_lost_job_frees_its_equipment(self):
        """A job cancelled in the Jobs menu (or lost with its server) does not hold its equipment forever: after
        an hour the equipment is queued again."""
        self.write_history(self.vib, self.healthy(days=2))
        cron = self.env["mro.health.analysis"]
        self.assertIn(self.pump.id, self.Analysis._candidates())
        self.assertTrue(cron._cron_analyze())
        self.assertNotIn(self.pump.id, self.Analysis._candidates())
        self.assertEqual(cron._cron_analyze(), 0)
        with freeze_time(fields.Datetime.now() + mro_health_analysis.QUEUED_TTL + timedelta(minutes=1)):
            self.assertIn(self.pump.id, self.Analysis._candidates())

    def test_one_failing_equipment_is_skipped_and_logged(self):
        other = self.env["maintenance.equipment"].create({"name": "Gearbox G-1"})
        sensor = self.env["mro.sensor"].create({"code": "G1-VIB", "name": "vib", "equipment_id": other.id})
        self.write_history(sensor, self.healthy(days=2))
        self.write_history(self.vib, self.healthy(days=2))
        real = mro_health_assessment.assess_equipment

        def flaky(inputs, **kwargs):
            if inputs[0].key == self.vib.id:
                raise ValueError("corrupt history")
            return real(inputs, **kwargs)

        with (
            patch.object(mro_health_assessment, "assess_equipment", flaky),
            mute_logger(mro_health_analysis.__name__),
        ):
            self.Analysis._analyze(self.pump | other)
        self.assertEqual(self.pump.mro_analysis_error, "corrupt history")
        self.assertFalse(other.mro_analysis_error)
        self.assertEqual(other.mro_health_state, "good")
        # Not retried until new readings arrive, so one bad equipment cannot stall the cron.
        self.assertNotIn(self.pump.id, self.Analysis._candidates(limit=100))

    def test_one_bad_ledger_row_does_not_lose_the_batch(self):
        """Alerts and predictions of a batch are created in bulk; when that fails, one at a time, so
        only the bad row is lost (and logged)."""
        other = self.env["maintenance.equipment"].create({"name": "Gearbox G-2"})
        sensor = self.env["mro.sensor"].create(
            {"code": "G2-VIB", "name": "vib", "equipment_id": other.id, "warning_limit": 2.8, "alarm_limit": 4.5}
        )
        self.write_history(sensor, self.degradation(seed=3))
        self.write_history(self.vib, self.degradation(seed=4))
        Prediction = self.env.registry["mro.prediction"]
        real = Prediction.create

        def refuse_pump(records, vals_list):
            rows = vals_list if isinstance(vals_list, list) else [vals_list]
            if any(v["equipment_id"] == self.pump.id for v in rows):
                raise ValueError("ledger refused this row")
            return real(records, vals_list)

        with patch.object(Prediction, "create", refuse_pump), mute_logger(mro_health_publication.__name__):
            self.analyze(self.pump | other)
        ledger = self.env["mro.prediction"].search([("equipment_id", "in", (self.pump | other).ids)])
        self.assertEqual(ledger.equipment_id, other)
        alerts = self.env["mro.health.alert"].search([("equipment_id", "in", (self.pump | other).ids)])
        self.assertEqual(alerts.equipment_id, self.pump | other)  # the pump's alerts survived
        self.assertTrue(self.pump.mro_predicted_failure_date)  # the analysis itself was stored
        self.assertIn("ledger refused this row", self.pump.mro_analysis_error)  # and the failure shows on the pump
        self.assertFalse(other.mro_analysis_error)

    def test_sensorless_equipment_gets_a_weibull_probability(self):
        category = self.env["maintenance.equipment.category"].create({"name": "Valves"})
        stage_done = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        valves = self.env["maintenance.equipment"].create(
            [{"name": f"Valve V-{i}", "category_id": category.id, "effective_date": "2024-01-01"} for i in range(4)]
        )
        failures = {0: ["2024-03-01", "2024-06-01"], 1: ["2024-04-15"], 2: ["2024-02-20", "2024-05-30"], 3: []}
        for index, dates in failures.items():
            for day in dates:
                self.env["maintenance.request"].create(
                    {
                        "name": "Valve stuck",
                        "equipment_id": valves[index].id,
                        "maintenance_type": "corrective",
                        "request_date": day,
                        "close_date": day,
                        "stage_id": stage_done.id,
                    }
                )
        self.analyze(valves)
        valve = valves[3]
        self.assertEqual(valve.mro_prediction_model, "weibull", valve.mro_prediction_reason)
        self.assertGreater(valve.mro_failure_probability, 0.0)
        self.assertLessEqual(valve.mro_failure_probability, 1.0)
        self.assertFalse(valve.mro_health_state)  # no sensors: no condition to judge

    def test_fleet_model_learned_from_past_failures(self):
        model = self.env["mro.asset.model"].create(
            {
                "name": "Test pumps",
                "machine_kind": "pump",
                "measure_ids": [
                    Command.create({"name": "Vibration", "code_suffix": "VIB", "measure_kind": "vibration_velocity"}),
                    Command.create(
                        {
                            "name": "Temperature",
                            "code_suffix": "TMP",
                            "measure_kind": "temperature",
                            "use_iso_zones": False,
                            "warning_limit": 70,
                            "alarm_limit": 85,
                        }
                    ),
                ],
            }
        )
        done = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        rng = np.random.default_rng(11)
        now = time.time()

        def run(equipment, days, end):
            """``days`` of hourly history ending at ``end``, damage growing to 1 at the failure."""
            t = np.arange(int(days * 24)) / 24.0
            damage = np.exp(3.0 * (t - t[-1]) / days) if end < now - 3600 else np.exp(3.0 * (t - 30.0) / 30.0)
            vib = equipment.mro_sensor_ids.filtered(lambda s: s.measure_kind == "vibration_velocity")
            tmp = equipment.mro_sensor_ids.filtered(lambda s: s.measure_kind == "temperature")
            self.write_history(vib, 1.0 + 3.5 * damage + rng.normal(0, 0.05, t.size), end=end)
            self.write_history(tmp, 50.0 + 30.0 * damage + rng.normal(0, 0.5, t.size), end=end)

        for i in range(6):
            life = 25 + 2 * i
            failure = now - (i + 2) * 86400
            equipment = self.env["maintenance.equipment"].create(
                {
                    "name": f"Fleet pump {i}",
                    "serial_no": f"FP{i}",
                    "effective_date": day(failure - life * 86400),
                }
            )
            model._apply_to(equipment)
            run(equipment, life, failure - 13 * 3600)
            self.env["maintenance.request"].create(
                {
                    "name": "Seized",
                    "equipment_id": equipment.id,
                    "maintenance_type": "corrective",
                    "request_date": day(failure),
                    "stage_id": done.id,
                }
            )
        model.action_fit_fleet_model()
        self.assertEqual(model.fleet_histories, 6, model.fleet_note)
        self.assertTrue(model.fleet_model)
        # A pump of the same model, 20 days into a similar run: the fleet model forecasts it.
        young = self.env["maintenance.equipment"].create(
            {
                "name": "Fleet pump new",
                "serial_no": "FPN",
                "effective_date": day(now - 20 * 86400),
            }
        )
        model._apply_to(young)
        run(young, 19.5, now - 600)
        self.analyze(young)
        self.assertEqual(young.mro_prediction_model, "fleet", young.mro_prediction_reason)
        self.assertTrue(young.mro_rul_lower_days <= young.mro_rul_days <= young.mro_rul_upper_days)

    def test_an_anomaly_leans_on_the_failure_history_of_its_asset_model(self):
        """Past failures of an asset model teach how long its machines last once wear shows; a machine of
        that model whose vibration starts to rise is forecast from its own wear pooled with that history."""
        model = self.env["mro.asset.model"].create(
            {
                "name": "Test fans",
                "machine_kind": "fan",
                "measure_ids": [
                    Command.create(
                        {
                            "name": "Vibration",
                            "code_suffix": "VIB",
                            "measure_kind": "vibration_velocity",
                            "use_iso_zones": False,
                            "warning_limit": 2.8,
                            "alarm_limit": 4.5,
                        }
                    )
                ],
            }
        )
        done = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        rng = np.random.default_rng(12)
        now = time.time()

        def fan(name, start):
            equipment = self.env["maintenance.equipment"].create(
                {"name": name, "serial_no": name.replace(" ", ""), "effective_date": day(start)}
            )
            model._apply_to(equipment)
            return equipment, equipment.mro_sensor_ids

        def wear(days, worn):
            """Hourly vibration: healthy at 1.2 mm/s, then rising for the last ``worn`` days toward 4.6."""
            t = np.arange(int(days * 24)) / 24.0
            rise = np.clip((t - (days - worn)) / worn, 0.0, None)
            return 1.2 + 3.4 * rise**2 + rng.normal(0, 0.05, t.size)

        for i, worn in enumerate((2.0, 3.0, 4.0, 5.0)):
            failure = now - (i + 2) * 86400
            equipment, sensor = fan(f"Fan F-{i}", failure - 30 * 86400)
            self.write_history(sensor, wear(25, worn), end=failure - 13 * 3600)
            self.env["maintenance.request"].create(
                {
                    "name": "Bearing seized",
                    "equipment_id": equipment.id,
                    "maintenance_type": "corrective",
                    "request_date": day(failure),
                    "stage_id": done.id,
                }
            )
        model.action_fit_fleet_model()
        self.assertEqual(model.onset_prior_failures, 4, model.onset_prior)
        self.assertTrue(1.5 < model.onset_prior_median < 5.5, model.onset_prior)
        self.assertFalse(model.fleet_model)  # five histories make a fleet model; four make a failure history
        # A fan of that model, its vibration rising for a day and a half; and the same data without a model.
        values = wear(21.5, 3.5)[: 20 * 24 + 12]
        young, sensor = fan("Fan F-new", now - 22 * 86400)
        self.write_history(sensor, values, end=now - 600)
        alone = self.env["maintenance.equipment"].create({"name": "Fan without model", "serial_no": "FWM"})
        lone_sensor = self.env["mro.sensor"].create(
            {"code": "FWM-VIB", "name": "Vibration", "equipment_id": alone.id, "warning_limit": 2.8, "alarm_limit": 4.5}
        )
        self.write_history(lone_sensor, values, end=now - 600)
        self.analyze(young | alone)
        self.assertTrue(young.mro_anomaly and alone.mro_anomaly)
        self.assertEqual(young.mro_prediction_model, "exponential+history", young.mro_prediction_reason)
        self.assertIn("past failures", young.mro_prediction_reason)
        self.assertEqual(alone.mro_prediction_model, "exponential", alone.mro_prediction_reason)
        self.assertTrue(young.mro_rul_lower_days <= young.mro_rul_days <= young.mro_rul_upper_days)
