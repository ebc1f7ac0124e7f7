from odoo import fields, models


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    mro_part_ids = fields.One2many("mro.equipment.part", "equipment_id", "Spare parts")
    mro_production_impact = fields.Selection(
        [("high", "High: stops a line"), ("medium", "Medium: slows production"), ("low", "Low"), ("none", "None")],
        "Production impact",
        help="What a failure does to production (the criticality audit suggests A/B/C from it and the history).",
    )
    mro_criticality_reviewed = fields.Boolean(
        "Criticality reviewed", help="Someone ranked this equipment (the criticality audit counts them)."
    )
    mro_criticality_suggested = fields.Selection(
        [("A", "A"), ("B", "B"), ("C", "C")], "Suggested criticality", compute="_compute_mro_criticality_suggested"
    )
    mro_criticality_basis = fields.Char("Why", compute="_compute_mro_criticality_suggested")
    mro_need_ids = fields.One2many("mro.part.need", "equipment_id", "Part needs")
    mro_need_count = fields.Integer(compute="_compute_mro_need_count")

    def _compute_mro_criticality_suggested(self):
        suggestions = self.env["mro.setup"]._criticality_suggestions(self)
        for equipment in self:
            suggestion = suggestions[equipment.id]
            equipment.mro_criticality_suggested = suggestion.letter
            equipment.mro_criticality_basis = "; ".join(suggestion.reasons)

    def write(self, vals):
        if "mro_criticality" in vals and "mro_criticality_reviewed" not in vals:
            vals = {**vals, "mro_criticality_reviewed": True}
        return super().write(vals)

    def action_mro_apply_criticality_suggestion(self):
        """Take the suggested criticality (the audit's bulk action)."""
        for letter in ("A", "B", "C"):
            self.filtered(lambda e, c=letter: e.mro_criticality_suggested == c).write({"mro_criticality": letter})
        return True

    def action_mro_apply_suggested_asset_model(self):
        """Set the suggested asset model where there is none, and apply it (sensors and limits)."""
        for equipment in self.filtered(lambda e: not e.mro_asset_model_id and e.mro_asset_model_suggested_id):
            equipment.mro_asset_model_id = equipment.mro_asset_model_suggested_id
            equipment.mro_asset_model_id._apply_to(equipment)
        return True

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
