from odoo import fields, models


class ProductProduct(models.Model):
    _inherit = "product.product"

    mro_part_line_ids = fields.One2many("mro.equipment.part", "product_id", "Used on equipment")
    mro_used_count = fields.Integer("Used on", compute="_compute_mro_used_count")

    def _compute_mro_used_count(self):
        counts = dict(
            self.env["mro.equipment.part"]._read_group(
                [("product_id", "in", self.ids)], ["product_id"], ["equipment_id:count_distinct"]
            )
        )
        for product in self:
            product.mro_used_count = counts.get(product, 0)

    def action_view_mro_usage(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Where used"),
            "res_model": "mro.equipment.part",
            "view_mode": "list,form",
            "domain": [("product_id", "in", self.ids)],
        }

    def action_print_mro_labels(self):
        return self.env.ref("mro_jit_procurement.action_report_mro_part_label").report_action(self)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    mro_used_count = fields.Integer("Used on", compute="_compute_mro_used_count")

    def _compute_mro_used_count(self):
        for template in self:
            template.mro_used_count = sum(template.product_variant_ids.mapped("mro_used_count"))

    def action_view_mro_usage(self):
        return self.product_variant_ids.action_view_mro_usage()
