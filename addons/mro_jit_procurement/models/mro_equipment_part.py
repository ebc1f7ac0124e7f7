from odoo import api, fields, models


class MroEquipmentPart(models.Model):
    """One line of an equipment's spare-parts list: what to replace, how many, and which failure it answers."""

    _name = "mro.equipment.part"
    _description = "Equipment Spare Part"
    _order = "equipment_id, sequence, id"

    sequence = fields.Integer(default=10)
    equipment_id = fields.Many2one("maintenance.equipment", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="equipment_id.company_id", store=True, index=True)
    product_id = fields.Many2one(
        "product.product", "Part", required=True, index=True, domain=[("type", "=", "consu")], ondelete="restrict"
    )
    quantity = fields.Float("Quantity per replacement", default=1.0, required=True)
    uom_id = fields.Many2one(related="product_id.uom_id")
    sensor_id = fields.Many2one(
        "mro.sensor", "Answers sensor", domain="[('equipment_id', '=', equipment_id)]", ondelete="set null"
    )
    failure_mode = fields.Char(help="The failure this part is replaced for, e.g. 'bearing wear'.")
    critical = fields.Boolean(help="The equipment cannot run without it: stockouts of critical parts are KPIs.")
    criticality = fields.Selection(related="equipment_id.mro_criticality", store=True)
    equipment_active = fields.Boolean(compute="_compute_equipment_active", store=True)

    _sql_constraints = [
        ("quantity_positive", "CHECK(quantity > 0)", "The quantity per replacement must be positive."),
    ]

    @api.depends("equipment_id.active", "equipment_id.scrap_date")
    def _compute_equipment_active(self):
        for line in self:
            line.equipment_active = bool(line.equipment_id.active and not line.equipment_id.scrap_date)

    @api.model
    def get_import_templates(self):
        """The template of Odoo's standard import: equipment, part (internal reference), quantity, critical."""
        return [
            {
                "label": self.env._("Import template for spare-parts lists"),
                "template": "/mro_jit_procurement/static/templates/spare_parts_lists.csv",
            }
        ]
