import logging

from odoo import api, fields, models
from odoo.tools import SQL

from ..mro_planning import LeadTimeStats, lead_time_stats, variance_score

_logger = logging.getLogger(__name__)


class MroLeadTime(models.Model):
    """Lead time of one vendor for one part, learned from the company's own receipts (order confirmed ->
    receipt done), shrunk toward the vendor's quoted delay while the history is short; a buyer may
    override it."""

    _name = "mro.lead.time"
    _description = "Vendor Lead-Time Statistics"
    _order = "partner_id, product_id"
    _rec_name = "product_id"

    partner_id = fields.Many2one("res.partner", "Vendor", required=True, ondelete="cascade", index=True)
    product_id = fields.Many2one("product.product", "Part", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    learned_mean = fields.Float("Learned mean (days)", readonly=True, digits=(16, 1))
    learned_std = fields.Float("Learned std (days)", readonly=True, digits=(16, 1))
    count = fields.Integer("Receipts", readonly=True)
    on_time_rate = fields.Float("On time", readonly=True, help="Share of receipts not later than promised.")
    source = fields.Selection(
        [("history", "History"), ("prior", "Quoted delay"), ("history+prior", "History and quoted delay")],
        readonly=True,
    )
    quoted_delay = fields.Float("Quoted delay (days)", readonly=True)
    override = fields.Boolean(help="Use the figures below instead of the learned ones.")
    override_mean = fields.Float("Override mean (days)")
    override_std = fields.Float("Override std (days)")
    mean_days = fields.Float("Mean (days)", compute="_compute_effective", store=True, digits=(16, 1))
    std_days = fields.Float("Std (days)", compute="_compute_effective", store=True, digits=(16, 1))
    variance_score = fields.Float("Variance score", compute="_compute_effective", store=True, digits=(16, 0))
    learned_at = fields.Datetime(readonly=True)

    _sql_constraints = [
        (
            "vendor_part_uniq",
            "unique(partner_id, product_id, company_id)",
            "One statistic per vendor, part and company.",
        )
    ]

    @api.depends(
        "override", "override_mean", "override_std", "learned_mean", "learned_std", "on_time_rate", "count", "source"
    )
    def _compute_effective(self):
        for stat in self:
            stats = stat._stats()
            stat.mean_days = stats.mean
            stat.std_days = stats.std
            stat.variance_score = variance_score(stats)

    def _stats(self):
        """The statistics the planner uses (:class:`mro_planning.LeadTimeStats`)."""
        self.ensure_one()
        if self.override:
            return LeadTimeStats(max(self.override_mean, 0.0), max(self.override_std, 0.0), self.count, None, "manual")
        on_time = self.on_time_rate if self.count else None
        return LeadTimeStats(
            max(self.learned_mean, 0.0), max(self.learned_std, 0.0), self.count, on_time, self.source or "prior"
        )

    @api.model
    def _for(self, partner, product, company, seller=None):
        """The lead-time statistics of ``partner`` for ``product``: the learned (or overridden) record, else
        the quoted delay of the vendor's pricelist line as a prior."""
        stat = self.search(
            [("partner_id", "=", partner.id), ("product_id", "=", product.id), ("company_id", "=", company.id)], limit=1
        )
        if stat:
            return stat._stats()
        delay = float(seller.delay) if seller else 7.0
        return lead_time_stats([], prior_mean=max(delay, 0.0))

    @api.model
    def _receipt_samples(self, company):
        """Past lead times of the company's receipts: ``{(partner id, product id): [(days, promised days)]}``,
        one sample per purchase line and receipt, from the order's confirmation to the receipt's validation;
        expedited lines are left out (their delay is the agreement's, not the vendor's normal one)."""
        self.env.flush_all()  # raw SQL below: pending writes (dates set on orders and receipts) first
        self.env.cr.execute(
            SQL(
                """
                SELECT po.partner_id, pol.product_id,
                       extract(epoch FROM sp.date_done - COALESCE(po.date_approve, po.date_order)) / 86400.0,
                       extract(epoch FROM pol.date_planned - COALESCE(po.date_approve, po.date_order)) / 86400.0
                  FROM stock_move sm
                  JOIN purchase_order_line pol ON pol.id = sm.purchase_line_id
                  JOIN purchase_order po ON po.id = pol.order_id
                  JOIN stock_picking sp ON sp.id = sm.picking_id
                  JOIN stock_location dest ON dest.id = sm.location_dest_id
                 WHERE sm.state = 'done' AND sp.date_done IS NOT NULL AND dest.usage = 'internal'
                   AND pol.mro_expedite IS NOT TRUE
                   AND po.company_id = %s
                 GROUP BY po.partner_id, pol.product_id, pol.id, sp.id, sp.date_done, po.date_approve, po.date_order
                """,
                company.id,
            )
        )
        samples = {}
        for partner_id, product_id, days, promised in self.env.cr.fetchall():
            samples.setdefault((partner_id, product_id), []).append((max(float(days), 0.0), promised))
        return samples

    @api.model
    def _learn(self, companies=None):
        """Recompute the statistics of every vendor and part the companies received, and of every vendor
        pricelist line of a spare part (quoted delay only, until receipts arrive)."""
        for company in companies or self.env["res.company"].search([]):
            samples = self._receipt_samples(company)
            parts = self.env["mro.equipment.part"].search([("company_id", "in", (company.id, False))]).product_id
            for seller in parts.seller_ids.filtered(lambda s, c=company: s.company_id in (c, s.env["res.company"])):
                for product in seller.product_id or seller.product_tmpl_id.product_variant_ids:
                    samples.setdefault((seller.partner_id.id, product.id), [])
            existing = {(s.partner_id.id, s.product_id.id): s for s in self.search([("company_id", "=", company.id)])}
            now = fields.Datetime.now()
            to_create = []
            for (partner_id, product_id), rows in samples.items():
                product = self.env["product.product"].browse(product_id)
                seller = product.seller_ids.filtered(lambda s, p=partner_id: s.partner_id.id == p)[:1]
                delay = float(seller.delay) if seller else None
                days = [d for d, _p in rows]
                promised = [p if p is not None else (delay or 0.0) for _d, p in rows]
                try:
                    stats = lead_time_stats(
                        days, promised=promised if days else None, prior_mean=delay if delay is not None else None
                    )
                except ValueError:
                    _logger.info(
                        "No lead time for vendor %s, part %s: no receipt, no quoted delay", partner_id, product_id
                    )
                    continue
                values = {
                    "learned_mean": stats.mean,
                    "learned_std": stats.std,
                    "count": stats.n,
                    "on_time_rate": stats.on_time_rate or 0.0,
                    "source": stats.source,
                    "quoted_delay": delay or 0.0,
                    "learned_at": now,
                }
                record = existing.get((partner_id, product_id))
                if record:
                    record.write(values)
                else:
                    to_create.append(
                        {**values, "partner_id": partner_id, "product_id": product_id, "company_id": company.id}
                    )
            self.create(to_create)
        return True

    @api.model
    def _cron_learn(self):
        self._learn()

    def action_learn(self):
        self._learn(self.company_id or None)
        return True
