from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ProductSupplierinfo(models.Model):
    _inherit = "product.supplierinfo"

    mro_lead_time_id = fields.Many2one("mro.lead.time", compute="_compute_mro_lead_time", string="Lead-time statistics")
    mro_lead_mean = fields.Float("Lead time (mean, d)", compute="_compute_mro_lead_time", digits=(16, 1))
    mro_lead_std = fields.Float("Lead time (std, d)", compute="_compute_mro_lead_time", digits=(16, 1))
    mro_lead_count = fields.Integer("Receipts", compute="_compute_mro_lead_time")
    mro_on_time_rate = fields.Float("On time", compute="_compute_mro_lead_time")
    mro_variance_score = fields.Float("Variance score", compute="_compute_mro_lead_time", digits=(16, 0))
    mro_expedite_delay = fields.Float(
        "Expedited delay (d)",
        digits=(16, 1),
        help="Days the vendor agrees to deliver in when an order is expedited; 0: no expedite agreement. The planner "
        "expedites a late need of a class A or B machine when the agreement makes it likelier to arrive in time.",
    )
    mro_expedite_premium = fields.Float(
        "Expedite premium (%)",
        digits=(16, 1),
        help="Share of the price the vendor adds to an expedited line, as agreed; the auto-approval policy accepts "
        "an expedited line at the listed price plus this premium.",
    )

    @api.constrains("delay", "mro_expedite_delay", "mro_expedite_premium")
    def _check_mro_expedite(self):
        for line in self:
            if line.mro_expedite_delay < 0 or line.mro_expedite_premium < 0:
                raise ValidationError(self.env._("An expedite agreement's delay and premium cannot be negative."))
            if line.mro_expedite_delay and line.delay and line.mro_expedite_delay >= line.delay:
                raise ValidationError(
                    self.env._(
                        "%(vendor)s: the expedited delay (%(fast)s d) must be shorter than the normal (%(delay)s d).",
                        vendor=line.partner_id.display_name,
                        fast=line.mro_expedite_delay,
                        delay=line.delay,
                    )
                )

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
