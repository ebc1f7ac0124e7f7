from datetime import date, datetime, time, timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from ..mro_ingestion.partitions import add_months, month_start, partition_name
from .common import MroSensorCase


def _epoch_us(moment):
    return round((moment - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


@tagged("post_install", "-at_install")
class TestPartitions(MroSensorCase):
    def _sql(self, query, *args):
        self.env.cr.execute(SQL(query, *args))
        return self.env.cr.fetchall()

    def _exists(self, month):
        return self._sql("SELECT to_regclass(%s) IS NOT NULL", partition_name("mro_sensor_reading", month))[0][0]

    def _where(self, sensor):
        """The partition each of ``sensor``'s readings is in."""
        rows = self._sql(
            "SELECT tableoid::regclass::text FROM mro_sensor_reading WHERE sensor_id = %s ORDER BY ts", sensor.id
        )
        return [row[0] for row in rows]

    def test_table_is_partitioned_by_month_with_months_ahead(self):
        self.assertEqual(self._sql("SELECT relkind FROM pg_class WHERE relname = 'mro_sensor_reading'"), [("p",)])
        self.assertEqual(self._sql("SELECT pg_get_partkeydef('mro_sensor_reading'::regclass)"), [("RANGE (ts)",)])
        self.assertEqual(
            self._sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'mro_sensor_reading_pkey'"),
            [("PRIMARY KEY (id, ts)",)],
        )
        self.Reading._ensure_partitions()
        current = month_start(fields.Datetime.now())
        for ahead in range(3):
            self.assertTrue(self._exists(add_months(current, ahead)))
        self.assertTrue(self._sql("SELECT to_regclass('mro_sensor_reading_default') IS NOT NULL")[0][0])

    def test_ingest_lands_in_its_month(self):
        self.assertEqual(self.Reading.ingest([["P1-VIB", self.now(), 1.0]])["accepted"], 1)
        self.assertEqual(
            self._where(self.vib), [partition_name("mro_sensor_reading", month_start(fields.Datetime.now()))]
        )

    def test_cron_creates_the_months_ahead(self):
        ahead = add_months(month_start(fields.Datetime.now()), 2)
        self.env.cr.execute(SQL("DROP TABLE %s", SQL.identifier(partition_name("mro_sensor_reading", ahead))))
        self.assertFalse(self._exists(ahead))
        self.Reading._cron_purge_old_readings()
        self.assertTrue(self._exists(ahead))

    def test_a_month_without_partition_never_fails_ingest(self):
        """History from a month with no partition goes to the default partition; the cron then makes the month's
        partition and moves the rows into it. Ingest itself never creates partitions (no DDL on the hot path)."""
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "0")
        old = datetime(1995, 6, 1, 12)
        self.assertFalse(self._exists(date(1995, 6, 1)))
        result = self.Reading.ingest([["P1-VIB", "1995-06-01T12:00:00Z", 1.0], ["P1-VIB", self.now(), 2.0]])
        self.assertEqual(result["accepted"], 2)
        self.assertEqual(self._where(self.vib)[0], "mro_sensor_reading_default")
        self.Reading._cron_purge_old_readings()
        self.assertEqual(self._where(self.vib)[0], partition_name("mro_sensor_reading", date(1995, 6, 1)))
        self.assertEqual(self._sql("SELECT count(*) FROM mro_sensor_reading_default"), [(0,)])
        self.assertEqual(self.Reading.search([("sensor_id", "=", self.vib.id)], order="ts").mapped("ts")[0], old)
        # A replay finds it in its new partition: a duplicate, not a second row.
        self.assertEqual(self.Reading.ingest([["P1-VIB", "1995-06-01T12:00:00Z", 1.0]])["duplicates"], 1)
        # The far future stays refused, as before partitioning.
        future = self.Reading.ingest([["P1-VIB", self.now() + 400 * 86400, 1.0]])
        self.assertIn("in the future", future["rejected"][0]["reason"])

    def test_retention_drops_expired_months_and_trims_the_partial_one(self):
        now = fields.Datetime.now()
        partial = add_months(month_start(now), -1)
        expired = add_months(partial, -1)
        # The retention horizon in the middle of last month, whatever today's date.
        cutoff_day = datetime.combine(partial + timedelta(days=14), time())
        days = (now - cutoff_day).days
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", str(days))
        cutoff = now - timedelta(days=days)
        stamps = [
            datetime.combine(expired + timedelta(days=2), time(8)),
            datetime.combine(expired + timedelta(days=20), time(8)),
            datetime.combine(partial + timedelta(days=2), time(8)),  # before the horizon: trimmed
            cutoff + timedelta(days=3),  # after it: kept
        ]
        self.Reading._insert_readings([self.vib.id] * 4, [_epoch_us(t) for t in stamps], [1.0, 2.0, 3.0, 4.0])
        self.Reading._ensure_partitions()
        self.assertTrue(self._exists(expired) and self._exists(partial))
        hourly = self.Hourly.search_count([("sensor_id", "=", self.vib.id)])

        # The expired month goes whole, out of the readings table at once; the run ends there (its commit frees
        # the table), and the next one removes the month's table (2 readings) and trims the partly expired month.
        self.assertEqual(self.Reading._cron_purge_old_readings(), 0)
        self.assertFalse(self._exists(expired), "the expired month is dropped whole")
        detached = partition_name("mro_sensor_reading", expired) + "_expired"
        self.assertEqual(self._sql("SELECT relispartition FROM pg_class WHERE relname = %s", detached), [(False,)])
        self.assertEqual(self.Reading._cron_purge_old_readings(), 3)
        self.assertEqual(self._sql("SELECT to_regclass(%s)", detached), [(None,)])
        self.assertTrue(self._exists(partial))
        self.assertEqual(self.Reading.search([("sensor_id", "=", self.vib.id)]).mapped("value"), [4.0])
        self.assertEqual(self.Hourly.search_count([("sensor_id", "=", self.vib.id)]), hourly)
        self.assertEqual(self.Reading._cron_purge_old_readings(), 0)

    def _expired_month(self):
        """Two readings through ingest's insert in the month before last, and a retention horizon in the
        middle of last month; returns (that month, its partition, the horizon)."""
        now = fields.Datetime.now()
        expired = add_months(month_start(now), -2)
        stamps = [datetime.combine(expired + timedelta(days=d), time(8)) for d in (2, 20)]
        self.Reading._insert_readings([self.vib.id] * 2, [_epoch_us(t) for t in stamps], [1.0, 2.0])
        self.Reading._ensure_partitions()
        cutoff = datetime.combine(add_months(expired, 1) + timedelta(days=14), time())
        return expired, partition_name("mro_sensor_reading", expired), cutoff

    def _scans(self, table):
        """Scans of ``table`` by this transaction so far (sequential and index)."""
        rows = self._sql(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = %s",
            table,
        )
        return rows[0][0] if rows else 0

    def test_an_expired_month_is_taken_out_without_reading_it(self):
        expired, name, cutoff = self._expired_month()
        scans = self._scans(name)
        self.assertEqual(self.Reading._drop_expired_partitions(cutoff), [name])
        self.assertEqual(self._scans(name + "_expired"), scans, "the detach reads no row of the month")
        self.assertFalse(self._exists(expired))
        self.assertEqual(self.Reading.search_count([("sensor_id", "=", self.vib.id)]), 0)
        self.assertEqual(self.Reading._drop_detached_months(), 2)
        self.assertEqual(self._sql("SELECT to_regclass(%s)", name + "_expired"), [(None,)])
        self.assertEqual(self.Hourly.search([("sensor_id", "=", self.vib.id)]).mapped("value_count"), [1, 1])
        # The bridge replaying a reading of that month later meets the retention, the rest of its batch flows.
        days = (fields.Datetime.now() - cutoff).days
        self.env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", str(days))
        late = datetime.combine(expired + timedelta(days=25), time(9))
        result = self.Reading.with_user(self.bridge_user).ingest(
            [["P1-VIB", late.isoformat(), 3.0], ["P1-VIB", self.now(), 4.0]]
        )
        self.assertEqual(result["accepted"], 1)
        self.assertIn("older than the raw-data retention", result["rejected"][0]["reason"])
        self.assertEqual(self._sql("SELECT count(*) FROM mro_sensor_reading_default"), [(0,)])

    def test_readings_without_aggregate_are_rolled_up_before_their_month_goes(self):
        expired, name, cutoff = self._expired_month()
        # Rows written around ingest (by hand, an import): one in an hour of its own, without its aggregate.
        stray = datetime.combine(expired + timedelta(days=10), time(3, 15))
        self.env.cr.execute(
            SQL("INSERT INTO %s (sensor_id, ts, value) VALUES (%s, %s, 9)", SQL.identifier(name), self.vib.id, stray)
        )
        self.env.cr.execute(
            SQL(
                "INSERT INTO mro_sensor_reading (sensor_id, ts, value) VALUES (%s, %s, 5)",
                self.vib.id,
                stray + timedelta(minutes=30),
            )
        )
        # A reading of a sensor that no longer exists (no foreign key on this table): it has nothing to roll into.
        gone = self.env["mro.sensor"].create({"code": "GONE", "name": "Gone", "equipment_id": self.equipment.id})
        self.env.cr.execute(
            SQL("INSERT INTO %s (sensor_id, ts, value) VALUES (%s, %s, 1)", SQL.identifier(name), gone.id, stray)
        )
        self.assertEqual(self.Reading._drop_expired_partitions(cutoff), [name])
        gone.unlink()  # after the detach: the cascade on the readings table no longer reaches the month
        # Written after the detach: the month has no partition any more, the row waits in the default one.
        late = stray + timedelta(days=1)
        self.env.cr.execute(
            SQL("INSERT INTO mro_sensor_reading (sensor_id, ts, value) VALUES (%s, %s, 7)", self.vib.id, late)
        )
        self.assertEqual(self.Reading._drop_detached_months(), 5)
        hour = self.Hourly.search([("sensor_id", "=", self.vib.id), ("hour", "=", stray.replace(minute=0))])
        self.assertRecordValues(
            hour,
            [{"value_count": 2, "value_min": 5.0, "value_max": 9.0, "value_mean": 7.0, "last_value": 5.0}],
        )
        self.assertEqual(hour.first_ts, stray)
        # The late row's month comes back as a partition, expires, and goes the same way, rolled up too.
        self.Reading._ensure_partitions()
        self.assertTrue(self._exists(expired))
        self.assertEqual(self.Reading._drop_expired_partitions(cutoff), [name])
        self.assertEqual(self.Reading._drop_detached_months(), 1)
        late_hour = self.Hourly.search([("sensor_id", "=", self.vib.id), ("hour", "=", late.replace(minute=0))])
        self.assertEqual((late_hour.value_count, late_hour.last_value), (1, 7.0))

    def test_one_sensor_time_range_is_an_index_scan(self):
        now = fields.Datetime.now()
        self.env.cr.execute("SET LOCAL enable_seqscan = off")  # a tiny table: the planner would rather read it all
        plan = "\n".join(
            row[0]
            for row in self._sql(
                "EXPLAIN SELECT ts, value FROM mro_sensor_reading WHERE sensor_id = %s AND ts >= %s AND ts < %s",
                self.vib.id,
                now - timedelta(days=30),
                now,
            )
        )
        self.assertIn("mro_sensor_reading_p", plan)
        self.assertNotIn(partition_name("mro_sensor_reading", add_months(month_start(now), 2)), plan, "pruned")
        self.assertIn("Index", plan)
        self.assertNotIn("Seq Scan", plan)

    def test_an_update_removes_the_earlier_retention_design(self):
        """Databases of the release that checked months ahead: its table, function and triggers go."""
        self.env.cr.execute(
            """CREATE TABLE mro_sensor_reading_checked (partition oid PRIMARY KEY);
               CREATE FUNCTION mro_sensor_reading_written() RETURNS trigger LANGUAGE plpgsql
                   AS $$ BEGIN RETURN NULL; END $$;
               CREATE TRIGGER mro_sensor_reading_written AFTER INSERT ON mro_sensor_reading
                   FOR EACH STATEMENT EXECUTE FUNCTION mro_sensor_reading_written()"""
        )
        self.Reading.init()
        leftovers = self._sql(
            "SELECT to_regclass('mro_sensor_reading_checked'), to_regprocedure('mro_sensor_reading_written()'),"
            " (SELECT count(*) FROM pg_trigger WHERE tgname = 'mro_sensor_reading_written')"
        )
        self.assertEqual(leftovers, [(None, None, 0)])
        self.assertEqual(self.Reading.ingest([["P1-VIB", self.now(), 1.0]])["accepted"], 1)

    def test_uninstall_drops_the_partitioned_table(self):
        from .. import uninstall_hook

        uninstall_hook(self.env)
        tables = self._sql("SELECT to_regclass('mro_sensor_reading'), to_regclass('mro_sensor_reading_default')")
        self.assertEqual(tables, [(None, None)])
        triggers = self._sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'mro_sensor_reading_cascade'")
        self.assertEqual(triggers, [(0,)])
        leftovers = self._sql(
            "SELECT to_regclass('mro_sensor_reading_checked'), to_regprocedure('mro_sensor_reading_written()')"
        )
        self.assertEqual(leftovers, [(None, None)])
