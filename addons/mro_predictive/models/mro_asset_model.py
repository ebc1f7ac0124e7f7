from datetime import datetime

import numpy as np

from odoo import api, fields, models
from odoo.addons.mro_sensor_bridge.models.mro_sensor import MEASURE_KINDS
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..standards import vibration_zones


class MroAssetModel(models.Model):
    """A template for a kind of machine: the measures it should have and their limits."""

    _name = "mro.asset.model"
    _description = "Asset Model"
    _order = "machine_kind, name"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    machine_kind = fields.Selection(
        [
            ("pump", "Centrifugal pump"),
            ("motor", "Electric motor"),
            ("fan", "Fan"),
            ("compressor", "Compressor"),
            ("conveyor", "Conveyor"),
            ("gearbox", "Gearbox"),
            ("other", "Other"),
        ],
        required=True,
        default="other",
    )
    iso_group = fields.Selection(
        [("group1", "Group 1: large, 300 kW - 50 MW"), ("group2", "Group 2: medium, 15 - 300 kW")],
        string="ISO 10816-3 machine group",
        required=True,
        default="group2",
    )
    foundation = fields.Selection([("rigid", "Rigid"), ("flexible", "Flexible")], required=True, default="rigid")
    zone_ab = fields.Float("Zone A/B (mm/s)", compute="_compute_zones", digits=(16, 1))
    zone_bc = fields.Float("Zone B/C (mm/s)", compute="_compute_zones", digits=(16, 1))
    zone_cd = fields.Float("Zone C/D (mm/s)", compute="_compute_zones", digits=(16, 1))
    measure_ids = fields.One2many("mro.asset.model.measure", "asset_model_id", string="Expected measures", copy=True)
    equipment_ids = fields.One2many("maintenance.equipment", "mro_asset_model_id")
    equipment_count = fields.Integer(compute="_compute_equipment_count")
    description = fields.Text(translate=True)
    fleet_model = fields.Json(readonly=True, copy=False, help="The fitted fleet model (mro_analytics.FleetModel).")
    fleet_fitted_at = fields.Datetime("Fleet model fitted", readonly=True, copy=False)
    fleet_histories = fields.Integer("Run-to-failure histories", readonly=True, copy=False)
    fleet_note = fields.Char(readonly=True, copy=False)
    onset_prior = fields.Json(
        readonly=True,
        copy=False,
        help="Days from the onset of wear to failure of this model's past failures (mro_analytics.OnsetPrior): the "
        "single-equipment forecast of an anomaly leans on them.",
    )
    degradation_prior = fields.Json(
        readonly=True,
        copy=False,
        help="The Bayesian exponential model's prior of the growth rate, learned from past failures "
        "(mro_analytics.learn_exponential_prior), for the measure it was learned on.",
    )
    degradation_prior_failures = fields.Integer("Failures behind the degradation prior", readonly=True, copy=False)
    onset_prior_failures = fields.Integer(
        "Failures with an onset of wear",
        readonly=True,
        copy=False,
        help="Past failures whose sensors showed when the wear began; three or more make the failure history that "
        "forecasts of this model's equipment lean on when an anomaly appears.",
    )
    onset_prior_median = fields.Float(
        "Onset to failure (median, days)", compute="_compute_onset_prior_median", digits=(16, 1)
    )

    @api.depends("iso_group", "foundation")
    def _compute_zones(self):
        for model in self:
            zones = vibration_zones(model.iso_group, model.foundation)
            model.zone_ab, model.zone_bc, model.zone_cd = zones.ab, zones.bc, zones.cd

    @api.depends("onset_prior")
    def _compute_onset_prior_median(self):
        for model in self:
            durations = (model.onset_prior or {}).get("durations") or []
            model.onset_prior_median = float(np.median(durations)) if durations else 0.0

    def _compute_equipment_count(self):
        counts = dict(
            self.env["maintenance.equipment"]._read_group(
                [("mro_asset_model_id", "in", self.ids)], ["mro_asset_model_id"], ["__count"]
            )
        )
        for model in self:
            model.equipment_count = counts.get(model, 0)

    def _apply_to(self, equipment):
        """Create the missing sensors of ``equipment`` and set every expected measure's limits.

        An existing sensor of the same measure kind (and name, when several) keeps its source
        settings; only its limits and unit follow the template. Returns the sensors touched.
        """
        self.ensure_one()
        Sensor = self.env["mro.sensor"]
        touched = Sensor
        for equip in equipment:
            prefix = equip.mro_code_prefix()
            existing = equip.with_context(active_test=False).mro_sensor_ids
            for line in self.measure_ids:
                values = line._sensor_limits()
                sensor = existing.filtered(lambda s, ln=line: s.measure_kind == ln.measure_kind and s.name == ln.name)
                sensor = sensor or existing.filtered(
                    lambda s, ln=line, done=touched: s.measure_kind == ln.measure_kind and s not in done
                )
                if sensor:
                    sensor[:1].write(values)
                    touched |= sensor[:1]
                else:
                    touched |= Sensor.create(
                        {
                            **values,
                            "code": f"{prefix}-{line.code_suffix}",
                            "name": line.name,
                            "equipment_id": equip.id,
                            "measure_kind": line.measure_kind,
                            "protocol": "manual",
                        }
                    )
            equip.mro_asset_model_id = self
        return touched

    # ---------------------------------------------------------------- fleet learning
    def _fleet_kinds(self):
        """The measure kinds the fleet model reads, in the template's order."""
        return list(dict.fromkeys(self.measure_ids.mapped("measure_kind")))

    def _fleet_history(self, equipment, start, end):
        """The equipment's history between ``start`` and ``end`` (naive UTC) as a 2-D array: days since
        ``start``, then the hourly mean of its first sensor of each expected measure kind, on the hours
        where all of them have a value. ``None`` when a measure has no sensor."""
        self.ensure_one()
        sensors = []
        for kind in self._fleet_kinds():
            sensor = equipment.mro_sensor_ids.filtered(lambda s, k=kind: s.measure_kind == k)[:1]
            if not sensor:
                return None
            sensors.append(sensor.id)
        self.env.cr.execute(
            SQL(
                """SELECT extract(epoch FROM hour)::float8,
                          array_agg(value_mean::float8 ORDER BY array_position(%s, sensor_id))
                     FROM mro_sensor_reading_hourly
                    WHERE sensor_id = ANY(%s) AND hour >= %s AND hour < %s
                    GROUP BY hour HAVING count(*) = %s ORDER BY hour""",
                sensors,
                sensors,
                start,
                end,
                len(sensors),
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return np.empty((0, 1 + len(sensors)))
        origin = (start - datetime(1970, 1, 1)).total_seconds()
        return np.array([[(ts - origin) / 86400.0, *values] for ts, values in rows], dtype=float)

    def action_fit_fleet_model(self):
        """Learn a fleet model from this asset model's run-to-failure histories: the sensor history of
        each equipment before each of its done corrective requests (from the previous one, or its
        in-service date). Needs at least five such histories. From the same histories (their last analysis
        window), the time from the onset of wear to failure (``mro_analytics.learn_onset_prior``, at least three)."""
        from ..mro_analytics import FleetModel, learn_exponential_prior, learn_onset_prior

        for model in self:
            histories = []
            for equipment in model.equipment_ids:
                failures = self.env["maintenance.request"].search(
                    [
                        ("equipment_id", "=", equipment.id),
                        ("maintenance_type", "=", "corrective"),
                        ("stage_id.done", "=", True),
                    ],
                    order="request_date, id",
                )
                renewed = equipment.effective_date or equipment.create_date.date()
                start = datetime.combine(renewed, datetime.min.time())
                for request in failures:
                    end = request._mro_failure_date()
                    history = model._fleet_history(equipment, start, end)
                    if history is not None and len(history) >= 24:
                        histories.append(history)
                    start = end
            values = {"fleet_histories": len(histories), "fleet_fitted_at": fields.Datetime.now()}
            # The onset of wear is looked for as the analysis sees a machine: in its last window of data.
            window = self.env.company.mro_analysis_window_days or 30
            prior = learn_onset_prior([h[h[:, 0] > h[-1, 0] - window] for h in histories])
            values.update(
                onset_prior=prior.to_dict() if prior else False,
                onset_prior_failures=prior.durations.size if prior else 0,
            )
            # The degradation prior of the exponential model, on the first measure (the template's main one).
            kinds = model._fleet_kinds()
            degradation = learn_exponential_prior([(h[:, 0], h[:, 1]) for h in histories]) if kinds else None
            values.update(
                degradation_prior={**degradation, "measure_kind": kinds[0]} if degradation else False,
                degradation_prior_failures=degradation["failures"] if degradation else 0,
            )
            if len(histories) >= 5:
                values.update(fleet_model=FleetModel().fit(histories).to_dict(), fleet_note=False)
            else:
                values.update(
                    fleet_model=False,
                    fleet_note=self.env._("%s run-to-failure histories; at least 5 are needed.", len(histories)),
                )
            model.write(values)
        return True

    @api.model
    def _cron_fit_fleet_models(self):
        self.search([("equipment_ids", "!=", False)]).action_fit_fleet_model()

    def action_view_equipment(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("maintenance.hr_equipment_action")
        action["domain"] = [("mro_asset_model_id", "=", self.id)]
        return action


class MroAssetModelMeasure(models.Model):
    _name = "mro.asset.model.measure"
    _description = "Asset Model: expected measure"
    _order = "asset_model_id, sequence, id"

    asset_model_id = fields.Many2one("mro.asset.model", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    code_suffix = fields.Char(required=True, help="Appended to the equipment's code to make the sensor code.")
    measure_kind = fields.Selection(MEASURE_KINDS, required=True, default="vibration_velocity")
    unit = fields.Char()
    use_iso_zones = fields.Boolean(
        "ISO 10816-3 limits",
        default=True,
        help="Warning at the B/C boundary and alarm at the C/D boundary of the model's machine group and foundation.",
    )
    warning_limit = fields.Float()
    alarm_limit = fields.Float()
    physical_min = fields.Float()
    physical_max = fields.Float()

    def _sensor_limits(self):
        self.ensure_one()
        values = {"physical_min": self.physical_min, "physical_max": self.physical_max}
        if self.unit:
            values["unit"] = self.unit
        if self.measure_kind == "vibration_velocity" and self.use_iso_zones:
            model = self.asset_model_id
            values.update(warning_limit=model.zone_bc, alarm_limit=model.zone_cd)
        else:
            values.update(warning_limit=self.warning_limit, alarm_limit=self.alarm_limit)
        if values["warning_limit"] and values["alarm_limit"] and values["warning_limit"] > values["alarm_limit"]:
            raise UserError(self.env._("%s: the warning limit is above the alarm limit.", self.display_name))
        return values
