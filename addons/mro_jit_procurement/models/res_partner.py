from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    mro_closure_calendar_id = fields.Many2one(
        "resource.calendar",
        "Closures calendar",
        help="The vendor's working time and closures (its leaves): shipping pauses on its closed days.",
    )
    mro_lead_time_ids = fields.One2many("mro.lead.time", "partner_id", "Lead-time statistics")
    mro_variance_score = fields.Float(
        "Lead-time variance score",
        compute="_compute_mro_variance_score",
        help="0 = steady and on time, 100 = unpredictable: the receipts-weighted mean over its parts.",
    )

    @api.depends("mro_lead_time_ids.variance_score", "mro_lead_time_ids.count")
    def _compute_mro_variance_score(self):
        for partner in self:
            stats = partner.mro_lead_time_ids.filtered("count")
            weight = sum(stats.mapped("count"))
            partner.mro_variance_score = sum(s.variance_score * s.count for s in stats) / weight if weight else 0.0
