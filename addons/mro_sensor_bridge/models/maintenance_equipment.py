from odoo import api, fields, models


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    mro_sensor_ids = fields.One2many("mro.sensor", "equipment_id", string="Sensors")
    mro_sensor_count = fields.Integer(compute="_compute_mro_sensor_count")

    @api.depends("mro_sensor_ids")
    def _compute_mro_sensor_count(self):
        counts = dict(
            self.env["mro.sensor"]._read_group([("equipment_id", "in", self.ids)], ["equipment_id"], ["__count"])
        )
        for equipment in self:
            equipment.mro_sensor_count = counts.get(equipment, 0)

    def action_view_sensors(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_sensor_bridge.mro_sensor_action")
        action["domain"] = [("equipment_id", "=", self.id)]
        action["context"] = {"default_equipment_id": self.id}
        return action
