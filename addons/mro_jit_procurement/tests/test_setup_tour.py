from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .screens import screenshots


@tagged("post_install", "-at_install")
class TestSetupTour(HttpCase):
    """Predictive Setup in Chromium, as a maintenance manager: the checklist, the criticality suggestions
    accepted, a recommended rule created and the lead times learned, with screenshots."""

    def test_checklist(self):
        company = self.env.company
        new_test_user(
            self.env, login="setup-tour-mgr", groups="maintenance.group_equipment_manager",
            company_ids=[Command.set(company.ids)],
        )  # fmt: skip
        vendor = self.env["res.partner"].create({"name": "Tour Bearings"})
        product = self.env["product.product"].create(
            {"name": "Tour bearing", "type": "consu", "is_storable": True,
             "seller_ids": [Command.create({"partner_id": vendor.id, "price": 10.0, "delay": 5})]}
        )  # fmt: skip
        order = self.env["purchase.order"].create(
            {"partner_id": vendor.id, "order_line": [Command.create({"product_id": product.id, "product_qty": 1})]}
        )
        order.button_confirm()
        order.picking_ids.move_ids.quantity = 1
        order.picking_ids.move_ids.picked = True
        order.picking_ids.button_validate()
        with screenshots() as (target, taken):
            self.start_tour("/odoo/predictive-setup", "mro_predictive_setup", login="setup-tour-mgr")
        self.assertEqual(sorted(taken), ["10-predictive-setup-progress", "9-predictive-setup"])
        rule = self.env["mro.prescriptive.rule"].search([("name", "=", "Replace before the predicted failure")])
        self.assertEqual(rule.condition, "rul_below")
        self.assertTrue(self.env["mro.lead.time"].search([("product_id", "=", product.id), ("count", ">", 0)]))
