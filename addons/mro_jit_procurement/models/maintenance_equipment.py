from odoo import fields, models


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    mro_part_ids = fields.One2many("mro.equipment.part", "equipment_id", "Spare parts")
    mro_need_ids = fields.One2many("mro.part.need", "equipment_id", "Part needs")
    mro_need_count = fields.Integer(compute="_compute_mro_need_count")

    def _compute_mro_need_count(self):
        counts = dict(
            self.env["mro.part.need"]._read_group(
                [("equipment_id", "in", self.ids), ("state", "not in", ("done", "cancel"))],
                ["equipment_id"],
                ["__count"],
            )
        )
        for equipment in self:
            equipment.mro_need_count = counts.get(equipment, 0)

    def action_view_mro_needs(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_part_need_action")
        action["domain"] = [("equipment_id", "in", self.ids)]
        return action

    def action_print_mro_labels(self):
        return self.env.ref("mro_jit_procurement.action_report_mro_equipment_label").report_action(self)
