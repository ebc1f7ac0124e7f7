from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .common import MroSensorCase


@tagged("post_install", "-at_install")
class TestRetention(MroSensorCase):
    def _old(self, days, value=1.0, sensor=None):
        """Store a reading ``days`` old, bypassing ingest's retention check (as history imports would)."""
        epoch_us = round((self.now() - days * 86400) * 1_000_000)
        self.Reading._insert_readings([(sensor or self.vib).id], [epoch_us], [value])

    def test_purge_keeps_aggregates_and_recent_raw(self):
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "30")
        for days in (45, 40, 31, 10, 1):
            self._old(days, value=days)
        # A raw row whose hour has no aggregate (e.g. written by hand) must not be purged.
        self.env.cr.execute(
            SQL(
                "INSERT INTO mro_sensor_reading (sensor_id, ts, value) VALUES (%s, %s, 0)",
                self.temp.id,
                fields.Datetime.now() - timedelta(days=50),
            )
        )
        hourly_before = self.Hourly.search_count([])
        # The row-wise path, that of the partly expired month: a month expired whole goes at once instead, its
        # readings without aggregate rolled up first (TestPartitions); which path these take depends on the date.
        with patch.object(type(self.Reading), "_drop_expired_partitions", return_value=[]):
            deleted = self.Reading._cron_purge_old_readings()
        self.assertEqual(deleted, 3)
        self.assertEqual(sorted(self.Reading.search([("sensor_id", "=", self.vib.id)]).mapped("value")), [1.0, 10.0])
        self.assertEqual(self.count_readings(self.temp), 1)
        self.assertEqual(self.Hourly.search_count([]), hourly_before)
        self.assertEqual(sum(self.Hourly.search([("sensor_id", "=", self.vib.id)]).mapped("value_count")), 5)

    def test_purge_works_in_bounded_chunks(self):
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "30")
        for i in range(7):
            self._old(40 + i)
        Reading = type(self.Reading)
        original = Reading._retention_chunk
        Reading._retention_chunk = 3
        # The row-wise path (the partly expired month's): whole expired months are dropped at once instead
        # (TestPartitions), which these readings' month is or not depending on today's date.
        try:
            with patch.object(Reading, "_drop_expired_partitions", return_value=[]):
                self.assertEqual(self.Reading._cron_purge_old_readings(), 3)
                self.assertEqual(self.Reading._cron_purge_old_readings(), 3)
                self.assertEqual(self.Reading._cron_purge_old_readings(), 1)
                self.assertEqual(self.Reading._cron_purge_old_readings(), 0)
        finally:
            Reading._retention_chunk = original

    def test_zero_retention_keeps_everything(self):
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "0")
        self._old(4000)
        self.assertEqual(self.Reading._cron_purge_old_readings(), 0)
        self.assertEqual(self.count_readings(self.vib), 1)
        # With no retention, ingest takes old history back to 1990.
        self.assertEqual(self.Reading.ingest([["P1-VIB", "1995-06-01T00:00:00Z", 1.0]])["accepted"], 1)

    def test_ingest_refuses_readings_older_than_retention(self):
        """Keeps aggregates exact: a replay of a purged reading cannot be counted twice."""
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "30")
        result = self.Reading.ingest(
            [["P1-VIB", self.now() - 31 * 86400, 1.0], ["P1-VIB", self.now() - 29 * 86400, 1.0]]
        )
        self.assertEqual(result["accepted"], 1)
        self.assertIn("older than the raw-data retention of 30 days", result["rejected"][0]["reason"])

    def test_settings_expose_retention(self):
        settings = self.env["res.config.settings"].create({"mro_sensor_retention_days": 14})
        settings.execute()
        self.assertEqual(self.Reading._retention_days(), 14)

    def test_cron_is_declared(self):
        cron = self.env.ref("mro_sensor_bridge.ir_cron_purge_old_readings")
        self.assertTrue(cron.active)
        self.assertEqual(cron.model_id.model, "mro.sensor.reading")
