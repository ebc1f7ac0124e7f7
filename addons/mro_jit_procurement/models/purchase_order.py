from datetime import datetime, time, timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_amount

#: Written by the planner and the approval policy only; buyers read them.
APPROVAL_FIELDS = frozenset({"mro_jit", "mro_approval", "mro_approval_reason"})
#: Changes of an auto-approved order that re-open the decision.
ORDER_DECISIVE = frozenset({"partner_id", "currency_id"})  # lines: see purchase.order.line
LINE_DECISIVE = frozenset({"product_id", "product_qty", "price_unit", "product_uom", "order_id", "mro_expedite"})


def _refuse_approval_write(records, vals):
    forged = sorted(set(vals) & APPROVAL_FIELDS)
    if forged and not records.env.su:
        raise AccessError(
            records.env._(
                "%s of purchase orders are set by the spare-parts planner and its approval policy only.",
                ", ".join(forged),
            )
        )


class PurchaseOrder(models.Model):
    _inherit = "purchase.order"

    mro_jit = fields.Boolean("Spare parts (JIT)", readonly=True, copy=False, index=True)
    mro_need_ids = fields.One2many("mro.part.need", "purchase_id", "Spare-part needs")
    mro_approval = fields.Selection(
        [("auto", "Auto-approved"), ("review", "Left for review")], "Approval decision", readonly=True, copy=False
    )
    mro_approval_reason = fields.Text("Approval reason", readonly=True, copy=False)
    mro_emergency = fields.Boolean(
        "Emergency purchase",
        compute="_compute_mro_emergency",
        store=True,
        help="Urgent, or placed after a part's order-by date.",
    )

    @api.depends("priority", "mro_need_ids.emergency")
    def _compute_mro_emergency(self):
        for order in self:
            order.mro_emergency = order.priority == "1" or any(order.mro_need_ids.mapped("emergency"))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            _refuse_approval_write(self, vals)
        return super().create(vals_list)

    def write(self, vals):
        _refuse_approval_write(self, vals)
        approved = self.filtered(lambda o: o.mro_approval == "auto") if ORDER_DECISIVE & set(vals) else self.browse()
        result = super().write(vals)
        approved._mro_redecide()
        return result

    # ------------------------------------------------------------------ the policy
    def _mro_approval_decision(self):
        """(approve, reasons): the company's auto-approval policy applied to this RFQ.

        Approved only when every line is one the planner made from a prediction, from a vendor of the
        product's own vendor list at no more than its listed price and for no more than the plan needs; the
        amount is within the per-order limit, below the double-validation amount, and keeps the vendor's
        auto-approved spend of the day within the daily cap; the currency has a rate; and every need's
        criticality and failure probability pass the policy."""
        self.ensure_one()
        company = self.company_id
        today = fields.Date.context_today(self)
        money = self.currency_id
        reasons, ok = [], True
        if not company.mro_auto_approve:
            return False, [self.env._("auto-approval is off in the settings")]
        if money != company.currency_id and not self._mro_has_rate(money, company, today):
            return False, [self.env._("no exchange rate for %s: amounts cannot be checked", money.name)]
        limit = company.currency_id._convert(company.mro_auto_approve_limit, money, company, today)
        amount = format_amount(self.env, self.amount_total, money)
        if money.compare_amounts(self.amount_total, limit) > 0:
            ok = False
            reasons.append(
                self.env._(
                    "amount %(a)s above the auto-approval limit %(l)s",
                    a=amount,
                    l=format_amount(self.env, limit, money),
                )
            )
        else:
            reasons.append(
                self.env._(
                    "amount %(a)s within the auto-approval limit %(l)s",
                    a=amount,
                    l=format_amount(self.env, limit, money),
                )
            )
        double = company.currency_id._convert(company.po_double_validation_amount, money, company, today)
        if money.compare_amounts(self.amount_total, double) >= 0:
            ok = False
            reasons.append(
                self.env._("amount at or above the double-validation amount %s", format_amount(self.env, double, money))
            )
        cap_ok, cap_reason = self._mro_within_daily_cap(today)
        ok &= cap_ok
        reasons.append(cap_reason)
        line_ok, line_reasons = self._mro_lines_as_planned()
        ok &= line_ok
        reasons += line_reasons
        planned = self.mro_need_ids
        allowed = {"A": company.mro_auto_approve_a, "B": company.mro_auto_approve_b, "C": company.mro_auto_approve_c}
        for need in planned:
            crit = need.criticality or "B"
            if not allowed.get(crit):
                ok = False
                reasons.append(
                    self.env._(
                        "%(e)s has criticality %(c)s, not auto-approved", e=need.equipment_id.display_name, c=crit
                    )
                )
            if need.failure_probability < company.mro_auto_approve_min_probability:
                ok = False
                reasons.append(
                    self.env._(
                        "%(e)s: failure probability %(p).0f%% below %(m).0f%%",
                        e=need.equipment_id.display_name,
                        p=100 * need.failure_probability,
                        m=100 * company.mro_auto_approve_min_probability,
                    )
                )
        if ok:
            reasons.append(self.env._("every line's criticality and failure probability pass the policy"))
        return ok, reasons

    def _mro_lines_as_planned(self):
        """(ok, reasons): every line was made by the planner from a prediction, from a vendor on the product's
        own vendor list, at no more than that vendor's listed price, for no more than the plan needs."""
        self.ensure_one()
        reasons = []
        for line in self.order_line.filtered(lambda ln: not ln.display_type):
            needs = self.mro_need_ids.filtered(lambda n, ln=line: n.purchase_line_id == ln)
            product = line.product_id
            if not needs or not all(need.prediction_id for need in needs):
                reasons.append(self.env._("lines not planned from predictions: %s", product.display_name))
                continue
            sellers = product.seller_ids.filtered(
                lambda s: s.partner_id == self.partner_id and (not s.company_id or s.company_id == self.company_id)
            )
            if not sellers:
                reasons.append(
                    self.env._(
                        "%(v)s is not on the vendor list of %(p)s",
                        v=self.partner_id.display_name,
                        p=product.display_name,
                    )
                )
                continue
            today = fields.Date.context_today(self)
            seller = (
                product._select_seller(
                    partner_id=self.partner_id, quantity=line.product_qty, date=today, uom_id=line.product_uom
                )
                or sellers.sorted("price")[:1]
            )
            listed = seller.currency_id._convert(seller.price, self.currency_id, self.company_id, today)
            if seller.product_uom and seller.product_uom != line.product_uom:
                listed = seller.product_uom._compute_price(listed, line.product_uom)
            if line.mro_expedite and seller.mro_expedite_delay > 0 and all(needs.mapped("expedited")):
                listed *= 1.0 + seller.mro_expedite_premium / 100.0  # the agreed premium is listed too
            if self.currency_id.compare_amounts(line.price_unit, listed) > 0:
                reasons.append(
                    self.env._(
                        "%(p)s: price %(price)s above the vendor's listed %(listed)s",
                        p=product.display_name,
                        price=format_amount(self.env, line.price_unit, self.currency_id),
                        listed=format_amount(self.env, listed, self.currency_id),
                    )
                )
            wanted = max(sum(needs.mapped("quantity")), seller.min_qty or 0.0)
            quantity = line.product_uom._compute_quantity(line.product_qty, product.uom_id)
            if quantity > wanted + 1e-6:
                reasons.append(
                    self.env._(
                        "%(p)s: %(q)s ordered where the plan needs %(w)s",
                        p=product.display_name,
                        q=quantity,
                        w=wanted,
                    )
                )
        return not reasons, reasons

    def _mro_within_daily_cap(self, today):
        """(ok, reason): this order keeps the vendor's auto-approved spend of the day within the company's cap."""
        self.ensure_one()
        company = self.company_id
        cap = company.mro_auto_approve_daily_cap
        if not cap:
            return True, self.env._("no daily cap per vendor")
        start = datetime.combine(today, time.min)
        earlier = self.search(
            [
                ("id", "!=", self.id),
                ("company_id", "=", company.id),
                ("partner_id", "=", self.partner_id.id),
                ("mro_approval", "=", "auto"),
                ("state", "in", ("purchase", "done")),
                ("date_approve", ">=", start),
                ("date_approve", "<", start + timedelta(days=1)),
            ]
        )
        own = company.currency_id
        spent = sum(o.currency_id._convert(o.amount_total, own, company, today) for o in earlier)
        total = spent + self.currency_id._convert(self.amount_total, own, company, today)
        words = {
            "spent": format_amount(self.env, spent, own),
            "cap": format_amount(self.env, cap, own),
            "vendor": self.partner_id.display_name,
        }
        if own.compare_amounts(total, cap) > 0:
            return False, self.env._(
                "%(vendor)s already got %(spent)s auto-approved today: this order passes the daily cap %(cap)s", **words
            )
        return True, self.env._("%(vendor)s: %(spent)s auto-approved earlier today, daily cap %(cap)s", **words)

    @api.model
    def _mro_has_rate(self, currency, company, day):
        return bool(
            self.env["res.currency.rate"].search_count(
                [
                    ("currency_id", "=", currency.id),
                    ("name", "<=", day),
                    ("company_id", "in", (company.root_id.id, company.id, False)),
                ],
                limit=1,
            )
        )

    def _mro_apply_approval_policy(self):
        """Confirm the RFQ when the policy allows it, else leave it with an activity for the buyer; the
        decision and its reason are posted on the order either way. A job of the system."""
        for order in self.filtered(lambda o: o.state in ("draft", "sent")):
            approve, reasons = order._mro_approval_decision()
            text = "; ".join(reasons)
            if approve:
                # sudo: the policy is the approval: it confirms as the company would, whoever runs the planner.
                order.sudo().write({"mro_approval": "auto", "mro_approval_reason": text})
                order.sudo().button_confirm()
                order._mro_post(body=Markup("<p>%s</p>") % self.env._("Auto-approved: %s.", text))
                continue
            order.sudo().write({"mro_approval": "review", "mro_approval_reason": text})
            order._mro_post(body=Markup("<p>%s</p>") % self.env._("Left for review: %s.", text))
            order._mro_review_activity(text)

    def _mro_review_activity(self, text):
        self.ensure_one()
        buyer = self.company_id.mro_buyer_id or self.user_id or self.env.user
        summary = self.env._("Review spare-parts RFQ")
        if not self.activity_ids.filtered(lambda a, s=summary, b=buyer: a.summary == s and a.user_id == b):
            self.activity_schedule("mail.mail_activity_data_todo", summary=summary, note=text, user_id=buyer.id)

    def _mro_redecide(self):
        """An auto-approved order changed (vendor, currency, lines, quantities, prices): the approval is
        reset and decided again on the new order; if the policy no longer passes, the order is left for a
        buyer's review with an activity (it is already confirmed, so the buyer decides what to do with it)."""
        # sudo: the decision fields are the policy's own; whoever changed the order, the system re-decides.
        for order in self.sudo().filtered(lambda o: o.mro_approval == "auto"):
            approve, reasons = order._mro_approval_decision()
            text = "; ".join(reasons)
            who = self.env.user.name
            if approve:
                order.write({"mro_approval_reason": text})
                order._mro_post(
                    body=Markup("<p><b>%s</b> %s.</p>")
                    % (self.env._("Changed by %s, still within the policy:", who), text)
                )
                continue
            order.write({"mro_approval": "review", "mro_approval_reason": text})
            order._mro_post(
                body=Markup("<p><b>%s</b> %s.</p>")
                % (self.env._("Changed by %s after auto-approval; the approval is withdrawn:", who), text)
            )
            order._mro_review_activity(text)


class PurchaseOrderLine(models.Model):
    _inherit = "purchase.order.line"

    mro_expedite = fields.Boolean(
        "Expedited",
        readonly=True,
        copy=False,
        help="Bought on the vendor's expedite agreement (its delay, at its premium); its receipts do not teach the "
        "normal lead time.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.order_id.filtered(lambda o: o.mro_approval == "auto")._mro_redecide()
        return lines

    def write(self, vals):
        orders = self.order_id.filtered(lambda o: o.mro_approval == "auto") if LINE_DECISIVE & set(vals) else None
        result = super().write(vals)
        if orders:
            (orders | self.order_id.filtered(lambda o: o.mro_approval == "auto"))._mro_redecide()
        return result

    def unlink(self):
        orders = self.order_id.filtered(lambda o: o.mro_approval == "auto")
        result = super().unlink()
        orders.exists()._mro_redecide()
        return result
