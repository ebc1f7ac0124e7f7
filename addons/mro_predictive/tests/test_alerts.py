from odoo.tests import tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestAlerts(PredictiveCase):
    def alerts(self, **domain):
        return self.env["mro.health.alert"].search(
            [("equipment_id", "=", self.pump.id)] + [(k, "=", v) for k, v in domain.items()]
        )

    def test_one_alert_per_episode(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        health = self.alerts(kind="health")
        self.assertEqual(len(health), 1)
        self.assertEqual(health.state, "open")
        activity = health.activity_ids
        self.assertEqual(activity.user_id, self.technician)  # the responsible technician is told
        # The same condition seen again: still one alert, kept up to date.
        self.write_history(self.vib, self.degradation(days=1, seed=5, start=2.0))
        self.analyze()
        self.assertEqual(self.alerts(kind="health"), health)
        # The condition clears (after a repair the signal is back to normal): the episode closes.
        self.pump.mro_baseline_since = self.pump.mro_last_analysis
        self.write_history(self.vib, self.healthy(days=2, seed=9))
        self.env["mro.sensor"].browse(self.vib.id).write({"mro_baseline_n": 0})
        self.Analysis._analyze(self.pump)
        self.assertEqual(health.state, "closed")
        self.assertEqual(health.close_reason, "Condition cleared")
        self.assertFalse(health.activity_ids)

    def test_users_acknowledge_and_close(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        alert = self.alerts(kind="health")
        alert.with_user(self.technician).action_acknowledge()
        self.assertEqual((alert.state, alert.acknowledged_by_id), ("acknowledged", self.technician))
        alert.with_user(self.technician).action_close()
        self.assertEqual(alert.state, "closed")
        self.assertIn("Tess Technician", alert.close_reason)
        # The condition persists: the next analysis opens a new episode.
        self.write_history(self.vib, self.degradation(days=1, seed=6, start=2.0))
        self.analyze()
        self.assertEqual(len(self.alerts(kind="health", state="open")), 1)
        self.assertEqual(len(self.alerts(kind="health")), 2)

    def test_data_quality_is_not_a_machine_alert(self):
        self.write_history(self.vib, [1.234567] * 72)  # a flat-lined (stuck) sensor
        self.analyze()
        quality = self.alerts(kind="data_quality")
        self.assertEqual(len(quality), 1)
        self.assertEqual(quality.sensor_id, self.vib)
        self.assertEqual(quality.severity, "info")
        self.assertIn("stuck", self.vib.mro_data_quality)
        self.assertFalse(self.alerts(kind="anomaly"))
        self.assertFalse(self.pump.mro_anomaly)
