from datetime import datetime, timedelta

from odoo.tests import Form, tagged

from .common import JitCase


@tagged("post_install", "-at_install")
class TestLeadTime(JitCase):
    def receive(self, vendor, product, ordered, received, promised_days=5, qty=3):
        """A confirmed purchase of ``product`` ordered on ``ordered`` and received on ``received``."""
        order = self.env["purchase.order"].create(
            {
                "partner_id": vendor.id,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": product.id,
                            "product_qty": qty,
                            "date_planned": ordered + timedelta(days=promised_days),
                        },
                    )
                ],
            }
        )
        order.button_confirm()
        order.date_approve = ordered
        order.order_line.date_planned = ordered + timedelta(days=promised_days)
        picking = order.picking_ids
        picking.move_ids.quantity = qty
        picking.button_validate()
        picking.date_done = received
        return order

    def test_learned_from_real_receipts(self):
        start = datetime(2026, 1, 5, 9, 0)
        for k, days in enumerate([4, 6, 9, 5]):
            ordered = start + timedelta(days=20 * k)
            self.receive(self.skf, self.bearing, ordered, ordered + timedelta(days=days))
        self.env["mro.lead.time"]._learn(self.company)
        stat = self.env["mro.lead.time"].search(
            [("partner_id", "=", self.skf.id), ("product_id", "=", self.bearing.id)]
        )
        self.assertEqual(stat.count, 4)
        self.assertEqual(stat.source, "history+prior")
        # Samples 4, 6, 9, 5 (mean 6) shrunk toward the quoted 5 days with 3 pseudo-receipts:
        # (3 * 5 + 4 * 6) / 7 = 5.571...
        self.assertAlmostEqual(stat.mean_days, 39 / 7, delta=0.05)  # stored to 0.1 day
        self.assertGreater(stat.std_days, 1.0)
        self.assertAlmostEqual(stat.on_time_rate, 0.5)  # 6 and 9 days > 5 promised: two late of four
        seller = self.bearing.seller_ids
        self.assertEqual(seller.mro_lead_time_id, stat)  # visible on the vendor pricelist line
        self.assertAlmostEqual(seller.mro_lead_mean, stat.mean_days)
        self.assertGreater(self.skf.mro_variance_score, 0.0)

    def test_quoted_delay_until_receipts_and_manual_override(self):
        self.env["mro.lead.time"]._learn(self.company)
        stat = self.env["mro.lead.time"].search([("partner_id", "=", self.seals.id), ("product_id", "=", self.seal.id)])
        self.assertEqual((stat.count, stat.source, stat.mean_days), (0, "prior", 10.0))
        with Form(stat) as form:
            form.override = True
            form.override_mean = 21.0
            form.override_std = 6.0
        self.assertEqual((stat.mean_days, stat.std_days), (21.0, 6.0))
        lead = self.env["mro.lead.time"]._for(self.seals, self.seal, self.company)
        self.assertEqual((lead.mean, lead.std, lead.source), (21.0, 6.0, "manual"))
