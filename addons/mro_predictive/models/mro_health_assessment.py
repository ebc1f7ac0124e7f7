import json
from datetime import datetime, timedelta

import numpy as np

from odoo import api, models
from odoo.tools import SQL

from ..mro_analytics import Baseline, FleetModel, SensorInput, assess_equipment, weibull_p_fail_within, weibull_rul
from .maintenance_equipment import from_days, to_days


class MroHealthAssessment(models.AbstractModel):
    """Runs the pure engine (``analytics``) on one equipment and writes a batch's results back, set-based."""

    _name = "mro.health.assessment"
    _description = "Equipment health analysis: assessment and write-back"

    @api.model
    def _failed(self, equipment, rows, now, exc):
        """The values written for an equipment whose assessment failed: the error, shown on its form and
        searchable (*Analysis failed*), and the data seen, so that it is retried at its next new reading."""
        newest = max((row["last_ts"] for row in rows if row["last_ts"]), default=None)
        return {
            "id": equipment.id,
            "mro_analysis_error": str(exc)[:250] or type(exc).__name__,
            "mro_last_analysis": now,
            "mro_analysis_data_ts": newest,
            "failed": True,
        }

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
                    **self.env["mro.health.data"]._fleet_priors(equipment, row, populations),
                )
            )
        values = {
            "id": equipment.id,
            "mro_last_analysis": now,
            "mro_analysis_error": None,
            "mro_analysis_data_ts": max((r["last_ts"] for r in sensor_rows if r["last_ts"]), default=None),
            "mro_limiting_sensor_id": None,
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
            prior = self.env["mro.health.data"]._onset_prior(equipment, fleets if fleets is not None else {})
            assessment = assess_equipment(
                inputs, now=now_days, horizon=horizon, confidence=confidence, onset_prior=prior
            )
            rul = assessment.rul
            values.update(
                mro_health_score=float(assessment.score),
                mro_health_state=assessment.state,
                mro_anomaly=bool(assessment.anomaly),
                mro_health_reasons="\n".join(assessment.reasons) or None,
                mro_limiting_sensor_id=assessment.limiting_key,
            )
            spans = [series[i.key][0] for i in inputs if i.key in series and len(series[i.key][0])]
            if spans:
                values["data_from"] = from_days(min(s[0] for s in spans))
                values["data_to"] = from_days(max(s[-1] for s in spans))
            stored = {row["id"]: row for row in sensor_rows}
            for sensor in assessment.sensors:
                baseline = sensor.baseline
                previous = stored[sensor.key]
                learned_now = baseline is not None and not previous["mro_baseline_n"]
                per_sensor.append(
                    {
                        "id": sensor.key,
                        "mro_baseline_median": baseline.median if baseline else None,
                        "mro_baseline_mad": baseline.mad if baseline else None,
                        "mro_baseline_n": baseline.n if baseline else None,
                        "mro_baseline_learned_at": now if learned_now else previous["mro_baseline_learned_at"],
                        "mro_anomaly": bool(sensor.anomaly),
                        "mro_anomaly_z": float(sensor.z) if sensor.z is not None and np.isfinite(sensor.z) else None,
                        "mro_data_quality": ", ".join(sensor.quality) or None,
                        "mro_analysis_note": "; ".join(sensor.reasons)[:250] or None,
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
                mro_health_score=None,
                mro_health_state=None,
                mro_anomaly=False,
                mro_health_reasons=None,
                mro_failure_probability=weibull_p_fail_within(model, age, horizon) if model else 0.0,
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
                mro_rul_days=float(rul.rul),
                mro_rul_lower_days=float(rul.lower),
                mro_rul_upper_days=float(rul.upper),
                mro_rul_confidence=float(rul.confidence),
                mro_rul_quantiles=[round(float(q), 4) for q in rul.quantiles] if rul.quantiles is not None else None,
                mro_predicted_failure_date=now + timedelta(days=float(rul.rul)),
                mro_prediction_model=rul.model,
                mro_prediction_reason=rul.reason,
            )
        else:
            values.update(self._no_rul(rul.reason))
        # The Weibull probability (sensorless equipment) or the RUL's, whichever is higher.
        values["mro_failure_probability"] = max(values.get("mro_failure_probability", 0.0), rul.p_fail_within(horizon))
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
        start = equipment.mro_baseline_since or datetime.combine(
            equipment.effective_date or equipment.create_date.date(), datetime.min.time()
        )
        history = model._fleet_history(equipment, start, now)
        if history is None or len(history) < 3:
            return None
        return fleets[model.id].predict(history, confidence=confidence)

    @staticmethod
    def _no_rul(reason):
        return {
            "mro_rul_days": None,
            "mro_rul_lower_days": None,
            "mro_rul_upper_days": None,
            "mro_rul_confidence": None,
            "mro_rul_quantiles": None,
            "mro_predicted_failure_date": None,
            "mro_prediction_model": None,
            "mro_prediction_reason": reason,
        }

    @staticmethod
    def _baseline(row):
        return (
            Baseline(row["mro_baseline_median"], row["mro_baseline_mad"], row["mro_baseline_n"])
            if row["mro_baseline_n"]
            else None
        )

    @api.model
    def _write_results(self, results, sensor_updates):
        """Write the analysis results back set-based: one statement for equipment, one for sensors."""
        columns = {
            "mro_health_score": "float8",
            "mro_health_state": "varchar",
            "mro_anomaly": "bool",
            "mro_health_reasons": "text",
            "mro_rul_days": "float8",
            "mro_rul_lower_days": "float8",
            "mro_rul_upper_days": "float8",
            "mro_rul_confidence": "float8",
            "mro_rul_quantiles": "jsonb",
            "mro_predicted_failure_date": "timestamp",
            "mro_failure_probability": "float8",
            "mro_prediction_model": "varchar",
            "mro_prediction_reason": "text",
            "mro_limiting_sensor_id": "int4",
            "mro_last_analysis": "timestamp",
            "mro_analysis_data_ts": "timestamp",
            "mro_analysis_error": "varchar",
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
                {
                    "mro_analysis_error": "varchar",
                    "mro_last_analysis": "timestamp",
                    "mro_analysis_data_ts": "timestamp",
                },
                failed,
            )
        if sensor_updates:
            self._bulk_update(
                "mro_sensor",
                {
                    "mro_baseline_median": "float8",
                    "mro_baseline_mad": "float8",
                    "mro_baseline_n": "int4",
                    "mro_baseline_learned_at": "timestamp",
                    "mro_anomaly": "bool",
                    "mro_anomaly_z": "float8",
                    "mro_data_quality": "varchar",
                    "mro_analysis_note": "varchar",
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
