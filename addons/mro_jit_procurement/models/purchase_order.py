from odoo import _, api, fields, models
from odoo.tools import format_amount


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

    def _mro_approval_decision(self):
        """(approve, reasons): the company's auto-approval policy applied to this RFQ."""
        self.ensure_one()
        company = self.company_id
        today = fields.Date.context_today(self)
        money = self.currency_id
        reasons, ok = [], True
        if not company.mro_auto_approve:
            return False, [_("auto-approval is off in the settings")]
        limit = company.currency_id._convert(company.mro_auto_approve_limit, money, company, today)
        amount = format_amount(self.env, self.amount_total, money)
        if money.compare_amounts(self.amount_total, limit) > 0:
            ok = False
            reasons.append(
                _("amount %(a)s above the auto-approval limit %(l)s", a=amount, l=format_amount(self.env, limit, money))
            )
        else:
            reasons.append(
                _(
                    "amount %(a)s within the auto-approval limit %(l)s",
                    a=amount,
                    l=format_amount(self.env, limit, money),
                )
            )
        double = company.currency_id._convert(company.po_double_validation_amount, money, company, today)
        if money.compare_amounts(self.amount_total, double) >= 0:
            ok = False
            reasons.append(
                _("amount at or above the double-validation amount %s", format_amount(self.env, double, money))
            )
        planned = self.mro_need_ids
        if self.order_line.filtered(lambda ln: not ln.display_type and ln not in planned.purchase_line_id):
            ok = False
            reasons.append(_("lines not planned from predictions"))
        allowed = {"A": company.mro_auto_approve_a, "B": company.mro_auto_approve_b, "C": company.mro_auto_approve_c}
        for need in planned:
            crit = need.criticality or "B"
            if not allowed.get(crit):
                ok = False
                reasons.append(
                    _("%(e)s has criticality %(c)s, not auto-approved", e=need.equipment_id.display_name, c=crit)
                )
            if need.failure_probability < company.mro_auto_approve_min_probability:
                ok = False
                reasons.append(
                    _(
                        "%(e)s: failure probability %(p).0f%% below %(m).0f%%",
                        e=need.equipment_id.display_name,
                        p=100 * need.failure_probability,
                        m=100 * company.mro_auto_approve_min_probability,
                    )
                )
        if ok:
            reasons.append(_("every line's criticality and failure probability pass the policy"))
        return ok, reasons

    def _mro_apply_approval_policy(self):
        """Confirm the RFQ when the policy allows it, else leave it with an activity for the buyer; the
        decision and its reason are posted on the order either way."""
        for order in self.filtered(lambda o: o.state in ("draft", "sent")):
            approve, reasons = order._mro_approval_decision()
            text = "; ".join(reasons)
            if approve:
                order.write({"mro_approval": "auto", "mro_approval_reason": text})
                # The policy is the approval: confirm as the company would, whoever runs the planner.
                order.sudo().button_confirm()
                order.message_post(body=_("Auto-approved: %s.", text))
                continue
            order.write({"mro_approval": "review", "mro_approval_reason": text})
            order.message_post(body=_("Left for review: %s.", text))
            buyer = order.company_id.mro_buyer_id or order.user_id or self.env.user
            summary = _("Review spare-parts RFQ")
            if not order.activity_ids.filtered(lambda a, s=summary, b=buyer: a.summary == s and a.user_id == b):
                order.activity_schedule("mail.mail_activity_data_todo", summary=summary, note=text, user_id=buyer.id)
