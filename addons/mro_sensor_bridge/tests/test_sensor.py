from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import MroSensorCase


@tagged("post_install", "-at_install")
class TestSensor(MroSensorCase):
    def test_form_on_equipment_sets_unit_from_measure(self):
        with Form(self.env["mro.sensor"].with_context(default_equipment_id=self.equipment.id)) as form:
            form.code = "P1-NDE"
            form.name = "NDE bearing"
            self.assertEqual(form.unit, "mm/s")
            form.measure_kind = "temperature"
            self.assertEqual(form.unit, "°C")
        sensor = form.save()
        self.assertEqual(sensor.company_id, self.equipment.company_id)
        self.assertEqual(self.equipment.mro_sensor_count, 4)  # the archived sensor is not counted
        self.assertIn(sensor, self.equipment.mro_sensor_ids)

    def test_custom_unit_is_kept(self):
        sensor = self.env["mro.sensor"].create(
            {"code": "P1-X", "name": "X", "equipment_id": self.equipment.id, "measure_kind": "custom", "unit": "ppm"}
        )
        self.assertEqual(sensor.unit, "ppm")

    def test_code_unique_per_company_only(self):
        self.env["mro.sensor"].create({"code": "P1-VIB", "name": "twin", "equipment_id": self.equipment2.id})
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env["mro.sensor"].create({"code": "P1-VIB", "name": "dup", "equipment_id": self.equipment.id})

    def test_limits_and_code_checked(self):
        with self.assertRaises(ValidationError):
            self.vib.write({"warning_limit": 9.0, "alarm_limit": 5.0})
        with self.assertRaises(ValidationError):
            self.vib.code = " P1-VIB"

    def test_chart_actions_filter_one_sensor(self):
        self.Reading.ingest([["P1-VIB", self.now(-3600), 1.0], ["P1-TMP", self.now(-3600), 5.0]])
        for method, days in (("action_chart_24h", 1), ("action_chart_7d", 7), ("action_chart_30d", 30)):
            action = getattr(self.vib, method)()
            self.assertEqual(action["res_model"], "mro.sensor.reading.hourly")
            rows = self.Hourly.search(action["domain"])
            self.assertEqual(rows.sensor_id, self.vib, days)
        self.assertEqual(self.vib.reading_count, 1)
        self.assertEqual(self.equipment.action_view_sensors()["domain"], [("equipment_id", "=", self.equipment.id)])

    def test_read_series_raw_and_hourly(self):
        t = float(int(self.now(-7200)))
        self.Reading.ingest([["P1-VIB", t + i * 60, float(i)] for i in range(5)] + [["P1-TMP", t, 9.0]])
        raw = self.vib.read_series(t - 1)
        self.assertEqual(raw["code"], "P1-VIB")
        self.assertEqual(raw["ts"], [t + i * 60 for i in range(5)])
        self.assertEqual(raw["value"], [0.0, 1.0, 2.0, 3.0, 4.0])
        self.assertEqual(self.vib.read_series(t + 60, until=t + 180)["value"], [1.0, 2.0])
        hourly = self.vib.read_series("2000-01-01T00:00:00Z", resolution="hour")
        self.assertEqual(sum(hourly["count"]), 5)
        self.assertEqual(min(hourly["min"]), 0.0)
        self.assertEqual(max(hourly["max"]), 4.0)

    def test_read_series_refuses_bad_input_and_other_companies(self):
        with self.assertRaisesRegex(UserError, "resolution"):
            self.vib.read_series(0, resolution="minute")
        with self.assertRaisesRegex(UserError, "ISO 8601"):
            self.vib.read_series("last week")
        technician = new_test_user(self.env, login="tech4", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.foreign.with_user(technician).read_series(0)
        t = float(int(self.now(-600)))
        self.Reading.ingest([["P1-VIB", t + i, 1.0] for i in range(4)])
        with patch.object(type(self.vib), "_series_max_points", 3), self.assertRaisesRegex(UserError, "more than 3"):
            self.vib.read_series(t)

    def test_read_series_gives_history_only_to_those_who_may_read_readings(self):
        """A bridge user may read its own sensors, but not their readings: read_series() gave them anyway."""
        t = float(int(self.now(-600)))
        self.Reading.ingest([["P1-VIB", t + i, float(i)] for i in range(3)])
        mine = self.vib.with_user(self.bridge_user)
        self.assertEqual(mine.code, "P1-VIB")  # its own sensor: readable
        for resolution in ("raw", "hour"):
            with self.subTest(resolution=resolution), self.assertRaises(AccessError):
                mine.read_series(t - 1, resolution=resolution)
        technician = new_test_user(self.env, login="tech6", groups="base.group_user")
        self.assertEqual(self.vib.with_user(technician).read_series(t - 1)["value"], [0.0, 1.0, 2.0])
