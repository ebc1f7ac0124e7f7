import math
from datetime import datetime, time, timedelta

from markupsafe import Markup

from odoo import api, fields, models

from ..mro_planning import claim_until, cover_need, free_stock, purchase_mode


class MroJitPurchasing(models.AbstractModel):
    """Buys the planner's due needs: free stock first, else a line on the vendor's open spare-parts RFQ (a
    draft, extended while it is one), with its reason; ``_prepare_rfq_vals`` and ``_prepare_rfq_line_vals``
    are the hooks an integrator extends."""

    _name = "mro.jit.purchasing"
    _description = "Just-in-time spare-parts purchasing"

    @api.model
    def _free_stock(self, products, company):
        """Stock per product, for ``mro_planning.free_stock``: on hand, reserved (outgoing) and what open needs
        already claimed (covered by stock or ordered); incoming purchases are counted per need, up to the day
        it may claim them (:meth:`_incoming`)."""
        warehouse = self._warehouse(company)
        located = products.with_context(warehouse_id=warehouse.id) if warehouse else products
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
            p: {"on_hand": p.qty_available, "reserved": p.outgoing_qty, "claimed": claimed.get(p, 0.0)} for p in located
        }

    @api.model
    def _warehouse(self, company):
        return self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)

    @api.model
    def _incoming(self, product, company, until, cache):
        """Units of ``product`` on the way that arrive by ``until``: confirmed purchases and transfers planned by
        then, and draft RFQ lines planned by then (not yet counted as incoming)."""
        key = (product.id, until)
        if key not in cache:
            warehouse = self._warehouse(company)
            end = datetime.combine(until, time.max)
            located = product.with_context(to_date=end, **({"warehouse_id": warehouse.id} if warehouse else {}))
            draft = sum(
                self.env["purchase.order.line"]
                .search(
                    [
                        ("product_id", "=", product.id),
                        ("order_id.state", "in", ("draft", "sent", "to approve")),
                        ("company_id", "=", company.id),
                        ("date_planned", "<=", end),
                    ]
                )
                .mapped("product_qty")
            )
            cache[key] = located.incoming_qty + draft
        return cache[key]

    @api.model
    def _order_due(self, due, company, today, decisions=None, policy=None):
        """Cover the due needs (oldest order-by date first), as ``mro_planning`` decides: each claims free stock
        (``free_stock`` with the incoming purchases due by ``claim_until``), ``cover_need`` says what to order,
        ``purchase_mode`` how (normal, on the vendor's expedite agreement, or emergency); the shortfall goes
        on an RFQ of the need's vendor. ``decisions``: ``{need id: (NeedInputs, NeedDecision)}`` from the planner
        (re-decided when missing). Returns the purchase orders created or extended."""
        if not due:
            return self.env["purchase.order"]
        planner = self.env["mro.jit.planner"]
        policy = policy or planner._policy(company)
        decisions = dict(decisions or {})
        cache = {"predictions": {}}
        for need in due.filtered(lambda n: n.id not in decisions):
            inputs, decision, _seller = planner._decide(
                need.equipment_id, need.part_id, need, company, today, policy, cache
            )
            decisions[need.id] = (inputs, decision)
        stock = {p.id: s for p, s in self._free_stock(due.product_id, company).items()}
        # A need already "covered by stock" keeps its claim only if the stock is still there.
        for need in due.filtered(lambda n: n.state == "stock"):
            stock[need.product_id.id]["claimed"] -= need.quantity
        to_buy, incoming = {}, {}
        for need in due:
            inputs, decision = decisions[need.id]
            s = stock[need.product_id.id]
            until = claim_until(decision, today, inputs.lead, policy)
            arriving = self._incoming(need.product_id, company, until, incoming)
            free = free_stock(s["on_hand"], s["reserved"], arriving, s["claimed"])
            cover = cover_need(need.quantity, free)
            s["claimed"] += cover.claim
            if not cover.order:
                if need.state != "stock":
                    need.write(
                        {
                            "state": "stock",
                            "reason": self.env._(
                                "%(reason)s. Covered by free stock: on hand %(on_hand)s, reserved %(reserved)s, "
                                "incoming by %(until)s %(incoming)s.",
                                reason=need.reason,
                                on_hand=s["on_hand"],
                                reserved=s["reserved"],
                                until=until,
                                incoming=arriving,
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
            purchase = purchase_mode(decision, inputs.criticality, policy, inputs.expedite)
            to_buy.setdefault(need.partner_id, []).append((need, cover.order, purchase, inputs.expedite))
        orders = self.env["purchase.order"]
        for vendor, lines in to_buy.items():
            orders |= self._add_to_rfq(vendor, lines, company, today)
        for order in orders:
            order._mro_apply_approval_policy()
        return orders

    @api.model
    def _add_to_rfq(self, vendor, lines, company, today):
        """Put ``lines`` (``(need, units to order, Purchase, ExpediteOption or None)``) on the vendor's open JIT
        RFQ (a draft), creating it if there is none. An expedited need gets a line of its own: planned at the
        agreed delay, at the listed price plus the agreed premium."""
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
        ordered = self.env["mro.part.need"]
        for need, units, purchase, expedite in lines:
            product = need.product_id
            seller = product._select_seller(partner_id=vendor, quantity=units, date=today)
            fast = purchase.mode == "expedite" and expedite is not None
            line = order.order_line.filtered(lambda ln, p=product, f=fast: ln.product_id == p and ln.mro_expedite == f)
            line = line[:1]
            days = expedite.lead.mean if fast else need.lead_mean
            planned = datetime.combine(today + timedelta(days=math.ceil(days)), time(12))
            if line:
                line.product_qty += units  # Odoo prices the line again from the vendor list
                line.date_planned = min(line.date_planned, planned)
            else:
                vals = self._prepare_rfq_line_vals(order, need, max(units, seller.min_qty or 0.0), planned)
                line = self.env["purchase.order.line"].create({**vals, "mro_expedite": fast})
            if fast:
                line.write({"price_unit": line.price_unit * (1.0 + expedite.premium), "date_planned": planned})
            values = {"state": "ordered", "purchase_line_id": line.id, "ordered_at": fields.Datetime.now()}
            if purchase.emergency:
                values["emergency"] = True
            if fast:
                values["expedited"] = True
            if need.late or purchase.mode != "normal":
                values["reason"] = f"{need.reason} ({purchase.reason})"
            need.write(values)
            ordered |= need
        equipment_names = sorted(set(order.mro_need_ids.equipment_id.mapped("display_name")))
        order.origin = self.env._("MRO JIT: %s", ", ".join(equipment_names))[:250]
        if any(n.emergency for n in order.mro_need_ids):
            order.priority = "1"
        items = Markup("").join(Markup("<li>%s</li>") % n.reason for n in ordered)
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
