from datetime import timedelta

import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ..mro_analytics import Baseline, OnsetPrior, fit_weibull, population_baseline


def _binary_array(data, dtype: str) -> np.ndarray:
    """A one-dimensional PostgreSQL array without NULLs in its binary format (``array_send``) as a
    numpy array: a 20-byte header, then a 4-byte length and the 8-byte big-endian value of each element."""
    return np.frombuffer(data, dtype=[("len", ">i4"), ("value", dtype)], offset=20)["value"].astype(float)


def _timestamp_array(data) -> np.ndarray:
    """A timestamp[] from ``array_send`` (microseconds since 2000-01-01) as days since the Unix epoch."""
    return (_binary_array(data, ">i8") / 1e6 + 946684800.0) / 86400.0


class MroHealthData(models.AbstractModel):
    """What the health analysis reads, set-based, for a whole batch: the sensors and whether they are silent,
    their hourly history, their population baselines and priors, and the failure history of equipment without
    sensors."""

    _name = "mro.health.data"
    _description = "Equipment health analysis: data"

    @api.model
    def _load_sensors(self, equipments, now):
        """The active sensors of ``equipments`` as dicts, by equipment id; ``silent``: no reading for longer
        than the sensor's silence limit, or its gateway silent; ``gateway_silent``: the latter."""
        self.env.cr.execute(
            SQL(
                """SELECT s.id, s.equipment_id, s.code, s.name, s.measure_kind, s.warning_limit, s.alarm_limit,
                          s.physical_min,
                          s.physical_max, s.mro_baseline_median, s.mro_baseline_mad, s.mro_baseline_n,
                          s.mro_baseline_learned_at,
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
                silent=self.env["mro.health.analysis"]._silent_sql(now),
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
            if equipment.mro_baseline_since and equipment.mro_baseline_since > start:
                start = equipment.mro_baseline_since
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
    def _populations(self, equipments, sensors):
        """{(asset model id, measure kind): (Baseline, note)}: the healthy level of the sensors of the same
        measure on equipment of the same asset model that learned their own baseline, for the batch's sensors
        that have none yet (one grouped query); else the asset model's shipped default (a healthy level well
        below its warning limit: the warning limit six robust sigmas above it)."""
        wanted = {
            (e.mro_asset_model_id.id, row["measure_kind"])
            for e in equipments.filtered("mro_asset_model_id")
            for row in sensors.get(e.id, [])
            if not row["mro_baseline_n"]
        }
        if not wanted:
            return {}
        self.env.cr.execute(
            SQL(
                """SELECT e.mro_asset_model_id, s.measure_kind,
                           s.mro_baseline_median, s.mro_baseline_mad, s.mro_baseline_n
                     FROM mro_sensor s JOIN maintenance_equipment e ON e.id = s.equipment_id
                    WHERE s.active AND s.mro_baseline_n > 0 AND e.mro_asset_model_id = ANY(%s)""",
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
                    self.env._("population baseline of %s similar sensors of the asset model", len(learned[key])),
                )
                continue
            model = self.env["mro.asset.model"].browse(key[0])
            line = model.measure_ids.filtered(lambda m, k=key[1]: m.measure_kind == k)[:1]
            warning = line._sensor_limits().get("warning_limit") if line else 0.0
            if warning and warning > 0:
                healthy = 0.4 * warning
                result[key] = (
                    Baseline(healthy, (warning - healthy) / 6.0 / 1.4826, 0),
                    self.env._("default healthy level of the asset model %s", model.display_name),
                )
        return result

    @api.model
    def _fleet_priors(self, equipment, row, populations):
        """What the fleet tells a sensor of ``equipment`` (its ``row``): the population baseline until it has
        its own, and the Bayesian exponential prior of its asset model's past failures for the measure it was
        learned on."""
        model = equipment.mro_asset_model_id
        extra = {}
        if model and not row["mro_baseline_n"] and (model.id, row["measure_kind"]) in populations:
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
