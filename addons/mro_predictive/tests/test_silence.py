"""Silence is a condition: a silent sensor or gateway raises a data-quality alert, once per episode, and the
equipment's health is marked stale instead of being shown as current."""

import time
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestSilence(PredictiveCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bridge_user = new_test_user(cls.env, login="silence-gw", groups="mro_sensor_bridge.group_sensor_gateway")
        cls.gateway = cls.env["mro.sensor.gateway"].create(
            {"code": "SIL-GW", "name": "Silent line", "user_id": cls.bridge_user.id}
        )
        cls.vib.gateway_id = cls.gateway
        cls.temp = cls.env["mro.sensor"].create(
            {
                "code": "P7-TMP",
                "name": "Bearing temperature",
                "equipment_id": cls.pump.id,
                "gateway_id": cls.gateway.id,
                "measure_kind": "temperature",
                "alarm_limit": 90.0,
            }
        )
        cls.Alert = cls.env["mro.health.alert"]

    def set_gateway_seen(self, moment):
        self.env.cr.execute("UPDATE mro_sensor_gateway SET last_seen = %s WHERE id = %s", (moment, self.gateway.id))
        self.gateway.invalidate_recordset(["last_seen"])

    def silence_alerts(self, **domain):
        base = [("kind", "=", "data_quality")] + [(k, "=", v) for k, v in domain.items()]
        return self.Alert.search(base)

    def test_default_silence_limit(self):
        self.assertEqual(self.vib.mro_silence_limit, 3600)  # 1 s polls, 60 s heartbeat: at least one hour
        self.vib.write({"poll_interval": 1800.0})
        self.assertEqual(self.vib.mro_silence_limit, 5400)  # three poll periods
        self.vib.mro_silence_minutes = 20
        self.assertEqual(self.vib.mro_silence_limit, 1200)

    def test_a_silent_sensor_raises_one_alert_and_marks_the_health_stale(self):
        end = time.time() - 60
        self.write_history(self.vib, self.degradation(), end=end)
        self.write_history(self.temp, self.healthy(level=60.0), end=end)
        self.set_gateway_seen(fields.Datetime.now())
        self.Analysis._cron_analyze()
        self.pump.invalidate_recordset()
        self.assertTrue(self.pump.mro_predicted_failure_date)
        self.assertFalse(self.pump.mro_health_stale)
        last = self.vib.last_ts
        # The vibration sensor dies; the temperature keeps coming and so does the gateway. Three hours later:
        later = datetime.now() + timedelta(hours=3)
        with freeze_time(later):
            self.write_history(self.temp, self.healthy(days=1, level=60.0, seed=4), end=time.time() - 60)
            self.set_gateway_seen(fields.Datetime.now())
            self.Analysis._cron_analyze()
            self.pump.invalidate_recordset()
            self.assertTrue(self.vib.mro_silent)
            self.assertFalse(self.temp.mro_silent)
            self.assertTrue(self.pump.mro_health_stale)
            self.assertEqual(self.pump.mro_data_until, self.temp.last_ts)
            alert = self.silence_alerts(sensor_id=self.vib.id, state="open")
            self.assertEqual(len(alert), 1)
            self.assertEqual(alert.severity, "warning")
            self.assertIn("[P7-VIB] Pump vibration: no reading since", alert.message)
            self.assertIn(fields.Datetime.to_string(last), alert.message)
            # The cron picks the equipment up once for the silence, not at every run.
            self.assertNotIn(self.pump.id, self.Analysis._candidates(100))
            self.Analysis._cron_analyze()
            self.assertEqual(len(self.silence_alerts(sensor_id=self.vib.id)), 1, "one alert per episode")
        # The sensor comes back: the episode closes and the health is current again.
        with freeze_time(later + timedelta(hours=1)):
            self.write_history(self.vib, self.degradation(days=1, seed=7, start=2.0), end=time.time() - 60)
            self.write_history(self.temp, self.healthy(days=1, level=60.0, seed=5), end=time.time() - 60)
            self.set_gateway_seen(fields.Datetime.now())
            self.Analysis._cron_analyze()
            self.pump.invalidate_recordset()
            self.assertFalse(self.vib.mro_silent)
            self.assertFalse(self.pump.mro_health_stale)
            self.assertEqual(self.silence_alerts(sensor_id=self.vib.id).state, "closed")

    def test_a_silent_gateway_raises_one_alert_for_its_sensors(self):
        end = time.time() - 60
        self.write_history(self.vib, self.degradation(), end=end)
        self.write_history(self.temp, self.healthy(level=60.0), end=end)
        self.set_gateway_seen(fields.Datetime.now())
        self.Analysis._cron_analyze()
        # The bridge goes down: nothing comes for 45 minutes (the gateway limit is 30).
        with freeze_time(datetime.now() + timedelta(minutes=45)):
            self.Analysis._cron_analyze()
            self.pump.invalidate_recordset()
            gateway_alert = self.silence_alerts(gateway_id=self.gateway.id)
            self.assertEqual(len(gateway_alert), 1)
            self.assertFalse(gateway_alert.equipment_id)
            self.assertIn("Silent line", gateway_alert.name)
            self.assertTrue(self.pump.mro_health_stale)
            # One alert for the cause, not one per sensor.
            self.assertFalse(self.silence_alerts(equipment_id=self.pump.id, state="open").filtered("sensor_id"))
            self.Analysis._cron_analyze()
            self.assertEqual(len(self.silence_alerts(gateway_id=self.gateway.id)), 1)
            # The technician of the equipment sees the gateway's alert.
            self.assertIn(gateway_alert, self.Alert.with_user(self.technician).search([]))
        # The bridge is back with its backlog: the alert closes.
        with freeze_time(datetime.now() + timedelta(minutes=50)):
            self.write_history(self.vib, self.degradation(days=1, seed=8, start=2.0), end=time.time() - 60)
            self.set_gateway_seen(fields.Datetime.now())
            self.Analysis._cron_analyze()
            self.assertEqual(gateway_alert.state, "closed")
            self.pump.invalidate_recordset()
            self.assertFalse(self.pump.mro_health_stale)
