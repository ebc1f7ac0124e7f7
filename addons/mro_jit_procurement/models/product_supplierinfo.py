from odoo import api, fields, models


class ProductSupplierinfo(models.Model):
    _inherit = "product.supplierinfo"

    mro_lead_time_id = fields.Many2one("mro.lead.time", compute="_compute_mro_lead_time", string="Lead-time statistics")
    mro_lead_mean = fields.Float("Lead time (mean, d)", compute="_compute_mro_lead_time", digits=(16, 1))
    mro_lead_std = fields.Float("Lead time (std, d)", compute="_compute_mro_lead_time", digits=(16, 1))
    mro_lead_count = fields.Integer("Receipts", compute="_compute_mro_lead_time")
    mro_on_time_rate = fields.Float("On time", compute="_compute_mro_lead_time")
    mro_variance_score = fields.Float("Variance score", compute="_compute_mro_lead_time", digits=(16, 0))

    @api.depends("partner_id", "product_id", "product_tmpl_id", "company_id")
    def _compute_mro_lead_time(self):
        stats = self.env["mro.lead.time"].search(
            [("partner_id", "in", self.partner_id.ids), ("product_id.product_tmpl_id", "in", self.product_tmpl_id.ids)]
        )
        for line in self:
            products = line.product_id or line.product_tmpl_id.product_variant_ids
            company = line.company_id or self.env.company
            stat = stats.filtered(
                lambda s, ln=line, p=products, c=company: s.partner_id == ln.partner_id
                and s.product_id in p
                and s.company_id == c
            )[:1]
            line.mro_lead_time_id = stat
            line.mro_lead_mean = stat.mean_days
            line.mro_lead_std = stat.std_days
            line.mro_lead_count = stat.count
            line.mro_on_time_rate = stat.on_time_rate
            line.mro_variance_score = stat.variance_score
