import base64
import math
import random
import struct
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from odoo import sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..models import mro_sensor_reading as reading_model
from .common import MroSensorCase


def utc(epoch):
    return datetime.fromtimestamp(epoch, tz=timezone.utc).replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestIngest(MroSensorCase):
    def test_accepts_epoch_and_iso_timestamps(self):
        t = self.now(-60)
        iso = datetime.fromtimestamp(t - 1, tz=timezone(timedelta(hours=2))).isoformat()
        z = datetime.fromtimestamp(t - 2, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        result = self.Reading.ingest([["P1-VIB", t, 2.5], ["P1-VIB", iso, 2.0], ["P1-VIB", z, 1]])
        self.assertEqual(result, {"accepted": 3, "duplicates": 0, "rejected": []})
        rows = self.Reading.search([("sensor_id", "=", self.vib.id)], order="ts")
        self.assertEqual(rows.mapped("value"), [1.0, 2.0, 2.5])
        # The offset is honoured: +02:00 text lands on the same UTC instant as the epoch.
        self.assertEqual(rows[1].ts, utc(t - 1))
        self.assertEqual(rows[2].ts, utc(t))

    def test_iso_time_without_offset_is_utc(self):
        """The suite's one timestamp rule (the bridge's too): ISO text without an offset is UTC."""
        t = int(self.now(-60))
        naive = datetime.fromtimestamp(t, tz=timezone.utc).replace(tzinfo=None).isoformat()
        result = self.Reading.ingest([["P1-VIB", naive, 4.5]])
        self.assertEqual(result, {"accepted": 1, "duplicates": 0, "rejected": []})
        row = self.Reading.search([("sensor_id", "=", self.vib.id)])
        self.assertEqual(row.ts, utc(t))

    def test_same_batch_twice_stores_nothing_new(self):
        t = self.now(-120)
        batch = [["P1-VIB", t + i, float(i)] for i in range(50)] + [["P1-TMP", t, 40.0]]
        first = self.Reading.ingest(batch)
        hourly_before = self.Hourly.search_read([("sensor_id", "=", self.vib.id)], ["value_count", "value_sum"])
        second = self.Reading.ingest(batch)
        self.assertEqual(first, {"accepted": 51, "duplicates": 0, "rejected": []})
        self.assertEqual(second, {"accepted": 0, "duplicates": 51, "rejected": []})
        self.assertEqual(self.count_readings(self.vib), 50)
        hourly_after = self.Hourly.search_read([("sensor_id", "=", self.vib.id)], ["value_count", "value_sum"])
        self.assertEqual(hourly_before, hourly_after)
        self.assertEqual(sum(h["value_count"] for h in hourly_after), 50)

    def test_duplicates_inside_one_batch(self):
        t = self.now(-30)
        result = self.Reading.ingest([["P1-VIB", t, 1.0], ["P1-VIB", t, 1.0], ["P1-VIB", t + 1, 2.0]])
        self.assertEqual(result["accepted"], 2)
        self.assertEqual(result["duplicates"], 1)

    def test_concurrent_writer_falls_back_to_the_safe_path(self):
        """A row stored by another batch after this one read the sensor's last time."""
        t = self.now(-60)
        self.Reading.ingest([["P1-VIB", t, 1.0]])
        # Another transaction stored t+5 and has not moved the sensor's last time yet.
        self.env.cr.execute(
            "INSERT INTO mro_sensor_reading (sensor_id, ts, value) VALUES (%s, %s, 7.0)", (self.vib.id, utc(t + 5))
        )
        result = self.Reading.ingest([["P1-VIB", t + 5, 2.0], ["P1-VIB", t + 6, 3.0]])
        self.assertEqual((result["accepted"], result["duplicates"]), (1, 1))
        values = self.Reading.search([("sensor_id", "=", self.vib.id)], order="ts").mapped("value")
        self.assertEqual(values, [1.0, 7.0, 3.0])

    def test_a_sensor_row_held_by_another_transaction_does_not_stall_ingest(self):
        """The health analysis holds its sensors' rows while it writes their results: ingest stores the
        readings without waiting, leaves that sensor's last value for later, and the hourly cron catches up."""
        held = self.env.ref("mro_sensor_bridge.demo_sensor_p101_vib")  # committed rows, seen by another cursor
        free = self.env.ref("mro_sensor_bridge.demo_sensor_p101_temp")
        before = held.last_ts
        t = self.now(-30)
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT id FROM mro_sensor WHERE id = %s FOR NO KEY UPDATE", [held.id])
            # Waiting for that lock would wait forever (the holder is this very test): a timeout makes it fail.
            self.env.cr.execute("SET LOCAL statement_timeout = '10s'")
            result = self.Reading.ingest([[held.code, t, 3.25], [free.code, t, 41.5]])
            self.env.cr.execute("SET LOCAL statement_timeout = 0")
        finally:
            other.rollback()
            other.close()
        self.assertEqual(result, {"accepted": 2, "duplicates": 0, "rejected": []})
        stored = self.Reading.search([("sensor_id", "=", held.id), ("ts", "=", utc(t))])
        self.assertEqual(stored.mapped("value"), [3.25])
        self.assertEqual((free.last_value, free.last_ts), (41.5, utc(t)))
        self.assertEqual(held.last_ts, before)  # skipped, not failed
        self.Reading._cron_purge_old_readings()
        held.invalidate_recordset()
        self.assertEqual((held.last_value, held.last_ts), (3.25, utc(t)))

    def test_sensor_rows_leave_room_for_their_last_values(self):
        """Every ingest call rewrites the last value of each of its sensors: the sensor table's pages are kept
        half empty so that the new version of a row fits beside the old one (a HOT update: no new entry in the
        table's six indexes, and the old version pruned without a vacuum)."""
        self.env.cr.execute("SELECT reloptions FROM pg_class WHERE relname = 'mro_sensor'")
        self.assertIn("fillfactor=50", self.env.cr.fetchone()[0] or [])

    def test_a_gateway_row_held_by_another_call_does_not_stall_ingest(self):
        """A bridge sends several calls at once: one holding its gateway's row (setting its last-seen time)
        neither stalls nor fails the others; a later call sets it, at most every GATEWAY_SEEN_EVERY seconds."""
        gateway = self.env.ref("mro_sensor_bridge.demo_gateway_line1")  # a committed row, seen by another cursor
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT id FROM mro_sensor_gateway WHERE id = %s FOR NO KEY UPDATE", [gateway.id])
            # Waiting for that lock would wait forever (the holder is this very test): a timeout makes it fail.
            self.env.cr.execute("SET LOCAL statement_timeout = '10s'")
            self.assertFalse(self.Reading._touch_gateway(gateway))  # skipped, not waited for
            self.env.cr.execute("SET LOCAL statement_timeout = 0")
        finally:
            other.rollback()
            other.close()
        gateway.last_seen = "2020-01-01 00:00:00"
        self.env.flush_all()
        self.assertTrue(self.Reading._touch_gateway(gateway))
        self.assertGreater(gateway.last_seen, utc(self.now(-60)))
        self.assertFalse(self.Reading._touch_gateway(gateway))  # seen less than GATEWAY_SEEN_EVERY s ago

    def test_bad_items_rejected_one_by_one_good_ones_kept(self):
        t = self.now(-10)
        batch = [
            ["P1-VIB", t, 1.0],  # 0 good
            ["NOPE", t, 1.0],  # 1 unknown code
            ["P1-OLD", t, 1.0],  # 2 archived
            ["Q9-VIB", t, 1.0],  # 3 other company
            ["P1-VIB", t + 1, math.nan],  # 4 NaN
            ["P1-VIB", t + 2, math.inf],  # 5 inf
            ["P1-VIB", t + 3, None],  # 6 None
            ["P1-VIB", t + 4, "1.5"],  # 7 string value
            ["P1-VIB", t + 5, True],  # 8 boolean value
            ["P1-VIB", "yesterday", 1.0],  # 9 unparsable timestamp
            ["P1-VIB", "2999-03-01T10:00:00", 1.0],  # 10 no offset: UTC, and far in the future
            ["P1-VIB", "1989-12-31T23:59:59Z", 1.0],  # 11 before 1990
            ["P1-VIB", t + 600, 1.0],  # 12 ten minutes ahead
            ["P1-VIB", t],  # 13 two elements
            "P1-VIB",  # 14 not a list
            {"code": "P1-VIB"},  # 15 a dict
            [42, t, 1.0],  # 16 code not text
            ["P1-TMP", t, 21],  # 17 good (int value)
            ["P1-VIB", -math.inf, 1.0],  # 18 timestamp not finite
            ["P1-VIB", t + 6, -math.inf],  # 19 -inf
        ]
        result = self.Reading.ingest(batch)
        reasons = {r["index"]: r["reason"] for r in result["rejected"]}
        expected = {
            1: "unknown sensor code",
            2: "archived",
            3: "belongs to a company that is not selected",  # the superuser belongs to both companies
            4: "not finite",
            5: "not finite",
            6: "must be a number, got empty",
            7: "must be a number, got str",
            8: "must be a number, got bool",
            9: "not ISO 8601",
            10: "in the future",
            11: "before 1990",
            12: "in the future",
            13: "is not a [sensor_code, timestamp, value] list",
            14: "is not a [sensor_code, timestamp, value] list",
            15: "is not a [sensor_code, timestamp, value] list",
            16: "sensor code must be text",
            18: "not a finite number",
            19: "not finite",
        }
        self.assertEqual(set(reasons), set(expected))
        for index, fragment in expected.items():
            self.assertIn(fragment, reasons[index], f"item {index}")
        self.assertEqual(result["accepted"], 2)
        self.assertEqual(self.count_readings(self.vib), 1)
        self.assertEqual(self.count_readings(self.temp), 1)
        self.assertEqual(self.count_readings(self.archived), 0)

    def test_whole_call_refused_when_not_a_list_or_too_long(self):
        for bad in ("P1-VIB", {"P1-VIB": 1.0}, 42, None):
            with self.assertRaisesRegex(UserError, "expects a list"):
                self.Reading.ingest(bad)
        self.assertGreaterEqual(type(self.Reading)._ingest_max_batch, 50_000)
        t = self.now(-100)
        batch = [["P1-VIB", t + i, 1.0] for i in range(6)]
        with patch.object(type(self.Reading), "_ingest_max_batch", 5), self.assertRaisesRegex(UserError, "at most 5"):
            self.Reading.ingest(batch)
        self.assertEqual(self.count_readings(self.vib), 0)
        self.assertEqual(self.Reading.ingest(batch[:5])["accepted"], 5)

    def test_last_value_follows_source_time_not_arrival(self):
        t = self.now(-300)
        self.Reading.ingest([["P1-VIB", t + 10, 5.0]])
        self.assertEqual((self.vib.last_value, self.vib.last_ts), (5.0, utc(t + 10)))
        self.assertEqual(self.vib.limit_state, "warning")
        # A late, older reading does not replace the last value.
        self.Reading.ingest([["P1-VIB", t, 9.0]])
        self.assertEqual((self.vib.last_value, self.vib.last_ts), (5.0, utc(t + 10)))
        self.Reading.ingest([["P1-VIB", t + 20, 8.0]])
        self.assertEqual((self.vib.last_value, self.vib.limit_state), (8.0, "alarm"))

    def test_hourly_aggregates_exact_whatever_the_order(self):
        rng = random.Random(7)
        start = (int(self.now(-5 * 3600)) // 3600) * 3600
        readings = [["P1-VIB", start + rng.randrange(0, 4 * 3600), round(rng.uniform(0, 10), 3)] for _ in range(400)]
        unique = {}
        for _code, ts, value in readings:
            unique.setdefault(ts, value)  # the first one stored wins; replays are duplicates
        rng.shuffle(readings)
        # Late and out-of-order batches, with replays of earlier batches mixed in.
        chunks = [readings[i : i + 37] for i in range(0, len(readings), 37)]
        sent = []
        for chunk in chunks:
            self.Reading.ingest(chunk)
            sent.append(chunk)
            self.Reading.ingest(rng.choice(sent))
        stored = {r.ts: r.value for r in self.Reading.search([("sensor_id", "=", self.vib.id)])}
        self.assertEqual(len(stored), len(unique))
        expected = {}
        for ts, value in sorted(stored.items()):
            hour = ts.replace(minute=0, second=0, microsecond=0)
            expected.setdefault(hour, []).append((ts, value))
        aggregates = self.Hourly.search([("sensor_id", "=", self.vib.id)])
        self.assertEqual(set(aggregates.mapped("hour")), set(expected))
        for agg in aggregates:
            rows = expected[agg.hour]
            values = [v for _ts, v in rows]
            self.assertEqual(agg.value_count, len(values))
            self.assertAlmostEqual(agg.value_sum, sum(values), places=6)
            self.assertAlmostEqual(agg.value_mean, sum(values) / len(values), places=6)
            self.assertEqual(agg.value_min, min(values))
            self.assertEqual(agg.value_max, max(values))
            self.assertEqual(agg.last_ts, rows[-1][0])
            self.assertEqual(agg.last_value, rows[-1][1])
            self.assertEqual(agg.first_ts, rows[0][0])

    def test_bridge_user_writes_only_its_gateway_sensors(self):
        t = self.now(-5)
        result = self.Reading.with_user(self.bridge_user).ingest(
            [["P1-VIB", t, 1.0], ["P1-CUR", t, 3.0], ["Q9-VIB", t, 1.0], ["P1-TMP", t, 30.0]]
        )
        self.assertEqual(result["accepted"], 2)
        reasons = {r["index"]: r["reason"] for r in result["rejected"]}
        # Another gateway's sensor, another company's: for this bridge they do not exist.
        self.assertEqual(reasons, {1: "unknown sensor code 'P1-CUR'", 2: "unknown sensor code 'Q9-VIB'"})
        self.assertTrue(self.gateway.last_seen)

    def test_maintenance_user_cannot_ingest(self):
        technician = new_test_user(self.env, login="tech", groups="base.group_user")
        manager = new_test_user(self.env, login="mgr", groups="maintenance.group_equipment_manager")
        for user in technician, manager:
            with self.assertRaises(AccessError):
                self.Reading.with_user(user).ingest([["P1-VIB", self.now(), 1.0]])
        self.assertEqual(self.count_readings(self.vib), 0)

    def test_sensor_code_in_two_companies_resolves_to_the_callers(self):
        twin = self.env["mro.sensor"].create(
            {"code": "P1-VIB", "name": "Same code elsewhere", "equipment_id": self.equipment2.id}
        )
        result = self.Reading.ingest([["P1-VIB", self.now(), 1.0]])
        self.assertEqual(result["accepted"], 1)
        self.assertEqual(self.count_readings(self.vib), 1)
        self.assertEqual(self.count_readings(twin), 0)
        # With both companies allowed, the current company's sensor takes the reading.
        both = self.Reading.with_context(allowed_company_ids=[self.company2.id, self.company.id])
        self.assertEqual(both.ingest([["P1-VIB", self.now(-1), 2.0]])["accepted"], 1)
        self.assertEqual(both.search_count([("sensor_id", "=", twin.id)]), 1)

    def test_values_outside_the_physical_range_or_beyond_a_sane_magnitude_are_rejected(self):
        self.vib.write({"physical_max": 50.0})  # 0..50 mm/s
        self.temp.write({"physical_min": -40.0, "physical_max": 150.0})
        self.env["mro.sensor"].create(
            {"code": "P1-FREE", "name": "no range", "equipment_id": self.equipment.id, "measure_kind": "custom"}
        )
        t = self.now(-60)
        result = self.Reading.ingest(
            [
                ["P1-VIB", t, 50.0],  # 0 the maximum itself
                ["P1-VIB", t + 1, 50.5],  # 1 above
                ["P1-VIB", t + 2, -0.1],  # 2 below the implied minimum 0
                ["P1-TMP", t, -40.0],  # 3
                ["P1-TMP", t + 1, -40.5],  # 4 below
                ["P1-TMP", t + 2, 151],  # 5 above (an int)
                ["P1-FREE", t, -1e15],  # 6 no range: any sane value
                ["P1-FREE", t + 1, 1.0000001e15],  # 7 beyond the sane magnitude
                ["P1-FREE", t + 2, 1.6e308],  # 8
                ["P1-FREE", t + 3, -(10**300)],  # 9 an int as big
            ]
        )
        reasons = {r["index"]: r["reason"] for r in result["rejected"]}
        self.assertEqual(
            reasons,
            {
                1: "value 50.5 is above the sensor's physical maximum 50",
                2: "value -0.1 is below the sensor's physical minimum 0",
                4: "value -40.5 is below the sensor's physical minimum -40",
                5: "value 151 is above the sensor's physical maximum 150",
                7: "value 1.0000001e+15 is beyond ±1e+15, the largest magnitude ingest takes",
                8: "value 1.6e+308 is beyond ±1e+15, the largest magnitude ingest takes",
                9: "value -1e+300 is beyond ±1e+15, the largest magnitude ingest takes",
            },
        )
        self.assertEqual(result["accepted"], 3)

    def test_two_huge_values_in_one_sensor_hour_no_longer_fail_the_call(self):
        """1.6e308 twice in one sensor-hour overflowed the hourly sum: PostgreSQL failed the whole call."""
        t = self.now(-60)
        result = self.Reading.ingest([["P1-TMP", t, 1.6e308], ["P1-TMP", t + 1, 1.6e308], ["P1-TMP", t + 2, 21.5]])
        self.assertEqual(result["accepted"], 1)
        self.assertEqual([r["index"] for r in result["rejected"]], [0, 1])
        hourly = self.Hourly.search([("sensor_id", "=", self.temp.id)])
        self.assertEqual((hourly.value_count, hourly.value_sum), (1, 21.5))

    def test_same_sensor_and_time_with_another_value_is_rejected_not_kept_at_random(self):
        t = float(int(self.now(-60)))
        stamp = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        result = self.Reading.ingest(
            [
                ["P1-VIB", t, 1.0],  # 0
                ["P1-VIB", t, 2.0],  # 1 same time, another value
                ["P1-VIB", t, 1.0],  # 2 same time, same value: a duplicate
                ["P1-VIB", f"{stamp}.1234561Z", 3.0],  # 3
                ["P1-VIB", f"{stamp}.1234564Z", 4.0],  # 4 collides with 3 once rounded to the microsecond
                ["P1-VIB", f"{stamp}.1234565Z", 3.0],  # 5 collides too, with the same value: a duplicate
            ]
        )
        reasons = {r["index"]: r["reason"] for r in result["rejected"]}
        self.assertEqual(set(reasons), {1, 4})
        self.assertEqual(reasons[1], "item 0 has the same sensor and time with another value")
        self.assertIn("same microsecond as item 3", reasons[4])
        self.assertEqual((result["accepted"], result["duplicates"]), (2, 2))
        rows = self.Reading.search([("sensor_id", "=", self.vib.id)], order="ts")
        self.assertEqual(rows.mapped("value"), [1.0, 3.0])

    def test_readings_are_written_only_through_ingest(self):
        """The gateway group could create() readings for any sensor of its company, skipping ingest's checks;
        and a pre-inserted row turned the true reading into a duplicate."""
        admin = new_test_user(self.env, login="admin2", groups="base.group_system,base.group_user")
        manager = new_test_user(self.env, login="mgr5", groups="maintenance.group_equipment_manager")
        t = utc(self.now(-30))
        for user in self.bridge_user, manager, admin:
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["mro.sensor.reading"].with_user(user).create(
                    {"sensor_id": self.other_gw.id, "ts": t, "value": 99.0}
                )
        self.Reading.ingest([["P1-VIB", self.now(-30), 1.0]])
        stored = self.Reading.search([("sensor_id", "=", self.vib.id)])
        for user in manager, admin:
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                stored.with_user(user).write({"value": 5.0})
        self.assertEqual(stored.value, 1.0)
        self.assertEqual(self.count_readings(self.other_gw), 0)
        # The administrator still sends readings the way the bridge does.
        result = self.Reading.with_user(admin).ingest([["P1-VIB", self.now(-20), 2.0]])
        self.assertEqual(result["accepted"], 1)


def packed(codes, rows):
    """A packed batch (ingest_packed) from ``codes`` and ``(code index, time, value)`` rows, as mro-bridge
    writes it: little-endian columns, as XML-RPC base64 (bytes) or, with ``text``, base64 text (JSON-RPC)."""
    return {
        "codes": list(codes),
        "sensor": struct.pack(f"<{len(rows)}I", *(r[0] for r in rows)),
        "time": struct.pack(f"<{len(rows)}d", *(r[1] for r in rows)),
        "value": struct.pack(f"<{len(rows)}d", *(r[2] for r in rows)),
    }


@tagged("post_install", "-at_install")
class TestIngestPacked(MroSensorCase):
    """The packed form, as the bridge user sends it: the same readings, the same answer as the list form."""

    def test_the_bridge_gets_the_same_answer_and_rows_as_with_the_list_form(self):
        t = self.now(-30)
        items = [
            ["P1-VIB", t, 1.5],
            ["P1-TMP", t, 30.0],
            ["P1-CUR", t, 3.0],  # another gateway's sensor: unknown to this bridge
            ["P1-VIB", t, 1.5],  # the same reading twice: a duplicate
            ["P1-VIB", t + 1, math.nan],
            ["P1-TMP", t + 1, 31.0],
            ["P1-VIB", math.inf, 2.0],
        ]
        codes = ["P1-VIB", "P1-TMP", "P1-CUR"]
        rows = [(codes.index(code), ts, value) for code, ts, value in items]
        bridge = self.Reading.with_user(self.bridge_user)
        answer = bridge.ingest_packed(packed(codes, rows))
        self.assertEqual(answer["accepted"], 3)
        self.assertEqual(answer["duplicates"], 1)
        self.assertEqual(
            {r["index"]: r["reason"] for r in answer["rejected"]},
            {2: "unknown sensor code 'P1-CUR'", 4: "value is not finite (nan)", 6: "timestamp is not a finite number"},
        )
        stored = self.Reading.search([("sensor_id", "in", (self.vib | self.temp).ids)])
        self.assertEqual(
            sorted((r.sensor_id.code, r.value) for r in stored), [("P1-TMP", 30.0), ("P1-TMP", 31.0), ("P1-VIB", 1.5)]
        )
        # Replayed in the list form: the same readings, all duplicates now; and the same rejections.
        again = bridge.ingest(items)
        self.assertEqual((again["accepted"], again["duplicates"]), (0, 4))
        self.assertEqual(again["rejected"], answer["rejected"])
        # Over JSON-RPC the columns are base64 text.
        text = {key: base64.b64encode(value).decode() if isinstance(value, bytes) else value
                for key, value in packed(["P1-VIB"], [(0, t + 2, 2.5)]).items()}  # fmt: skip
        self.assertEqual(bridge.ingest_packed(text)["accepted"], 1)

    def test_a_clean_batch_is_validated_a_column_at_a_time(self):
        """The bridge's usual batch (every reading known and sane) never goes through the item-by-item loop,
        and is stored as the list form would store it; the same batch again is all duplicates."""
        t = self.now(-30)
        batch = packed(["P1-VIB", "P1-TMP"], [(0, t, 1.5), (1, t, 30.0), (0, t + 1, 1.75)])
        bridge = self.Reading.with_user(self.bridge_user)
        with patch.object(reading_model, "validate_batch", side_effect=AssertionError("validated item by item")):
            answer = bridge.ingest_packed(batch)
            again = bridge.ingest_packed(batch)
        self.assertEqual(answer, {"accepted": 3, "duplicates": 0, "rejected": []})
        self.assertEqual(again, {"accepted": 0, "duplicates": 3, "rejected": []})
        stored = self.Reading.search([("sensor_id", "in", (self.vib | self.temp).ids)])
        self.assertEqual(
            sorted((r.sensor_id.code, r.value) for r in stored), [("P1-TMP", 30.0), ("P1-VIB", 1.5), ("P1-VIB", 1.75)]
        )
        self.assertEqual((self.vib.last_value, self.vib.last_ts), (1.75, utc(t + 1)))
        # A batch with one unclean reading (another gateway's code) takes the loop, which names it.
        mixed = bridge.ingest_packed(packed(["P1-VIB", "P1-CUR"], [(0, t + 2, 1.0), (1, t + 2, 3.0)]))
        self.assertEqual(mixed["rejected"], [{"index": 1, "reason": "unknown sensor code 'P1-CUR'"}])

    def test_a_batch_that_is_not_well_formed_is_refused_whole(self):
        t = self.now(-10)
        good = packed(["P1-VIB"], [(0, t, 1.0), (0, t + 1, 2.0)])
        cases = {
            "not a dict": [["P1-VIB", t, 1.0]],
            "codes not text": {**good, "codes": [7]},
            "a column missing": {key: value for key, value in good.items() if key != "value"},
            "bad base64": {**good, "time": "%%%not base64%%%"},
            "lengths differ": {**good, "value": good["value"][:8]},
            "a torn value": {**good, "value": good["value"][:-1]},
            "index beyond the codes": {**good, "sensor": struct.pack("<2I", 0, 1)},
        }
        bridge = self.Reading.with_user(self.bridge_user)
        for case, batch in cases.items():
            with self.subTest(case), self.assertRaises(UserError):
                bridge.ingest_packed(batch)
        with patch.object(type(self.Reading), "_ingest_max_batch", 1), self.assertRaisesRegex(UserError, "at most 1"):
            bridge.ingest_packed(good)
        self.assertEqual(self.count_readings(self.vib), 0)
        self.assertEqual(bridge.ingest_packed(good)["accepted"], 2)

    def test_people_other_than_bridges_may_not_send_packed_readings(self):
        technician = new_test_user(self.env, login="tech-p", groups="base.group_user")
        manager = new_test_user(self.env, login="mgr-p", groups="maintenance.group_equipment_manager")
        for user in technician, manager:
            with self.subTest(user.login), self.assertRaises(AccessError):
                self.Reading.with_user(user).ingest_packed(packed(["P1-VIB"], [(0, self.now(), 1.0)]))
        self.assertEqual(self.count_readings(self.vib), 0)
