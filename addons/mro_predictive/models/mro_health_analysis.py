import json
import logging
from datetime import datetime, timedelta

import numpy as np

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..analytics import (
    Baseline,
    FleetModel,
    OnsetPrior,
    SensorInput,
    assess_equipment,
    fit_weibull,
    population_baseline,
    weibull_p_fail_within,
    weibull_rul,
)
from .maintenance_equipment import from_days, to_days

_logger = logging.getLogger(__name__)


def _binary_array(data, dtype: str) -> np.ndarray:
    """A one-dimensional PostgreSQL array without NULLs in its binary format (``array_send``) as a
    numpy array: a 20-byte header, then a 4-byte length and the 8-byte big-endian value of each element."""
    return np.frombuffer(data, dtype=[("len", ">i4"), ("value", dtype)], offset=20)["value"].astype(float)


def _timestamp_array(data) -> np.ndarray:
    """A timestamp[] from ``array_send`` (microseconds since 2000-01-01) as days since the Unix epoch."""
    return (_binary_array(data, ">i8") / 1e6 + 946684800.0) / 86400.0


#: Equipment without sensors (failure-history models) are re-assessed at most this often.
HISTORY_REFRESH = timedelta(days=1)


class MroHealthAnalysis(models.AbstractModel):
    """Runs the analytics engine over equipment, in bounded batches, and publishes the results.

    Reads set-based (one query for the sensors of a batch, one for their hourly history), calls
    the pure engine (``analytics``) per equipment, writes the results back set-based, then opens
    or closes alerts, records predictions in the ledger and runs the prescriptive rules. One
    equipment that fails is logged, marked and skipped; the batch goes on.
    """

    _name = "mro.health.analysis"
    _description = "Equipment health analysis"

    #: Equipment per batch (one cron call); the scheduler commits between batches.
    _batch_size = 200

    # ------------------------------------------------------------------ entry points
    @api.model
    def _cron_analyze(self):
        """Check the gateways for silence, then analyse one batch of equipment that has new readings, a
        sensor gone silent, or is due; report progress."""
        self.env["mro.health.alert"]._sync_gateway_alerts(fields.Datetime.now())
        ids = self._candidates(self._batch_size)
        if ids:
            self._analyze(self.env["maintenance.equipment"].browse(ids))
        remaining = self._candidates(count=True) if len(ids) == self._batch_size else 0
        self.env["ir.cron"]._notify_progress(done=len(ids), remaining=remaining)
        return len(ids)

    @api.model
    def _candidates(self, limit=None, count=False):
        """Equipment with readings newer than its last analysis, equipment with a sensor gone silent
        (its own silence limit, or its gateway's) that the last analysis did not see silent, plus
        sensorless equipment whose failure-history assessment is older than a day. Oldest analysis first."""
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
               AND ((s.newest IS NOT NULL AND s.newest > COALESCE(e.analysis_data_ts, '-infinity'))
                    OR s.hush
                    OR (s.n = 0 AND COALESCE(e.last_analysis, '-infinity') < %(due)s))
             ORDER BY e.last_analysis NULLS FIRST, e.id
            """,
            due=now - HISTORY_REFRESH,
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

    # ------------------------------------------------------------------ analysis
    @api.model
    def _analyze(self, equipments):
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
        sensors = self._load_sensors(equipments, now)
        series = self._load_series(equipments, sensors, now)
        weibull = self._weibull_models(equipments.filtered(lambda e: not sensors.get(e.id)), now)
        populations = self._populations(equipments, sensors)
        results, sensor_updates, fleets = [], [], {}
        for equipment in equipments:
            company = equipment.company_id
            try:
                result, per_sensor = self._assess_one(
                    equipment, sensors.get(equipment.id, []), series, weibull, now, company, fleets, populations
                )
            except Exception as exc:  # one bad equipment must not stop the run
                _logger.exception("Health analysis failed for equipment %s", equipment.id)
                newest = max((s["last_ts"] for s in sensors.get(equipment.id, []) if s["last_ts"]), default=None)
                result = {
                    "id": equipment.id,
                    "analysis_error": str(exc)[:250] or type(exc).__name__,
                    "last_analysis": now,
                    "analysis_data_ts": newest,
                    "failed": True,
                }
                per_sensor = []
            results.append(result)
            sensor_updates.extend(per_sensor)
        self._write_results(results, sensor_updates)
        equipments.invalidate_recordset()
        self.env["mro.sensor"].invalidate_model()
        by_id = {r["id"]: r for r in results}
        poor_data = {s["id"] for s in sensor_updates if s["data_quality"]}
        context = self._publish_context(equipments)
        # Alerts and ledger rows are decided per equipment, then created for the whole batch at once;
        # the rules run last, with the predictions they may cite.
        pending = {"alerts": [], "predictions": []}
        published = []
        for equipment in equipments:
            result = by_id[equipment.id]
            sensor_ids = [row["id"] for row in sensors.get(equipment.id, [])]
            if result.get("failed") or not self._has_news(result, sensor_ids, poor_data, context):
                continue
            mine = {"alerts": [], "predictions": []}
            try:
                with self.env.cr.savepoint():
                    prediction = self._publish(equipment, result, now, context, pending=mine)
            except Exception:  # alerts or ledger failed: logged, the batch goes on
                _logger.exception("Publishing the analysis of equipment %s failed", equipment.id)
                continue
            pending["alerts"] += mine["alerts"]
            pending["predictions"] += mine["predictions"]
            published.append((equipment, prediction))
        new_predictions = self._create_pending(pending)
        if not context["rules"]:
            return
        for equipment, prediction in published:
            rules = context["rules"].filtered(
                lambda r, e=equipment: r.company_id in (e.company_id, r.env["res.company"])
            )
            if not rules:
                continue
            try:
                with self.env.cr.savepoint():
                    self.env["mro.prescriptive.rule"]._run_for(
                        equipment, prediction=prediction or new_predictions.get(equipment.id), now=now, rules=rules
                    )
            except Exception:  # one rule failing on one equipment: logged, the batch goes on
                _logger.exception("The prescriptive rules failed on equipment %s", equipment.id)

    @api.model
    def _create_pending(self, pending):
        """Create a batch's new alerts and ledger rows, in one call each; if that fails, one at a time
        so that one bad row is logged and skipped. Returns ``{equipment id: new prediction}``."""
        Alert, Prediction = self.env["mro.health.alert"], self.env["mro.prediction"]
        try:
            with self.env.cr.savepoint():
                Alert._create_machine_made(pending["alerts"])
                predictions = Prediction.create(pending["predictions"])
        except Exception:
            _logger.exception("Creating the batch's alerts and predictions failed; retrying one at a time")
            predictions = Prediction
            for model, vals_list in ((Alert, pending["alerts"]), (Prediction, pending["predictions"])):
                for vals in vals_list:
                    try:
                        with self.env.cr.savepoint():
                            record = model._create_machine_made([vals]) if model is Alert else model.create(vals)
                    except Exception:
                        _logger.exception("Creating %s for equipment %s failed", model._name, vals["equipment_id"])
                        continue
                    if model is Prediction:
                        predictions |= record
        return {p.equipment_id.id: p for p in predictions}

    @api.model
    def _assess_one(self, equipment, sensor_rows, series, weibull, now, company, fleets=None, populations=None):
        """Assess one equipment; returns (equipment values, sensor values). ``fleets`` caches the
        batch's deserialised fleet models (and onset priors, keyed ``("onset", id)``) by asset model id;
        ``populations``: the batch's population baselines (see :meth:`_populations`)."""
        populations = populations if populations is not None else {}
        horizon = company.mro_planning_horizon_days or 30
        confidence = company.mro_prediction_confidence or 0.8
        now_days = to_days(now)
        inputs = []
        for row in sensor_rows:
            t, y = series.get(row["id"], (np.empty(0), np.empty(0)))
            inputs.append(
                SensorInput(
                    key=row["id"],
                    t=t,
                    y=y,
                    warning=row["warning_limit"] or None,
                    alarm=row["alarm_limit"] or None,
                    physical_min=row["physical_min"] if row["physical_min"] or row["physical_max"] else None,
                    physical_max=row["physical_max"] or None,
                    baseline=self._baseline(row),
                    step=1.0 / 24.0,
                    label=f"[{row['code']}] {row['name']}",
                    **self._fleet_priors(equipment, row, populations),
                )
            )
        values = {
            "id": equipment.id,
            "last_analysis": now,
            "analysis_error": None,
            "analysis_data_ts": max((r["last_ts"] for r in sensor_rows if r["last_ts"]), default=None),
            "limiting_sensor_id": None,
            "data_from": None,
            "data_to": None,
            # Stale: a sensor or its gateway is silent. Health and RUL are then those of the data up to the
            # last reading, and the screens say so (mro_data_until) instead of showing them as current.
            "mro_health_stale": any(row["silent"] for row in sensor_rows),
            "mro_data_until": max((r["last_ts"] for r in sensor_rows if r["last_ts"]), default=None),
            "gateway_silent": {r["gateway_id"] for r in sensor_rows if r["gateway_silent"]},
        }
        per_sensor = []
        if inputs:
            prior = self._onset_prior(equipment, fleets if fleets is not None else {})
            assessment = assess_equipment(
                inputs, now=now_days, horizon=horizon, confidence=confidence, onset_prior=prior
            )
            rul = assessment.rul
            values.update(
                health_score=float(assessment.score),
                health_state=assessment.state,
                anomaly=bool(assessment.anomaly),
                health_reasons="\n".join(assessment.reasons) or None,
                limiting_sensor_id=assessment.limiting_key,
            )
            spans = [series[i.key][0] for i in inputs if i.key in series and len(series[i.key][0])]
            if spans:
                values["data_from"] = from_days(min(s[0] for s in spans))
                values["data_to"] = from_days(max(s[-1] for s in spans))
            stored = {row["id"]: row for row in sensor_rows}
            for sensor in assessment.sensors:
                baseline = sensor.baseline
                previous = stored[sensor.key]
                learned_now = baseline is not None and not previous["baseline_n"]
                per_sensor.append(
                    {
                        "id": sensor.key,
                        "baseline_median": baseline.median if baseline else None,
                        "baseline_mad": baseline.mad if baseline else None,
                        "baseline_n": baseline.n if baseline else None,
                        "baseline_learned_at": now if learned_now else previous["baseline_learned_at"],
                        "anomaly": bool(sensor.anomaly),
                        "anomaly_z": float(sensor.z) if sensor.z is not None and np.isfinite(sensor.z) else None,
                        "data_quality": ", ".join(sensor.quality) or None,
                        "analysis_note": "; ".join(sensor.reasons)[:250] or None,
                        "mro_silent": previous["silent"],
                    }
                )
        else:
            model, age = weibull.get(equipment.id, (None, 0.0))
            if model is None:
                rul = None
                reason = "No sensors and too little failure history for a Weibull model."
            else:
                rul = weibull_rul(model, age, confidence=confidence)
                reason = rul.reason
            values.update(
                health_score=None,
                health_state=None,
                anomaly=False,
                health_reasons=None,
                failure_probability=weibull_p_fail_within(model, age, horizon) if model else 0.0,
            )
            if rul is None:
                values.update(self._no_rul(reason))
                return values, per_sensor
        fleet = self._fleet_prediction(equipment, now, confidence, fleets if fleets is not None else {})
        if fleet is not None and fleet.ok:
            fleet.reason += f"; per-sensor model: {rul.reason}" if rul.ok else ""
            rul = fleet
        if rul.ok:
            values.update(
                rul_days=float(rul.rul),
                rul_lower_days=float(rul.lower),
                rul_upper_days=float(rul.upper),
                rul_confidence=float(rul.confidence),
                rul_quantiles=[round(float(q), 4) for q in rul.quantiles] if rul.quantiles is not None else None,
                predicted_failure_date=now + timedelta(days=float(rul.rul)),
                prediction_model=rul.model,
                prediction_reason=rul.reason,
            )
        else:
            values.update(self._no_rul(rul.reason))
        # The Weibull probability (sensorless equipment) or the RUL's, whichever is higher.
        values["failure_probability"] = max(values.get("failure_probability", 0.0), rul.p_fail_within(horizon))
        return values, per_sensor

    @api.model
    def _fleet_prediction(self, equipment, now, confidence, fleets):
        """The asset model's fleet model applied to the equipment's history since its last renewal
        (baselines restart there too), or None when there is no fitted fleet model."""
        model = equipment.mro_asset_model_id
        if not model.fleet_model:
            return None
        if model.id not in fleets:
            fleets[model.id] = FleetModel.from_dict(model.fleet_model)
        start = equipment.baseline_since or datetime.combine(
            equipment.effective_date or equipment.create_date.date(), datetime.min.time()
        )
        history = model._fleet_history(equipment, start, now)
        if history is None or len(history) < 3:
            return None
        return fleets[model.id].predict(history, confidence=confidence)

    @api.model
    def _populations(self, equipments, sensors):
        """{(asset model id, measure kind): (Baseline, note)}: the healthy level of the sensors of the same
        measure on equipment of the same asset model that learned their own baseline, for the batch's sensors
        that have none yet (one grouped query); else the asset model's shipped default (a healthy level well
        below its warning limit: the warning limit six robust sigmas above it)."""
        wanted = {
            (e.mro_asset_model_id.id, row["measure_kind"])
            for e in equipments.filtered("mro_asset_model_id")
            for row in sensors.get(e.id, [])
            if not row["baseline_n"]
        }
        if not wanted:
            return {}
        self.env.cr.execute(
            SQL(
                """SELECT e.mro_asset_model_id, s.measure_kind, s.baseline_median, s.baseline_mad, s.baseline_n
                     FROM mro_sensor s JOIN maintenance_equipment e ON e.id = s.equipment_id
                    WHERE s.active AND s.baseline_n > 0 AND e.mro_asset_model_id = ANY(%s)""",
                list({model for model, _kind in wanted}),
            )
        )
        learned = {}
        for model_id, kind, median, mad, n in self.env.cr.fetchall():
            learned.setdefault((model_id, kind), []).append(Baseline(median, mad, n))
        result = {}
        for key in wanted:
            if key in learned:
                result[key] = (
                    population_baseline(learned[key]),
                    _("population baseline of %s similar sensors of the asset model", len(learned[key])),
                )
                continue
            model = self.env["mro.asset.model"].browse(key[0])
            line = model.measure_ids.filtered(lambda m, k=key[1]: m.measure_kind == k)[:1]
            warning = line._sensor_limits().get("warning_limit") if line else 0.0
            if warning and warning > 0:
                healthy = 0.4 * warning
                result[key] = (
                    Baseline(healthy, (warning - healthy) / 6.0 / 1.4826, 0),
                    _("default healthy level of the asset model %s", model.display_name),
                )
        return result

    @api.model
    def _fleet_priors(self, equipment, row, populations):
        """What the fleet tells a sensor of ``equipment`` (its ``row``): the population baseline until it has
        its own, and the Bayesian exponential prior of its asset model's past failures for the measure it was
        learned on."""
        model = equipment.mro_asset_model_id
        extra = {}
        if model and not row["baseline_n"] and (model.id, row["measure_kind"]) in populations:
            extra["population"], extra["population_note"] = populations[(model.id, row["measure_kind"])]
        prior = model.degradation_prior or {}
        if prior and prior.get("measure_kind") == row["measure_kind"]:
            extra["prior"] = prior
        return extra

    @api.model
    def _onset_prior(self, equipment, cache):
        """The time from the onset of wear to failure learned from the past failures of the equipment's asset
        model (``mro.asset.model.onset_prior``), or None."""
        model = equipment.mro_asset_model_id
        if not model.onset_prior:
            return None
        key = ("onset", model.id)
        if key not in cache:
            cache[key] = OnsetPrior.from_dict(model.onset_prior)
        return cache[key]

    @staticmethod
    def _no_rul(reason):
        return {
            "rul_days": None,
            "rul_lower_days": None,
            "rul_upper_days": None,
            "rul_confidence": None,
            "rul_quantiles": None,
            "predicted_failure_date": None,
            "prediction_model": None,
            "prediction_reason": reason,
        }

    @staticmethod
    def _baseline(row):
        return Baseline(row["baseline_median"], row["baseline_mad"], row["baseline_n"]) if row["baseline_n"] else None

    # ------------------------------------------------------------------ data access
    @api.model
    def _load_sensors(self, equipments, now):
        """The active sensors of ``equipments`` as dicts, by equipment id; ``silent``: no reading for longer
        than the sensor's silence limit, or its gateway silent; ``gateway_silent``: the latter."""
        self.env.cr.execute(
            SQL(
                """SELECT s.id, s.equipment_id, s.code, s.name, s.measure_kind, s.warning_limit, s.alarm_limit,
                          s.physical_min,
                          s.physical_max, s.baseline_median, s.baseline_mad, s.baseline_n, s.baseline_learned_at,
                          s.last_ts, s.mro_silence_limit, s.gateway_id,
                          COALESCE(s.last_ts IS NOT NULL AND %(silent)s, FALSE) AS silent,
                          COALESCE(g.last_seen IS NOT NULL AND COALESCE(c.mro_gateway_silence_minutes, 0) > 0
                                   AND g.last_seen < %(now)s - make_interval(mins => c.mro_gateway_silence_minutes),
                                   FALSE) AS gateway_silent
                     FROM mro_sensor s
                     LEFT JOIN mro_sensor_gateway g ON g.id = s.gateway_id
                     LEFT JOIN res_company c ON c.id = g.company_id
                    WHERE s.equipment_id = ANY(%(ids)s) AND s.active ORDER BY s.equipment_id, s.id""",
                ids=equipments.ids,
                now=now,
                silent=self._silent_sql(now),
            )
        )
        sensors = {}
        for row in self.env.cr.dictfetchall():
            sensors.setdefault(row["equipment_id"], []).append(row)
        return sensors

    @api.model
    def _load_series(self, equipments, sensors, now):
        """Hourly means per sensor over the analysis window (after the last baseline reset):
        ``{sensor_id: (t_days, values)}``, one query for the whole batch."""
        ids, since = [], []
        for equipment in equipments:
            window = equipment.company_id.mro_analysis_window_days or 30
            start = now - timedelta(days=window)
            if equipment.baseline_since and equipment.baseline_since > start:
                start = equipment.baseline_since
            for row in sensors.get(equipment.id, []):
                ids.append(row["id"])
                since.append(fields.Datetime.to_string(start))
        if not ids:
            return {}
        # One index range scan per sensor, aggregated in time order, sent as PostgreSQL binary
        # arrays that numpy reads directly: no per-value conversion in Python. JIT compilation
        # costs more than it saves on these short scans.
        self.env.cr.execute(SQL("SET LOCAL jit = off"))
        self.env.cr.execute(
            SQL(
                """SELECT w.sensor_id, array_send(a.t), array_send(a.y)
                     FROM unnest(%s::int4[], %s::timestamp[]) AS w(sensor_id, since)
                    CROSS JOIN LATERAL (
                          SELECT array_agg(h.hour) AS t, array_agg(h.value_mean::float8) AS y
                            FROM (SELECT hour, value_mean FROM mro_sensor_reading_hourly
                                   WHERE sensor_id = w.sensor_id AND hour >= w.since ORDER BY hour) h) a
                    WHERE a.t IS NOT NULL""",
                ids,
                since,
            )
        )
        # Hours are stamped at their middle, in days since the epoch (the engine's unit).
        return {
            sensor_id: (_timestamp_array(t) + 1.0 / 48, _binary_array(y, ">f8"))
            for sensor_id, t, y in self.env.cr.fetchall()
        }

    @api.model
    def _ages(self, equipments, now):
        """Days since each equipment's last renewal: its last done corrective repair, else its
        in-service date. One grouped query for the batch."""
        repaired = dict(
            self.env["maintenance.request"]._read_group(
                [
                    ("equipment_id", "in", equipments.ids),
                    ("maintenance_type", "=", "corrective"),
                    ("stage_id.done", "=", True),
                ],
                ["equipment_id"],
                ["close_date:max"],
            )
        )
        return {
            e.id: max(0.0, (now.date() - (repaired.get(e) or e.effective_date or e.create_date.date())).days)
            for e in equipments
        }

    @api.model
    def _weibull_models(self, equipments, now):
        """``{equipment id: (Weibull fit or None, age in days)}``: one model per group of similar
        equipment (same asset model, else same category), fitted on their corrective failure history;
        failures found at an inspection are interval-censored between the last good inspection and the
        report, current ages right-censored."""
        if not equipments:
            return {}
        models_by_group, result = {}, {}
        ages = self._ages(equipments, now)
        for equipment in equipments:
            if equipment.mro_asset_model_id:
                group = [("mro_asset_model_id", "=", equipment.mro_asset_model_id.id)]
            elif equipment.category_id:
                group = [("category_id", "=", equipment.category_id.id)]
            else:
                group = [("id", "=", equipment.id)]
            key = str(group)
            if key not in models_by_group:
                models_by_group[key] = self._fit_group(self.env["maintenance.equipment"].search(group))
            result[equipment.id] = (models_by_group[key], ages[equipment.id])
        return result

    @api.model
    def _fit_group(self, group):
        requests = self.env["maintenance.request"].search(
            [("equipment_id", "in", group.ids), ("stage_id.done", "=", True)], order="request_date"
        )
        intervals, censored = [], []
        today = fields.Date.today()
        for equipment in group:
            renewed = equipment.effective_date or equipment.create_date.date()
            last_ok = renewed
            for request in requests.filtered(lambda r, e=equipment: r.equipment_id == e):
                if request.maintenance_type == "preventive":
                    last_ok = request.close_date or request.request_date
                    continue
                upper = (request.request_date - renewed).days
                lower = max(0, (last_ok - renewed).days) if last_ok > renewed else upper
                if upper > 0:
                    intervals.append((float(min(lower, upper)), float(upper)))
                renewed = last_ok = request.close_date or request.request_date
            age = (today - renewed).days
            if age > 0:
                censored.append(float(age))
        if len(intervals) < 2:
            return None
        return fit_weibull(intervals, censored)

    @api.model
    def _write_results(self, results, sensor_updates):
        """Write the analysis results back set-based: one statement for equipment, one for sensors."""
        columns = {
            "health_score": "float8",
            "health_state": "varchar",
            "anomaly": "bool",
            "health_reasons": "text",
            "rul_days": "float8",
            "rul_lower_days": "float8",
            "rul_upper_days": "float8",
            "rul_confidence": "float8",
            "rul_quantiles": "jsonb",
            "predicted_failure_date": "timestamp",
            "failure_probability": "float8",
            "prediction_model": "varchar",
            "prediction_reason": "text",
            "limiting_sensor_id": "int4",
            "last_analysis": "timestamp",
            "analysis_data_ts": "timestamp",
            "analysis_error": "varchar",
            "mro_health_stale": "bool",
            "mro_data_until": "timestamp",
        }
        full = [r for r in results if not r.get("failed")]
        failed = [r for r in results if r.get("failed")]
        if full:
            self._bulk_update("maintenance_equipment", columns, full)
        if failed:
            self._bulk_update(
                "maintenance_equipment",
                {"analysis_error": "varchar", "last_analysis": "timestamp", "analysis_data_ts": "timestamp"},
                failed,
            )
        if sensor_updates:
            self._bulk_update(
                "mro_sensor",
                {
                    "baseline_median": "float8",
                    "baseline_mad": "float8",
                    "baseline_n": "int4",
                    "baseline_learned_at": "timestamp",
                    "anomaly": "bool",
                    "anomaly_z": "float8",
                    "data_quality": "varchar",
                    "analysis_note": "varchar",
                    "mro_silent": "bool",
                },
                sensor_updates,
            )

    @api.model
    def _bulk_update(self, table, columns, rows):
        """UPDATE ``table`` from a list of dicts keyed by ``id``, in one statement (jsonb_to_recordset)."""

        def plain(value):
            if isinstance(value, datetime):
                return value.isoformat(sep=" ")  # keeps microseconds: compared with sensors' last_ts
            if isinstance(value, (np.floating, np.integer, np.bool_)):
                return value.item()
            return value

        payload = json.dumps([{k: plain(row.get(k)) for k in ("id", *columns)} for row in rows])
        self.env.cr.execute(
            SQL(
                "UPDATE %(table)s t SET %(sets)s FROM jsonb_to_recordset(%(payload)s::jsonb) AS v(%(cols)s) "
                "WHERE t.id = v.id",
                table=SQL.identifier(table),
                sets=SQL(", ").join(SQL("%s = v.%s", SQL.identifier(c), SQL.identifier(c)) for c in columns),
                payload=payload,
                cols=SQL(", ").join(
                    [SQL("id int4")] + [SQL("%s %s", SQL.identifier(c), SQL(t)) for c, t in columns.items()]
                ),
            )
        )

    # ------------------------------------------------------------------ publication
    @api.model
    def _publish_context(self, equipments):
        """What publishing needs for a whole batch, loaded once: open alerts, the latest prediction
        of each equipment, and the active rules."""
        alerts = self.env["mro.health.alert"].search(
            [("equipment_id", "in", equipments.ids), ("state", "!=", "closed")]
        )
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (equipment_id) equipment_id, id FROM mro_prediction
                    WHERE equipment_id = ANY(%s) ORDER BY equipment_id, published_at DESC, id DESC""",
                equipments.ids,
            )
        )
        last = dict(self.env.cr.fetchall())
        by_equipment = {e.id: self.env["mro.health.alert"] for e in equipments}
        for alert in alerts:
            by_equipment[alert.equipment_id.id] |= alert
        return {
            "alerts": by_equipment,
            "last_prediction": {e: self.env["mro.prediction"].browse(i) for e, i in last.items()},
            "rules": self.env["mro.prescriptive.rule"].search([]),
        }

    @api.model
    def _has_news(self, result, sensor_ids, poor_data, context):
        """Whether publishing could change anything: a condition to alert on, an alert to update or
        close, a prediction to record, or rules to run. Most healthy equipment has none. Decided
        from the analysis ``result`` (not re-read through the ORM) and the ids of sensors with
        data-quality findings."""
        return bool(
            result.get("mro_health_stale")
            or result.get("health_state") in ("warning", "critical")
            or result.get("anomaly")
            or result.get("predicted_failure_date")
            or context["alerts"].get(result["id"])
            or context["rules"]
            or poor_data.intersection(sensor_ids)
        )

    @api.model
    def _publish(self, equipment, result, now, context=None, pending=None):
        """Alerts, the prediction ledger and the prescriptive rules for one analysed equipment.

        With ``pending`` (``{"alerts": [], "predictions": []}``), new alerts and ledger rows are added
        there as values for the caller to create in bulk, and the rules are left to the caller;
        returns the equipment's current prediction when it is an existing one."""
        context = context or self._publish_context(equipment)
        conditions = {}
        state = equipment.health_state
        if state in ("warning", "critical"):
            conditions[("health", False)] = (
                "critical" if state == "critical" else "warning",
                equipment.health_reasons or state,
            )
        if equipment.anomaly:
            conditions[("anomaly", False)] = ("warning", equipment.health_reasons or "anomaly")
        horizon = equipment.company_id.mro_planning_horizon_days or 30
        if equipment.predicted_failure_date and equipment.rul_days < horizon:
            conditions[("rul", False)] = (
                "critical" if equipment.rul_days < horizon / 4 else "warning",
                f"Remaining useful life {equipment.rul_days:.1f} days ({equipment.rul_lower_days:.1f} - "
                f"{equipment.rul_upper_days:.1f}), model {equipment.prediction_model}",
            )
        for sensor in equipment.sensor_ids.filtered("data_quality"):
            conditions[("data_quality", sensor.id)] = ("info", f"{sensor.display_name}: {sensor.data_quality}")
        quiet_gateways = result.get("gateway_silent", ())
        for sensor in equipment.sensor_ids.filtered("mro_silent"):
            if sensor.gateway_id.id in quiet_gateways:
                continue  # the gateway's own alert says why (one alert for the cause, not one per sensor)
            since = fields.Datetime.to_string(sensor.last_ts)
            silence = _(
                "%(sensor)s: no reading since %(since)s UTC (limit %(hours)s h)",
                sensor=sensor.display_name,
                since=since,
                hours=round(sensor.mro_silence_limit / 3600.0, 1),
            )
            previous = conditions.get(("data_quality", sensor.id))
            conditions[("data_quality", sensor.id)] = (
                "warning",
                f"{silence}; {previous[1]}" if previous else silence,
            )
        self.env["mro.health.alert"]._sync_episodes(
            equipment,
            conditions,
            now,
            current=context["alerts"].get(equipment.id),
            to_create=pending["alerts"] if pending is not None else None,
        )
        prediction = self._record_prediction(
            equipment,
            result,
            now,
            context["last_prediction"].get(equipment.id, self.env["mro.prediction"]),
            to_create=pending["predictions"] if pending is not None else None,
        )
        if pending is not None:
            return prediction
        rules = context["rules"].filtered(lambda r: r.company_id in (equipment.company_id, r.env["res.company"]))
        if rules:
            self.env["mro.prescriptive.rule"]._run_for(equipment, prediction=prediction, now=now, rules=rules)

    @api.model
    def _record_prediction(self, equipment, result, now, last=None, to_create=None):
        """Add the prediction to the ledger when it is new or has changed materially (its date moved by
        more than max(1 day, 10% of the RUL) or its model changed), or a week after the last one.
        Returns the current prediction; with ``to_create`` (a list), a new one's values are added there
        instead and None is returned."""
        if not equipment.predicted_failure_date:
            return None
        Prediction = self.env["mro.prediction"]
        if last is None:
            last = Prediction.search([("equipment_id", "=", equipment.id)], order="published_at desc, id desc", limit=1)
        if last and last.state == "open" and last.model == equipment.prediction_model:
            moved = abs((last.predicted_failure_date - equipment.predicted_failure_date).total_seconds()) / 86400
            if moved <= max(1.0, 0.1 * equipment.rul_days) and now - last.published_at < timedelta(days=7):
                return last
        rul_now = equipment.last_analysis or now
        vals = {
            "equipment_id": equipment.id,
            "asset_model_id": equipment.mro_asset_model_id.id,
            "sensor_id": equipment.limiting_sensor_id.id,
            "published_at": now,
            "data_from": result.get("data_from"),
            "data_to": result.get("data_to"),
            "model": equipment.prediction_model,
            "reason": equipment.prediction_reason,
            "rul_days": equipment.rul_days,
            "rul_lower_days": equipment.rul_lower_days,
            "rul_upper_days": equipment.rul_upper_days,
            "confidence": equipment.rul_confidence,
            "predicted_failure_date": equipment.predicted_failure_date,
            "lower_date": rul_now + timedelta(days=equipment.rul_lower_days),
            "upper_date": rul_now + timedelta(days=equipment.rul_upper_days),
            "failure_probability": equipment.failure_probability,
            "horizon_days": equipment.company_id.mro_planning_horizon_days,
            "quantiles": equipment.rul_quantiles,
        }
        if to_create is not None:
            to_create.append(vals)
            return None
        return Prediction.create(vals)
