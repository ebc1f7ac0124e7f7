import logging
import time
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, create_index, mute_logger, sql

from ..mro_ingestion import (
    PackedError,
    limit_state_sql,
    physical_range,
    unpack_columns,
    validate_batch,
    validate_clean_columns,
)
from ..mro_ingestion.partitions import (
    add_months,
    default_partition_name,
    expired_months,
    months_to_create,
    partition_month,
    partition_name,
)

_logger = logging.getLogger(__name__)
#: Suffix of a month's table once retention took it out of the readings table (removed by the next run).
DETACHED = "_expired"
#: The hourly aggregates of a set of new readings (columns sensor_id, ts, value), merged into the stored ones:
#: ingest's, and retention's for the readings of an expired month that have none. Rows are grouped and
#: sorted by (sensor, hour) so that concurrent writers lock them in one order.
HOURLY_INSERT = SQL(
    """INSERT INTO mro_sensor_reading_hourly AS a
           (sensor_id, hour, value_count, value_sum, value_min, value_max, value_mean, first_ts, last_ts, last_value)"""
)
HOURLY_COLUMNS = SQL(
    """sensor_id, date_trunc('hour', ts), count(*), sum(value), min(value), max(value), avg(value),
       min(ts), max(ts), (array_agg(value ORDER BY ts DESC))[1]"""
)
HOURLY_MERGE = SQL(
    """ON CONFLICT (sensor_id, hour) DO UPDATE SET
           value_count = a.value_count + EXCLUDED.value_count,
           value_sum = a.value_sum + EXCLUDED.value_sum,
           value_min = LEAST(a.value_min, EXCLUDED.value_min),
           value_max = GREATEST(a.value_max, EXCLUDED.value_max),
           value_mean = (a.value_sum + EXCLUDED.value_sum) / (a.value_count + EXCLUDED.value_count),
           first_ts = LEAST(a.first_ts, EXCLUDED.first_ts),
           last_ts = GREATEST(a.last_ts, EXCLUDED.last_ts),
           last_value = CASE WHEN EXCLUDED.last_ts > a.last_ts THEN EXCLUDED.last_value ELSE a.last_value END"""
)
#: Seconds between updates of a gateway's last-seen time by ingest (see _touch_gateway).
GATEWAY_SEEN_EVERY = 10


def _count_partitioned_tables_as_tables():
    """Make Odoo see a partitioned table as the model's existing table.

    Odoo 18's ``tools.sql.existing_tables`` (behind ``table_exists``) knows ordinary tables and views only
    (relkind r, v, m), not partitioned ones (p): on every update it would try to create the readings table
    again, and the registry would log that the model has no table. This wraps it to also find partitioned
    tables; everything else Odoo does on the table (columns, constraints, indexes) works on them as is.
    """
    original = sql.existing_tables
    if getattr(original, "mro_counts_partitioned", False):
        return

    def existing_tables(cr, tablenames):
        found = list(original(cr, tablenames))
        missing = set(tablenames) - set(found)
        if missing:
            cr.execute(
                SQL(
                    """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.relname IN %s AND c.relkind = 'p' AND n.nspname = current_schema""",
                    tuple(missing),
                )
            )
            found += [row[0] for row in cr.fetchall()]
        return found

    existing_tables.mro_counts_partitioned = True
    sql.existing_tables = existing_tables


_count_partitioned_tables_as_tables()


def _pg_array(numbers):
    """A PostgreSQL array literal for a list of numbers: one text parameter, parsed in C by the
    server, instead of one bound parameter per element (5-10x faster for large batches).
    ``repr`` of a float round-trips exactly."""
    return "{" + ",".join(map(repr, numbers)) + "}"


class MroSensorReading(models.Model):
    """Raw time series: append-only, written in bulk by :meth:`ingest` only."""

    _name = "mro.sensor.reading"
    _description = "Sensor Reading"
    _log_access = False
    _order = "ts desc"
    _rec_name = "ts"

    #: Largest batch one ``ingest`` call accepts (items); larger calls fail whole.
    _ingest_max_batch = 100_000
    #: Rows the retention cron deletes per transaction.
    _retention_chunk = 50_000

    sensor_id = fields.Many2one("mro.sensor", required=True, ondelete="cascade", index=False)
    ts = fields.Datetime("Time (UTC)", required=True, help="Source timestamp of the reading, UTC.")
    # float8, not numeric: no digits, so the hot path never converts (display rounds anyway).
    value = fields.Float(required=True, aggregator="avg")
    equipment_id = fields.Many2one(related="sensor_id.equipment_id")
    company_id = fields.Many2one(related="sensor_id.company_id")

    _sql_constraints = [
        # Also the index for one sensor's time-range scans: (sensor_id, ts).
        ("sensor_ts_uniq", "unique(sensor_id, ts)", "A sensor has one reading per timestamp."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        # ingest() is the one write path: it checks the caller's gateway, validates every value and keeps the hourly
        # aggregates exact. A row created around it would skip all three (and turn the true reading, when it
        # comes, into a "duplicate"), so the ORM refuses whoever asks; only code running as the superuser may.
        if not self.env.su:
            raise AccessError(self.env._("Sensor readings are written only through ingest() (mro-bridge)."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:  # see create(): the aggregates hold the stored values
            raise AccessError(self.env._("Sensor readings cannot be changed; they are written only through ingest()."))
        return super().write(vals)

    def _is_an_ordinary_table(self):
        # No foreign key on this hot table: a per-row FK check costs more than the insert itself.
        # Integrity is kept set-based instead: ingest locks the sensors it writes to (FOR KEY
        # SHARE) and a statement trigger on mro_sensor deletes a deleted sensor's readings.
        # Odoo treats partitioned tables the same way, which keeps the partitioning path open.
        return False

    def init(self):
        cr = self.env.cr
        cr.execute(SQL("ALTER TABLE mro_sensor_reading DROP CONSTRAINT IF EXISTS mro_sensor_reading_sensor_id_fkey"))
        # A fresh install: Odoo has just created an ordinary, empty table; make it partitioned at once. A table
        # that already holds readings is converted by the 18.0.1.1.0 migration instead (a long, logged copy).
        if not self._is_partitioned() and not self._table_has_rows():
            self._partition_table()
        # BRIN on time: tiny, and all the retention cron needs on an append-mostly table.
        create_index(cr, "mro_sensor_reading_ts_brin", self._table, ["ts"], method="brin")
        cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION mro_sensor_reading_cascade() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    DELETE FROM mro_sensor_reading r USING gone WHERE r.sensor_id = gone.id;
                    RETURN NULL;
                END $$;
                DROP TRIGGER IF EXISTS mro_sensor_reading_cascade ON mro_sensor;
                CREATE TRIGGER mro_sensor_reading_cascade AFTER DELETE ON mro_sensor
                    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
                    EXECUTE FUNCTION mro_sensor_reading_cascade();
                """
            )
        )
        # Objects of the earlier retention design (a table of months checked ahead and a write trigger on
        # every partition): retention no longer needs them.
        cr.execute(
            SQL(
                """DROP TABLE IF EXISTS mro_sensor_reading_checked;
                   DROP FUNCTION IF EXISTS mro_sensor_reading_written() CASCADE"""
            )
        )

    # ------------------------------------------------------------ partitions
    # The readings are partitioned by month on ts (PostgreSQL declarative partitioning): a month's
    # reads touch one or two small partitions, and retention drops whole months instead of deleting
    # rows one by one. Constraints must include the partition key: the primary key is (id, ts), the
    # unique (sensor_id, ts) already does. Ingest never creates partitions (DDL takes locks that would
    # serialize concurrent bridges): the hourly cron creates the current month's and the next
    # MONTHS_AHEAD ones, and a DEFAULT partition takes whatever has no month yet (history imported
    # when retention is off, a clock running ahead), so an insert never fails for want of a partition.
    # The cron then moves such rows into their month's new partition, which keeps the default small.

    @api.model
    def _is_partitioned(self):
        self.env.cr.execute(SQL("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", self._table))
        row = self.env.cr.fetchone()
        return bool(row and row[0])

    @api.model
    def _partition_table(self):
        """Turn the ordinary readings table into a partitioned one with the same columns, rows and ids.

        The table is renamed, a partitioned twin takes its name (same columns and defaults, so the
        same id sequence), partitions are made for every month of the data plus the months ahead,
        the rows are copied, and the old table is dropped. Runs in the caller's transaction.
        """
        cr = self.env.cr
        table = self._table
        old = f"{table}_unpartitioned"
        cr.execute(SQL("ALTER TABLE %s RENAME TO %s", SQL.identifier(table), SQL.identifier(old)))
        # Its constraints and indexes keep their names: free them for the new table's.
        cr.execute(
            SQL("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u')", old)
        )
        for (conname,) in cr.fetchall():
            cr.execute(SQL("ALTER TABLE %s DROP CONSTRAINT %s", SQL.identifier(old), SQL.identifier(conname)))
        cr.execute(SQL("SELECT indexname FROM pg_indexes WHERE tablename = %s AND schemaname = current_schema", old))
        for (index,) in cr.fetchall():
            cr.execute(SQL("DROP INDEX %s", SQL.identifier(index)))
        cr.execute(
            SQL(
                "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts)",
                SQL.identifier(table),
                SQL.identifier(old),
            )
        )
        # The id sequence now belongs to the new table (it would go with the old one otherwise).
        cr.execute(SQL("SELECT pg_get_serial_sequence(%s, 'id')", old))
        sequence = cr.fetchone()[0]
        if sequence:
            cr.execute(SQL("ALTER SEQUENCE %s OWNED BY %s.id", SQL(sequence), SQL.identifier(table)))
        for key, definition, _message in self._sql_constraints:
            sql.add_constraint(cr, table, f"{table}_{key}", definition)
        cr.execute(
            SQL(
                "CREATE TABLE %s PARTITION OF %s DEFAULT",
                SQL.identifier(default_partition_name(table)),
                SQL.identifier(table),
            )
        )
        cr.execute(SQL("SELECT DISTINCT date_trunc('month', ts)::date FROM %s", SQL.identifier(old)))
        months = {row[0] for row in cr.fetchall()} | set(months_to_create(fields.Datetime.now()))
        for month in sorted(months):
            self._create_partition(month)
        cr.execute(SQL("INSERT INTO %s SELECT * FROM %s", SQL.identifier(table), SQL.identifier(old)))
        copied = cr.rowcount
        cr.execute(SQL("DROP TABLE %s", SQL.identifier(old)))
        self.env.registry._ordinary_tables = None  # it cached the table as an ordinary one
        _logger.info("Readings table partitioned by month: %s months, %s rows", len(months), copied)
        return copied

    @api.model
    def _create_partition(self, month):
        """Create the partition of ``month`` (a date, first of the month) unless it exists; rows of that
        month waiting in the default partition are moved into it. Returns whether it was created."""
        cr = self.env.cr
        table, default = self._table, default_partition_name(self._table)
        name = partition_name(table, month)
        cr.execute(SQL("SELECT to_regclass(%s) IS NOT NULL", name))
        if cr.fetchone()[0]:
            return False
        bounds = (str(month), str(add_months(month, 1)))
        # Creating or attaching a partition locks the table anyway: take the lock first, so that an insert
        # holding the table and waiting for the default partition cannot deadlock with us. Ingest waits
        # for the few milliseconds this takes, once a month (the month ahead) or after a straggler.
        cr.execute(SQL("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", SQL.identifier(table)))
        cr.execute(
            SQL(
                "SELECT EXISTS (SELECT 1 FROM %s WHERE ts >= %s AND ts < %s)",
                SQL.identifier(default),
                *bounds,
            )
        )
        if not cr.fetchone()[0]:
            cr.execute(
                SQL(
                    "CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)",
                    SQL.identifier(name),
                    SQL.identifier(table),
                    *bounds,
                )
            )
            return True
        # A partition cannot be created over rows the default holds: build it aside, move them, attach.
        cr.execute(SQL("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS)", SQL.identifier(name), SQL.identifier(table)))
        cr.execute(
            SQL(
                """WITH moved AS (DELETE FROM %(default)s WHERE ts >= %(low)s AND ts < %(high)s RETURNING *)
                   INSERT INTO %(name)s SELECT * FROM moved""",
                default=SQL.identifier(default),
                name=SQL.identifier(name),
                low=bounds[0],
                high=bounds[1],
            )
        )
        _logger.info("Readings: %s rows moved from the default partition into %s", cr.rowcount, name)
        cr.execute(
            SQL(
                "ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)",
                SQL.identifier(table),
                SQL.identifier(name),
                *bounds,
            )
        )
        return True

    @api.model
    def _month_partitions(self):
        """``{month: partition name}`` of the monthly partitions that exist."""
        self.env.cr.execute(
            SQL(
                """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = %s::regclass""",
                self._table,
            )
        )
        names = (row[0] for row in self.env.cr.fetchall())
        return {month: name for name in names if (month := partition_month(self._table, name))}

    @api.model
    def _ensure_partitions(self):
        """Create the partitions of the current month and the months ahead, and of every month that has
        rows waiting in the default partition. Returns the months created."""
        if not self._is_partitioned():
            return []
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT DISTINCT date_trunc('month', ts)::date FROM %s",
                SQL.identifier(default_partition_name(self._table)),
            )
        )
        months = {row[0] for row in cr.fetchall()} | set(months_to_create(fields.Datetime.now()))
        return [month for month in sorted(months) if self._create_partition(month)]

    @api.model
    def _drop_expired_partitions(self, cutoff):
        """Take the monthly partitions entirely older than ``cutoff`` (a naive UTC datetime) out of the
        readings table: a detach and a rename to ``<partition>_expired``, changes of the catalog that read
        no row, however large the month. Returns their names.

        Nothing is decided here on what the month holds, so no row committed meanwhile can slip past a
        check: the next run (:meth:`_drop_detached_months`) reads the detached month, which nothing writes
        any more, rolls its readings without an hourly aggregate into the aggregates, and removes it.
        """
        if not self._is_partitioned():
            return []
        cr = self.env.cr
        partitions = self._month_partitions()
        names = []
        for month in expired_months(partitions, cutoff):
            name = partitions[month]
            cr.execute(
                SQL(
                    "ALTER TABLE %s DETACH PARTITION %s; ALTER TABLE %s RENAME TO %s",
                    SQL.identifier(self._table),
                    SQL.identifier(name),
                    SQL.identifier(name),
                    SQL.identifier(f"{name}{DETACHED}"),
                )
            )
            _logger.info("Retention: took the expired month %s out of the readings table", name)
            names.append(name)
        return names

    @api.model
    def _detached_months(self):
        """The tables of the months retention took out of the readings table and has not removed yet."""
        self.env.cr.execute(
            SQL(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = current_schema AND c.relkind = 'r' AND c.relname LIKE %s
                      AND NOT c.relispartition
                    ORDER BY c.relname""",
                f"{self._table}_p%{DETACHED}".replace("_", "\\_"),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _drop_detached_months(self):
        """Remove the months retention took out of the readings table in an earlier transaction: roll the
        readings that have no hour's aggregate (written around ingest, by hand or by an import) into the
        aggregates, then drop the month's table, which locks only that table. Readings of a sensor deleted
        since (the readings table's cascade no longer reaches a detached month) go without one. Returns the
        number of raw readings removed."""
        cr = self.env.cr
        removed = 0
        for name in self._detached_months():
            cr.execute(
                SQL(
                    """
                    WITH orphans AS (
                        SELECT r.sensor_id, r.ts, r.value FROM %(month)s r
                          JOIN mro_sensor s ON s.id = r.sensor_id  -- a deleted sensor's readings just go
                         WHERE NOT EXISTS (SELECT 1 FROM mro_sensor_reading_hourly h
                                            WHERE h.sensor_id = r.sensor_id AND h.hour = date_trunc('hour', r.ts))
                    ), agg AS (
                        %(insert)s
                        SELECT %(columns)s FROM orphans GROUP BY 1, 2 ORDER BY 1, 2
                        %(merge)s
                    )
                    SELECT (SELECT count(*) FROM %(month)s), (SELECT count(*) FROM orphans)
                    """,
                    month=SQL.identifier(name),
                    insert=HOURLY_INSERT,
                    columns=HOURLY_COLUMNS,
                    merge=HOURLY_MERGE,
                )
            )
            readings, orphans = cr.fetchone()
            cr.execute(SQL("DROP TABLE %s", SQL.identifier(name)))
            if orphans:
                _logger.info("Retention: %s readings of %s had no hourly aggregate; rolled into it", orphans, name)
            _logger.info("Retention: removed the expired month %s (%s raw readings)", name, readings)
            removed += readings
        if removed:
            self.env["mro.sensor.reading.hourly"].invalidate_model()
        return removed

    # ------------------------------------------------------------------ ingest
    @api.model
    def ingest(self, readings):
        """Store a batch of readings; the bridge's only write path.

        :param readings: list of ``[sensor_code, timestamp, value]``; timestamp as ISO 8601
            text (without an offset: UTC) or as epoch seconds; value a finite number.
        :return: ``{"accepted": n, "duplicates": n, "rejected": [{"index": i, "reason": str}]}``.
            Readings already stored (same sensor and timestamp) count as duplicates and change
            nothing, so a batch can be replayed safely. Bad items never sink the good ones.
            Refused one by one: unknown or archived codes, sensors of other gateways or
            companies (both reported as unknown), values that are not finite numbers, beyond
            ``MAX_ABS_VALUE`` or outside the sensor's physical range, bad or out-of-range
            timestamps, and a second item for the same sensor and time with another value.
        :raise AccessError: when the caller is neither a bridge user (Sensor gateway group) nor an
            administrator.
        :raise UserError: when ``readings`` is not a list or is longer than the batch limit;
            then nothing is stored.
        """
        self._check_ingest_access()
        if not isinstance(readings, (list, tuple)):
            raise UserError(self.env._("ingest() expects a list of [sensor_code, timestamp, value] items."))
        if len(readings) > self._ingest_max_batch:
            raise UserError(
                self.env._(
                    "ingest() takes at most %(limit)s readings per call, got %(count)s; split the batch.",
                    limit=self._ingest_max_batch,
                    count=len(readings),
                )
            )
        codes = {
            item[0] for item in readings if type(item) in (list, tuple) and len(item) == 3 and type(item[0]) is str
        }
        gateway, sensors, ranges, retention_days = self._ingest_inputs(codes)
        return self._store_batch(self._validate_items(readings, sensors, ranges, retention_days), gateway)

    @api.model
    def _ingest_inputs(self, codes):
        """What validating a batch of ``codes`` takes: ``(gateway, sensors, ranges, retention_days)``, the
        caller's gateway (empty for an administrator), each code's sensor id or refusal and each sensor's
        physical range (see _resolve_sensor_codes), and the raw-data retention (days, 0 for all)."""
        gateway = self.env["mro.sensor.gateway"]._for_current_user()
        sensors, ranges = self._resolve_sensor_codes(codes, gateway)
        return gateway, sensors, ranges, self._retention_days()

    @staticmethod
    def _oldest_kept(retention_days):
        """The oldest time (epoch seconds) the retention keeps: 0 when it keeps all."""
        return time.time() - retention_days * 86400 if retention_days else 0

    @api.model
    def _validate_items(self, readings, sensors, ranges, retention_days):
        """``validate_batch`` of ``[code, time, value]`` items with the inputs of _ingest_inputs."""
        return validate_batch(
            readings,
            sensors,
            time.time(),
            oldest_s=self._oldest_kept(retention_days),
            oldest_reason=self.env._("timestamp is older than the raw-data retention of %s days", retention_days),
            ranges=ranges,
        )

    @api.model
    def _store_batch(self, batch, gateway):
        """Insert a validated batch and answer as :meth:`ingest` does."""
        accepted = self._insert_readings(batch.sensor_ids, batch.micros, batch.values) if batch.sensor_ids else 0
        if gateway:
            self._touch_gateway(gateway)
        return {
            "accepted": accepted,
            "duplicates": len(batch.sensor_ids) - accepted + batch.duplicates,
            "rejected": batch.rejected,
        }

    @api.model
    def ingest_packed(self, batch):
        """:meth:`ingest` for a batch in the packed form (what mro-bridge sends): the same readings as three
        binary columns, a sixth of the bytes of the list form and far less to decode.

        :param batch: ``{"codes": [sensor_code, ...], "sensor": <uint32 LE>, "time": <float64 LE>,
            "value": <float64 LE>}``, each column XML-RPC base64 (or base64 text over JSON-RPC): per
            reading, the index of its code in ``codes``, its time in epoch seconds and its value.
        :return: what :meth:`ingest` returns; a rejected reading's ``index`` is its position in the columns.
        :raise AccessError: as :meth:`ingest`.
        :raise UserError: when the batch is not well formed (a column missing or not base64, columns of
            different lengths, an index beyond ``codes``) or holds more than the batch limit; then nothing
            is stored.
        """
        self._check_ingest_access()
        try:
            codes, index, times, values = unpack_columns(batch, self._ingest_max_batch)
        except PackedError as exc:
            raise UserError(self.env._("ingest_packed(): %s.", exc)) from None
        # A bridge's batch is clean as a rule: validated a column at a time. Otherwise item by item, as ingest().
        gateway, sensors, ranges, retention_days = self._ingest_inputs(set(codes))
        oldest = self._oldest_kept(retention_days)
        batch = validate_clean_columns(codes, index, times, values, sensors, time.time(), oldest, ranges)
        if batch is None:
            items = list(zip(map(codes.__getitem__, index), times, values, strict=True))
            batch = self._validate_items(items, sensors, ranges, retention_days)
        return self._store_batch(batch, gateway)

    @api.model
    def _touch_gateway(self, gateway):
        """Set the gateway's last-seen time, at most every few seconds and never waiting or failing for it;
        True when it was set.

        A bridge sends several calls at once (on disjoint sensors); were each to update its gateway's row,
        the second would wait for the first and then fail with a serialization error (and Odoo would retry
        the whole call after a random pause). So the row is updated only when its time is older than
        GATEWAY_SEEN_EVERY seconds, and skipped when another transaction holds it or changed it since this
        one began.
        """
        cr = self.env.cr
        try:
            with mute_logger("odoo.sql_db"), cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        """
                        WITH mine AS (SELECT id FROM mro_sensor_gateway
                                       WHERE id = %s
                                         AND (last_seen IS NULL
                                              OR last_seen < now() AT TIME ZONE 'UTC' - %s * interval '1 second')
                                         FOR NO KEY UPDATE SKIP LOCKED)
                        UPDATE mro_sensor_gateway g SET last_seen = now() AT TIME ZONE 'UTC'
                          FROM mine WHERE g.id = mine.id
                        """,
                        gateway.id,
                        GATEWAY_SEEN_EVERY,
                    )
                )
                updated = bool(cr.rowcount)
        except psycopg2.errors.SerializationFailure:
            return False  # a concurrent call of the same bridge set it
        gateway.invalidate_recordset(["last_seen"])
        return updated

    @api.model
    def _check_ingest_access(self):
        """Raise AccessError unless the caller may send readings: a bridge user (Sensor gateway group,
        restricted to its gateway's sensors by ingest) or an administrator."""
        user = self.env.user
        if self.env.su or user.has_group("mro_sensor_bridge.group_sensor_gateway") or user._is_system():
            return
        raise AccessError(
            self.env._("Only a sensor gateway (mro-bridge) or an administrator may send sensor readings.")
        )

    @api.model
    def _resolve_sensor_codes(self, codes, gateway):
        """Map each code to the id of the sensor the caller may write, or to a rejection reason; and each
        resolved sensor id to its physical ``(lowest, highest)`` value.

        A sensor the caller may not know of (another company's, or another gateway's for a bridge user)
        is reported exactly as a code that does not exist: "unknown sensor code".
        """
        if not codes:
            return {}, {}
        allowed_companies = set(self.env.companies.ids)
        restrict_gateway = gateway or self.env.user.has_group("mro_sensor_bridge.group_sensor_gateway")
        columns = ["code", "active", "company_id", "gateway_id", "physical_min", "physical_max"]
        self.env["mro.sensor"].flush_model(columns)  # the SQL below reads them
        self.env.cr.execute(
            SQL(
                # FOR KEY SHARE: the sensors cannot be deleted before this batch commits.
                """SELECT code, id, active, company_id, gateway_id, physical_min, physical_max FROM mro_sensor
                    WHERE code = ANY(%s) ORDER BY id FOR KEY SHARE""",
                list(codes),
            )
        )
        candidates = {}
        for code, sensor_id, active, company_id, gateway_id, low, high in self.env.cr.fetchall():
            candidates.setdefault(code, []).append((sensor_id, active, company_id, gateway_id, low or 0.0, high or 0.0))
        resolved, ranges = {}, {}
        for code, rows in candidates.items():
            if restrict_gateway:
                rows = [row for row in rows if row[3] == gateway.id]
            mine = [row for row in rows if row[2] in allowed_companies]
            if not mine:
                # A company the user belongs to but has not selected: its sensors may be named (the user knows them).
                if not restrict_gateway and any(row[2] in self.env.user.company_ids.ids for row in rows):
                    resolved[code] = self.env._("sensor %r belongs to a company that is not selected", code)
                # else: absent from the mapping, i.e. "unknown sensor code", as for a code that does not exist
                continue
            if len(mine) > 1:
                # The same code in several allowed companies: the current company's wins.
                mine = [row for row in mine if row[2] == self.env.company.id] or mine
            if len(mine) > 1:
                resolved[code] = self.env._("sensor code %r is used in several of your companies", code)
            elif not mine[0][1]:
                resolved[code] = self.env._("sensor %r is archived", code)
            else:
                sensor_id, _active, _company, _gateway, low, high = mine[0]
                resolved[code] = sensor_id
                ranges[sensor_id] = physical_range(low, high)
        return resolved, ranges

    @api.model
    def _insert_readings(self, sensor_ids, micros, values):
        """Insert readings set-based, skip existing ones, roll them into hourly aggregates.

        Readings newer than their sensor's last stored reading (the streaming case) cannot
        collide with stored rows and take a plain insert; older ones (replays, late data) take
        ``ON CONFLICT DO NOTHING``, which costs about twice as much per row. Should a concurrent
        batch insert the same new rows first, the statement is re-run with the safe path for
        every row. Rows are sorted by (sensor, time) so that concurrent batches take locks in one
        order. Only rows actually inserted reach the aggregates, which keeps them exact under
        replays and whatever the arrival order. Returns the number of rows inserted.
        """
        cr = self.env.cr
        arrays = (_pg_array(sensor_ids), _pg_array(micros), _pg_array(values))
        try:
            with mute_logger("odoo.sql_db"), cr.savepoint(flush=False):
                cr.execute(self._insert_readings_sql(*arrays, fresh=SQL("s.last_ts IS NULL OR src.ts > s.last_ts")))
                inserted = cr.fetchone()[0]
        except psycopg2.errors.UniqueViolation:
            cr.execute(self._insert_readings_sql(*arrays, fresh=SQL("FALSE")))
            inserted = cr.fetchone()[0]
        if inserted:
            self._update_last_values(sorted(set(sensor_ids)))
            self.env["mro.sensor.reading.hourly"].invalidate_model()
        return inserted

    @api.model
    def _insert_readings_sql(self, sensor_ids, micros, values, fresh):
        """The insert statement; ``fresh`` says which rows cannot already be stored."""
        return SQL(
            """
            WITH src AS (
                SELECT s.sensor_id, timestamp '1970-01-01' + s.us * interval '1 microsecond' AS ts, s.value
                  FROM unnest(%(ids)s::int4[], %(us)s::int8[], %(values)s::float8[]) AS s(sensor_id, us, value)
            ), split AS (
                SELECT src.*, (%(fresh)s) AS fresh FROM src JOIN mro_sensor s ON s.id = src.sensor_id
            ), ins_fresh AS (
                INSERT INTO mro_sensor_reading (sensor_id, ts, value)
                SELECT DISTINCT ON (sensor_id, ts) sensor_id, ts, value FROM split WHERE fresh ORDER BY sensor_id, ts
                RETURNING sensor_id, ts, value
            ), ins_old AS (
                INSERT INTO mro_sensor_reading (sensor_id, ts, value)
                SELECT sensor_id, ts, value FROM split WHERE NOT fresh ORDER BY sensor_id, ts
                ON CONFLICT (sensor_id, ts) DO NOTHING
                RETURNING sensor_id, ts, value
            ), ins AS (
                SELECT * FROM ins_fresh UNION ALL SELECT * FROM ins_old
            ), agg AS (
                %(insert)s
                SELECT %(columns)s FROM ins GROUP BY 1, 2 ORDER BY 1, 2
                %(merge)s
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM agg)
            """,
            ids=sensor_ids,
            us=micros,
            values=values,
            fresh=fresh,
            insert=HOURLY_INSERT,
            columns=HOURLY_COLUMNS,
            merge=HOURLY_MERGE,
        )

    # --------------------------------------------------------------- retention
    @api.model
    def _retention_days(self):
        # sudo: a system parameter, read by the bridge user's ingest too.
        value = self.env["ir.config_parameter"].sudo().get_param("mro_sensor_bridge.retention_days", "90")
        try:
            return max(0, int(value))
        except ValueError:
            _logger.warning("mro_sensor_bridge.retention_days=%r is not a whole number; keeping all readings", value)
            return 0

    @api.model
    def _update_last_values(self, sensor_ids):
        """Set each sensor's last value, time and limit state from its newest hourly aggregate (which holds its
        newest reading).

        Sensors another transaction holds (the health analysis writes its results on the same rows) or
        changed since this transaction began are skipped rather than waited for or failed on: ingest never
        stalls or fails for them, and their last values catch up with their next reading, or within the hour
        (the retention cron refreshes every sensor). Returns the number of sensors updated.
        """
        cr = self.env.cr
        try:
            with mute_logger("odoo.sql_db"), cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        """
                        WITH mine AS (SELECT id FROM mro_sensor WHERE id = ANY(%s::int4[])
                                       ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)
                        UPDATE mro_sensor s
                           SET last_ts = h.last_ts, last_value = h.last_value,
                               limit_state = %s
                          FROM mine x
                          CROSS JOIN LATERAL (
                                SELECT last_ts, last_value FROM mro_sensor_reading_hourly
                                 WHERE sensor_id = x.id ORDER BY hour DESC LIMIT 1) h
                         WHERE s.id = x.id AND s.last_ts IS DISTINCT FROM h.last_ts
                        """,
                        _pg_array(sensor_ids),
                        SQL(limit_state_sql("s", "h.last_value")),
                    )
                )
                updated = cr.rowcount
        except (psycopg2.errors.SerializationFailure, psycopg2.errors.LockNotAvailable):
            _logger.debug("Last values of %d sensors left for later: rows busy", len(sensor_ids))
            return 0
        if updated:
            self.env["mro.sensor"].invalidate_model(["last_ts", "last_value", "limit_state"])
        return updated

    @api.model
    def _cron_purge_old_readings(self):
        """Remove the months an earlier run took out of the readings table, create the coming months'
        partitions, take out the months entirely older than the retention, and delete one bounded chunk of
        the older raw readings left (those of the partly expired month).

        In the partly expired month a reading goes only when its hour's aggregate exists; a month removed
        whole first rolls its readings without one into the aggregates. Aggregates are kept forever.
        Through Odoo's cron progress API the scheduler commits after each chunk and calls
        again while work remains, so a long purge never holds one huge transaction.
        Returns the number of rows deleted.
        """
        self.env.cr.execute("SELECT id FROM mro_sensor")
        self._update_last_values([row[0] for row in self.env.cr.fetchall()])  # what ingest had to skip
        days = self._retention_days()
        cutoff = fields.Datetime.now() - timedelta(days=days) if days else None
        # The months the last run took out of the table go first (their files), then the months to come.
        deleted = self._drop_detached_months()
        self._ensure_partitions()
        detached, chunk = [], 0
        if days:
            # Whole expired months first, out of the table at once: the run then ends, as its commit frees the
            # table the detach holds. Otherwise one chunk of the rows of the partly expired month.
            detached = self._drop_expired_partitions(cutoff)
            if not detached:
                chunk = self._purge_expired_chunk(cutoff)
                deleted += chunk
        if deleted:
            _logger.info("Retention: deleted %s raw readings older than %s days", deleted, days)
        if deleted or detached:
            self.invalidate_model()
        # Work remains after a detach (the next run removes the month) and when the chunk was full.
        remaining = int(bool(detached) or chunk == self._retention_chunk)
        self.env["ir.cron"]._notify_progress(done=deleted + len(detached), remaining=remaining)
        return deleted

    @api.model
    def _purge_expired_chunk(self, cutoff):
        """Delete at most ``_retention_chunk`` raw readings older than ``cutoff`` whose hour has its aggregate;
        returns how many."""
        # By (id, ts), the primary key: a ctid is unique within one partition only.
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM mro_sensor_reading WHERE (id, ts) IN (
                    SELECT r.id, r.ts FROM mro_sensor_reading r
                     WHERE r.ts < %s
                       AND EXISTS (SELECT 1 FROM mro_sensor_reading_hourly h
                                    WHERE h.sensor_id = r.sensor_id AND h.hour = date_trunc('hour', r.ts))
                     LIMIT %s)
                """,
                cutoff,
                self._retention_chunk,
            )
        )
        return self.env.cr.rowcount
