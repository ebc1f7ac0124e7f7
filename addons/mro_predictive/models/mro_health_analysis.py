import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL, split_every

_logger = logging.getLogger(__name__)

#: Equipment without sensors (failure-history models) are re-assessed at most this often.
HISTORY_REFRESH = timedelta(days=1)
#: Equipment waits in one queued job at a time; a job lost, cancelled or failed for good frees it after this.
QUEUED_TTL = timedelta(hours=1)


class MroHealthAnalysis(models.AbstractModel):
    """Runs the analysis over equipment, in bounded batches: which equipment (candidates), then, per batch,
    reading (``mro.health.data``), assessing and writing back (``mro.health.assessment``) and publishing
    (``mro.health.publication``). One equipment that fails is marked (*analysis error*, visible on its form)
    and skipped; the batch goes on.

    The cron does not analyse: it queues the batches as jobs of OCA's ``queue_job`` on the channel
    ``root.mro_analysis``, and every job runner of every Odoo server takes them in parallel (capacity: the
    channel's, in Job Queue > Channels; retries and failures: Job Queue > Jobs).
    """

    _name = "mro.health.analysis"
    _description = "Equipment health analysis"

    #: Equipment per batch: one job, one transaction.
    _batch_size = 200

    @api.model
    def _cron_analyze(self):
        """Check the gateways for silence, then queue every equipment that has new readings, a sensor gone
        silent, or is due, in jobs of ``_batch_size``; equipment already waiting in a job is not queued
        twice. Returns how many equipment were queued."""
        now = fields.Datetime.now()
        self.env["mro.health.alert"]._sync_gateway_alerts(now)
        ids = self._candidates()
        for batch in split_every(self._batch_size, ids, list):
            self._enqueue(batch, now)
        self.env["ir.cron"]._notify_progress(done=len(ids), remaining=0)
        return len(ids)

    @api.model
    def _enqueue(self, ids, now):
        """One job that analyses the equipment ``ids``; they are marked as queued until it runs."""
        self.env.cr.execute(
            SQL("UPDATE maintenance_equipment SET mro_analysis_queued = %s WHERE id = ANY(%s)", now, ids)
        )
        description = self.env._("Health analysis of %(count)s equipment", count=len(ids))
        return self.with_delay(description=description)._job_analyze(ids)

    @api.model
    def _job_analyze(self, equipment_ids):
        """The job: analyse the equipment of one batch (those still there). Its result, shown in the job, is
        how many were analysed and how many failed."""
        equipments = self.env["maintenance.equipment"].browse(equipment_ids).exists()
        self._analyze(equipments)
        failed = len(equipments.filtered("mro_analysis_error"))
        return self.env._(
            "%(count)s equipment analysed, %(failed)s with an error", count=len(equipments), failed=failed
        )

    @api.model
    def _candidates(self, limit=None, count=False):
        """Equipment with readings newer than its last analysis, equipment with a sensor gone silent
        (its own silence limit, or its gateway's) that the last analysis did not see silent, plus
        sensorless equipment whose failure-history assessment is older than a day; not the equipment waiting in
        a queued job (unless it has waited longer than ``QUEUED_TTL``). Oldest analysis first."""
        now = fields.Datetime.now()
        query = SQL(
            """
            SELECT e.id
              FROM maintenance_equipment e
              LEFT JOIN LATERAL (
                   SELECT max(s.last_ts) AS newest, count(*) AS n,
                          bool_or(s.last_ts IS NOT NULL AND NOT COALESCE(s.mro_silent, FALSE) AND %(silent)s) AS hush
                     FROM mro_sensor s
                     LEFT JOIN mro_sensor_gateway g ON g.id = s.gateway_id
                     LEFT JOIN res_company c ON c.id = g.company_id
                    WHERE s.equipment_id = e.id AND s.active) s ON TRUE
             WHERE e.active
               AND (e.mro_analysis_queued IS NULL OR e.mro_analysis_queued < %(requeue)s)
               AND ((s.newest IS NOT NULL AND s.newest > COALESCE(e.mro_analysis_data_ts, '-infinity'))
                    OR s.hush
                    OR (s.n = 0 AND COALESCE(e.mro_last_analysis, '-infinity') < %(due)s))
             ORDER BY e.mro_last_analysis NULLS FIRST, e.id
            """,
            due=now - HISTORY_REFRESH,
            requeue=now - QUEUED_TTL,
            silent=self._silent_sql(now),
        )
        if count:
            self.env.cr.execute(SQL("SELECT count(*) FROM (%s) c", query))
            return self.env.cr.fetchone()[0]
        self.env.cr.execute(SQL("%s LIMIT %s", query, limit))
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _silent_sql(self, now):
        """SQL condition: sensor ``s`` (with its gateway ``g`` and the gateway's company ``c`` joined) has
        been silent longer than its own limit, or its gateway longer than the company's limit."""
        return SQL(
            """(s.last_ts < %(now)s - make_interval(secs => COALESCE(NULLIF(s.mro_silence_limit, 0), 3600))
                OR (g.last_seen IS NOT NULL AND COALESCE(c.mro_gateway_silence_minutes, 0) > 0
                    AND g.last_seen < %(now)s - make_interval(mins => c.mro_gateway_silence_minutes)))""",
            now=now,
        )

    @api.model
    def _analyze(self, equipments):
        """Analyse ``equipments`` (one batch): read, assess, write back, publish."""
        now = fields.Datetime.now()
        equipments = equipments.exists()
        if not equipments:
            return
        # The results are written on the sensors' rows, which ingest updates (last values) all the time: take
        # them first, so that no ingest commit in between makes this batch fail at its end (ingest skips rows
        # held here, see mro.sensor.reading._update_last_values).
        self.env.cr.execute(
            SQL(
                "SELECT id FROM mro_sensor WHERE equipment_id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                equipments.ids,
            )
        )
        self.env.cr.execute(
            SQL("UPDATE maintenance_equipment SET mro_analysis_queued = NULL WHERE id = ANY(%s)", equipments.ids)
        )
        Data, Assessment = self.env["mro.health.data"], self.env["mro.health.assessment"]
        sensors = Data._load_sensors(equipments, now)
        series = Data._load_series(equipments, sensors, now)
        weibull = Data._weibull_models(equipments.filtered(lambda e: not sensors.get(e.id)), now)
        populations = Data._populations(equipments, sensors)
        results, sensor_updates, fleets = [], [], {}
        for equipment in equipments:
            rows = sensors.get(equipment.id, [])
            try:
                result, per_sensor = Assessment._assess_one(
                    equipment, rows, series, weibull, now, equipment.company_id, fleets, populations
                )
            except Exception as exc:  # one bad equipment must not stop the run: it shows its error
                _logger.exception("Health analysis failed for equipment %s", equipment.id)
                result, per_sensor = Assessment._failed(equipment, rows, now, exc), []
            results.append(result)
            sensor_updates.extend(per_sensor)
        Assessment._write_results(results, sensor_updates)
        equipments.invalidate_recordset()
        self.env["mro.sensor"].invalidate_model()
        self.env["mro.health.publication"]._publish_batch(equipments, results, sensors, sensor_updates, now)
