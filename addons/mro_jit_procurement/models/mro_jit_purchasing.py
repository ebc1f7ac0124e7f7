import math
from datetime import datetime, time, timedelta

from markupsafe import Markup

from odoo import api, fields, models


class MroJitPurchasing(models.AbstractModel):
    """Buys the planner's due needs: free stock first, else a line on the vendor's open spare-parts RFQ (a
    draft, extended while it is one), with its reason; ``_prepare_rfq_vals`` and ``_prepare_rfq_line_vals``
    are the hooks an integrator extends."""

    _name = "mro.jit.purchasing"
    _description = "Just-in-time spare-parts purchasing"

    @api.model
    def _free_stock(self, products, company):
        """Free stock per product: on hand - reserved (outgoing) + incoming (confirmed purchases, transfers)
        + draft RFQs not yet counted as incoming, less what open needs already claimed."""
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        located = products.with_context(warehouse_id=warehouse.id) if warehouse else products
        draft = dict(
            self.env["purchase.order.line"]._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("order_id.state", "in", ("draft", "sent", "to approve")),
                    ("company_id", "=", company.id),
                ],
                ["product_id"],
                ["product_qty:sum"],
            )
        )
        claimed = dict(
            self.env["mro.part.need"]._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("state", "in", ("stock", "ordered")),
                    ("company_id", "=", company.id),
                ],
                ["product_id"],
                ["quantity:sum"],
            )
        )
        return {
            p: {
                "on_hand": p.qty_available,
                "reserved": p.outgoing_qty,
                "incoming": p.incoming_qty + draft.get(p, 0.0),
                "claimed": claimed.get(p, 0.0),
            }
            for p in located
        }

    @api.model
    def _order_due(self, due, company, today):
        """Cover the due needs: by free stock first (oldest order-by date first), else on an RFQ of the
        need's vendor. Returns the purchase orders created or extended."""
        if not due:
            return self.env["purchase.order"]
        stock = {p.id: s for p, s in self._free_stock(due.product_id, company).items()}
        # A need already "covered by stock" keeps its claim only if the stock is still there.
        for need in due.filtered(lambda n: n.state == "stock"):
            stock[need.product_id.id]["claimed"] -= need.quantity
        to_buy = {}
        for need in due:
            s = stock[need.product_id.id]
            free = s["on_hand"] - s["reserved"] + s["incoming"] - s["claimed"]
            if free >= need.quantity:
                s["claimed"] += need.quantity
                if need.state != "stock":
                    need.write(
                        {
                            "state": "stock",
                            "reason": self.env._(
                                "%(reason)s. Covered by free stock: on hand %(on_hand)s, reserved %(reserved)s, "
                                "incoming %(incoming)s.",
                                reason=need.reason,
                                on_hand=s["on_hand"],
                                reserved=s["reserved"],
                                incoming=s["incoming"],
                            ),
                        }
                    )
                continue
            if not need.partner_id:
                need.write({"state": "due"})
                need._mro_post(
                    body=self.env._(
                        "No vendor on the part's purchase tab: cannot order %s.", need.product_id.display_name
                    )
                )
                continue
            to_buy.setdefault(need.partner_id, []).append(need)
        orders = self.env["purchase.order"]
        for vendor, needs in to_buy.items():
            orders |= self._add_to_rfq(vendor, needs, company, today)
        for order in orders:
            order._mro_apply_approval_policy()
        return orders

    @api.model
    def _add_to_rfq(self, vendor, needs, company, today):
        """Put ``needs`` on the vendor's open JIT RFQ (a draft), creating it if there is none."""
        PurchaseOrder = self.env["purchase.order"]
        order = PurchaseOrder.search(
            [
                ("partner_id", "=", vendor.id),
                ("company_id", "=", company.id),
                ("state", "=", "draft"),
                ("mro_jit", "=", True),
            ],
            limit=1,
        )
        if not order:
            order = PurchaseOrder.create(self._prepare_rfq_vals(vendor, company))
        lines = []
        for need in needs:
            product = need.product_id
            seller = product._select_seller(partner_id=vendor, quantity=need.quantity, date=today)
            line = order.order_line.filtered(lambda ln, p=product: ln.product_id == p)[:1]
            planned = datetime.combine(today + timedelta(days=math.ceil(need.lead_mean)), time(12))
            if line:
                line.product_qty += need.quantity
                line.date_planned = min(line.date_planned, planned)
            else:
                line = self.env["purchase.order.line"].create(
                    self._prepare_rfq_line_vals(order, need, max(need.quantity, seller.min_qty or 0.0), planned)
                )
            values = {"state": "ordered", "purchase_line_id": line.id, "ordered_at": fields.Datetime.now()}
            if (need.order_by_date and need.order_by_date < today) or need.late:
                values["emergency"] = True
            need.write(values)
            lines.append(need)
        equipment_names = sorted(set(order.mro_need_ids.equipment_id.mapped("display_name")))
        order.origin = self.env._("MRO JIT: %s", ", ".join(equipment_names))[:250]
        if any(n.emergency for n in order.mro_need_ids):
            order.priority = "1"
        items = Markup("").join(Markup("<li>%s</li>") % n.reason for n in lines)
        order._mro_post(
            body=Markup("%s<ul>%s</ul>") % (self.env._("Spare parts planned from predicted failures:"), items)
        )
        return order

    @api.model
    def _prepare_rfq_vals(self, vendor, company):
        """Values of a new spare-parts RFQ for ``vendor`` (a hook for integrators)."""
        return {
            "partner_id": vendor.id,
            "company_id": company.id,
            "currency_id": (vendor.property_purchase_currency_id or company.currency_id).id,
            "mro_jit": True,
            "origin": self.env._("MRO JIT"),
        }

    @api.model
    def _prepare_rfq_line_vals(self, order, need, quantity, date_planned):
        """Values of the RFQ line that buys ``need`` (a hook for integrators)."""
        return {
            "order_id": order.id,
            "product_id": need.product_id.id,
            "product_qty": quantity,
            "date_planned": date_planned,
        }
