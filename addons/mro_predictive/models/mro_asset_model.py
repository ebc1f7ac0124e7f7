from odoo import _, api, fields, models
from odoo.addons.mro_sensor_bridge.models.mro_sensor import MEASURE_KINDS
from odoo.exceptions import UserError

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
    equipment_ids = fields.One2many("maintenance.equipment", "mro_asset_model_id", string="Equipment")
    equipment_count = fields.Integer(compute="_compute_equipment_count")
    description = fields.Text(translate=True)

    @api.depends("iso_group", "foundation")
    def _compute_zones(self):
        for model in self:
            zones = vibration_zones(model.iso_group, model.foundation)
            model.zone_ab, model.zone_bc, model.zone_cd = zones.ab, zones.bc, zones.cd

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
            existing = equip.with_context(active_test=False).sensor_ids
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
            raise UserError(_("%s: the warning limit is above the alarm limit.", self.display_name))
        return values
