import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class MroHealthPublication(models.AbstractModel):
    """What an analysis publishes: the alerts of each condition episode, the prediction ledger, and the
    prescriptive rules. Decided per equipment, created for the whole batch at once."""

    _name = "mro.health.publication"
    _description = "Equipment health analysis: publication"

    @api.model
    def _publish_context(self, equipments):
        """What publishing needs for a whole batch, loaded once: open alerts, the latest prediction
        of each equipment, and the active rules."""
        alerts = self.env["mro.health.alert"].search(
            [("equipment_id", "in", equipments.ids), ("state", "!=", "closed")]
        )
        by_equipment = {e.id: self.env["mro.health.alert"] for e in equipments}
        for alert in alerts:
            by_equipment[alert.equipment_id.id] |= alert
        return {
            "alerts": by_equipment,
            "last_prediction": self.env["mro.prediction"]._latest_by_equipment(equipments),
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
            or result.get("mro_health_state") in ("warning", "critical")
            or result.get("mro_anomaly")
            or result.get("mro_predicted_failure_date")
            or context["alerts"].get(result["id"])
            or context["rules"]
            or poor_data.intersection(sensor_ids)
        )

    @api.model
    def _publish_batch(self, equipments, results, sensors, sensor_updates, now):
        """Alerts, ledger rows and rules for an analysed batch. Decided per equipment, created for the whole
        batch at once; the rules run last, with the predictions they may cite. A failure on one equipment is
        shown on its form (*analysis error*) and the batch goes on."""
        context = self._publish_context(equipments)
        by_id = {r["id"]: r for r in results}
        poor_data = {s["id"] for s in sensor_updates if s["mro_data_quality"]}
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
                    prediction = self._publish(equipment, result, now, context, mine)
            except Exception as exc:  # alerts or ledger of one equipment failed: shown on it, the batch goes on
                self._show_error(equipment, self.env._("Publishing alerts and predictions failed: %s", exc))
                continue
            pending["alerts"] += mine["alerts"]
            pending["predictions"] += mine["predictions"]
            published.append((equipment, prediction))
        new_predictions = self._create_pending(pending)
        for equipment, prediction in published:
            self._run_rules(equipment, prediction or new_predictions.get(equipment.id), context["rules"], now)

    @api.model
    def _run_rules(self, equipment, prediction, rules, now):
        """The prescriptive rules of ``equipment``'s company (or of every company) on it; a failure is shown
        on the equipment and on the rule's chatter."""
        rules = rules.filtered_domain(rules._company_domain(equipment.company_id))
        for rule in rules:
            try:
                with self.env.cr.savepoint():
                    self.env["mro.prescriptive.rule"]._run_for(equipment, prediction=prediction, now=now, rules=rule)
            except Exception as exc:  # one rule failing on one equipment: shown on both, the others run
                message = self.env._(
                    "Rule %(rule)s failed on %(equipment)s: %(error)s",
                    rule=rule.name,
                    equipment=equipment.display_name,
                    error=exc,
                )
                self._show_error(equipment, message)
                rule._mro_post(body=message)

    @api.model
    def _show_error(self, equipment, message):
        """A failure the people of ``equipment`` should know about: on its form (*analysis error*, searchable),
        and in the server log."""
        _logger.exception("%s (equipment %s)", message, equipment.id)
        # sudo: mro_analysis_error is a machine field, written by the system only.
        equipment.sudo().write({"mro_analysis_error": str(message)[:250]})

    @api.model
    def _conditions(self, equipment, result):
        """{(kind, sensor id or False): (severity, message)}: the conditions of ``equipment`` to alert on."""
        conditions = {}
        state = equipment.mro_health_state
        if state in ("warning", "critical"):
            conditions[("health", False)] = (
                "critical" if state == "critical" else "warning",
                equipment.mro_health_reasons or state,
            )
        if equipment.mro_anomaly:
            conditions[("anomaly", False)] = ("warning", equipment.mro_health_reasons or "anomaly")
        horizon = equipment.company_id.mro_planning_horizon_days or 30
        if equipment.mro_predicted_failure_date and equipment.mro_rul_days < horizon:
            conditions[("rul", False)] = (
                "critical" if equipment.mro_rul_days < horizon / 4 else "warning",
                f"Remaining useful life {equipment.mro_rul_days:.1f} days ({equipment.mro_rul_lower_days:.1f} - "
                f"{equipment.mro_rul_upper_days:.1f}), model {equipment.mro_prediction_model}",
            )
        for sensor in equipment.mro_sensor_ids.filtered("mro_data_quality"):
            conditions[("data_quality", sensor.id)] = ("info", f"{sensor.display_name}: {sensor.mro_data_quality}")
        quiet_gateways = result.get("gateway_silent", ())
        for sensor in equipment.mro_sensor_ids.filtered("mro_silent"):
            if sensor.gateway_id.id in quiet_gateways:
                continue  # the gateway's own alert says why (one alert for the cause, not one per sensor)
            silence = self.env._(
                "%(sensor)s: no reading since %(since)s UTC (limit %(hours)s h)",
                sensor=sensor.display_name,
                since=fields.Datetime.to_string(sensor.last_ts),
                hours=round(sensor.mro_silence_limit / 3600.0, 1),
            )
            previous = conditions.get(("data_quality", sensor.id))
            conditions[("data_quality", sensor.id)] = ("warning", f"{silence}; {previous[1]}" if previous else silence)
        return conditions

    @api.model
    def _publish(self, equipment, result, now, context, pending):
        """Alerts and the ledger for one analysed equipment: new alerts and ledger rows are added to
        ``pending`` (``{"alerts": [], "predictions": []}``) for the batch to create at once. Returns the
        equipment's current prediction when it is an existing one."""
        self.env["mro.health.alert"]._sync_episodes(
            equipment, self._conditions(equipment, result), now, context["alerts"].get(equipment.id), pending["alerts"]
        )
        last = context["last_prediction"].get(equipment.id, self.env["mro.prediction"])
        return self._record_prediction(equipment, result, now, last, pending["predictions"])

    @api.model
    def _record_prediction(self, equipment, result, now, last, to_create):
        """Add the prediction to the ledger (its values to ``to_create``) when it is new or has changed
        materially (its date moved by more than max(1 day, 10% of the RUL) or its model changed), or a week
        after the last one. Returns ``last`` when it still stands, else None."""
        if not equipment.mro_predicted_failure_date:
            return None
        if last and last.state == "open" and last.model == equipment.mro_prediction_model:
            moved = abs((last.predicted_failure_date - equipment.mro_predicted_failure_date).total_seconds()) / 86400
            if moved <= max(1.0, 0.1 * equipment.mro_rul_days) and now - last.published_at < timedelta(days=7):
                return last
        to_create.append(self._prepare_prediction_vals(equipment, result, now))
        return None

    @api.model
    def _prepare_prediction_vals(self, equipment, result, now):
        """Values of the ledger row that records ``equipment``'s current prediction (a hook for integrators)."""
        rul_now = equipment.mro_last_analysis or now
        return {
            "equipment_id": equipment.id,
            "asset_model_id": equipment.mro_asset_model_id.id,
            "sensor_id": equipment.mro_limiting_sensor_id.id,
            "published_at": now,
            "data_from": result.get("data_from"),
            "data_to": result.get("data_to"),
            "model": equipment.mro_prediction_model,
            "reason": equipment.mro_prediction_reason,
            "rul_days": equipment.mro_rul_days,
            "rul_lower_days": equipment.mro_rul_lower_days,
            "rul_upper_days": equipment.mro_rul_upper_days,
            "confidence": equipment.mro_rul_confidence,
            "predicted_failure_date": equipment.mro_predicted_failure_date,
            "lower_date": rul_now + timedelta(days=equipment.mro_rul_lower_days),
            "upper_date": rul_now + timedelta(days=equipment.mro_rul_upper_days),
            "failure_probability": equipment.mro_failure_probability,
            "horizon_days": equipment.company_id.mro_planning_horizon_days,
            "quantiles": equipment.mro_rul_quantiles,
        }

    @api.model
    def _create_pending(self, pending):
        """Create a batch's new alerts and ledger rows, in one call each; if that fails, one at a time so
        that one bad row is skipped and shown on its equipment. Returns ``{equipment id: new prediction}``."""
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
                    except Exception as exc:
                        equipment = self.env["maintenance.equipment"].browse(vals["equipment_id"])
                        self._show_error(equipment, self.env._("Recording %(what)s failed: %(error)s",
                                                      what=model._description, error=exc))  # fmt: skip
                        continue
                    if model is Prediction:
                        predictions |= record
        return {p.equipment_id.id: p for p in predictions}
