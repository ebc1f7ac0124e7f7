from odoo import api, fields, models
from odoo.exceptions import UserError

STATES = [
    ("planned", "Planned"),
    ("due", "To order"),
    ("stock", "Covered by stock"),
    ("ordered", "Ordered"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
]


class MroPartNeed(models.Model):
    """The spare-parts plan: one line per equipment, part and prediction, with its order-by date and why.

    Written by the planner (:class:`mro.jit.planner`) only: people read it, may cancel a line that is not ordered
    yet (buyers, maintenance managers) and may comment on it; the purchase lines it created point back to it.
    ``done`` when the work that answers it is done, ``cancel`` when the prediction is withdrawn before anything
    was ordered."""

    _name = "mro.part.need"
    _description = "Spare-Part Need"
    _inherit = ["mail.thread"]
    # Anyone who may read a need may comment on it ("add a note"); nobody but the planner writes it.
    _mail_post_access = "read"
    _order = "state_rank, order_by_date, id"
    _rec_name = "product_id"

    equipment_id = fields.Many2one("maintenance.equipment", required=True, ondelete="cascade", index=True)
    part_id = fields.Many2one("mro.equipment.part", "Part line", ondelete="cascade", index=True)
    product_id = fields.Many2one("product.product", "Part", required=True, index=True)
    quantity = fields.Float(required=True, default=1.0)
    company_id = fields.Many2one(related="equipment_id.company_id", store=True, index=True)
    criticality = fields.Selection(related="equipment_id.mro_criticality", store=True)
    critical = fields.Boolean(related="part_id.critical", store=True)
    prediction_id = fields.Many2one("mro.prediction", ondelete="set null")
    predicted_failure_date = fields.Datetime()
    failure_probability = fields.Float(help="Of the equipment within the planning horizon, when planned.")
    partner_id = fields.Many2one("res.partner", "Vendor")
    lead_mean = fields.Float("Lead time (d)", digits=(16, 1))
    lead_std = fields.Float("Lead time std (d)", digits=(16, 1))
    order_by_date = fields.Date("Order by", index=True)
    late = fields.Boolean(help="The order-by date had passed when the part was planned or ordered.")
    risk_if_today = fields.Float("Late risk if ordered today")
    planned_at = fields.Datetime(
        "Planned on",
        readonly=True,
        default=lambda self: fields.Datetime.now(),
        help="When the planner first planned it: a renewal of the equipment after that answers it.",
    )
    last_signal_on = fields.Date(
        "Last warning",
        readonly=True,
        help="The last day the planner saw a warning it may act on (released after " "some quiet days).",
    )
    reason = fields.Text(readonly=True)
    state = fields.Selection(STATES, default="planned", required=True, index=True, tracking=True)
    state_rank = fields.Integer(compute="_compute_state_rank", store=True)
    purchase_line_id = fields.Many2one("purchase.order.line", readonly=True, index="btree_not_null")
    purchase_id = fields.Many2one(related="purchase_line_id.order_id", store=True, string="Purchase")
    emergency = fields.Boolean(help="Ordered after its order-by date: an emergency purchase.")
    expedited = fields.Boolean(
        readonly=True, help="Ordered late on the vendor's expedite agreement: its agreed delay, at its premium."
    )
    ordered_at = fields.Datetime(readonly=True)
    request_id = fields.Many2one("maintenance.request", "Closed by", readonly=True, help="The work that answered it.")
    currency_id = fields.Many2one(related="company_id.currency_id")
    value = fields.Monetary(compute="_compute_value", store=True, help="Quantity x the part's cost.")

    @api.depends("state")
    def _compute_state_rank(self):
        order = {state: rank for rank, (state, _label) in enumerate(STATES)}
        for need in self:
            need.state_rank = order[need.state]

    @api.depends("quantity", "product_id.standard_price")
    def _compute_value(self):
        for need in self:
            need.value = need.quantity * need.product_id.standard_price

    def action_cancel(self):
        """Cancel needs not ordered yet (buyers and maintenance managers): the planner will not order them."""
        self.env["mro.jit.planner"]._check_planning_rights(
            self.env._("Only buyers and maintenance managers cancel needs.")
        )
        self.check_access("read")
        if self.filtered(lambda n: n.state not in ("planned", "due", "stock")):
            raise UserError(
                self.env._("Only needs that are not ordered yet can be cancelled; cancel the purchase instead.")
            )
        # sudo: people never write needs (the planner does); this button only cancels, in the caller's name.
        for need in self.sudo():
            need.write({"state": "cancel"})
            need._mro_post(body=self.env._("Cancelled by %s.", self.env.user.name))
        return True

    def action_open_purchase(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "purchase.order",
            "res_id": self.purchase_id.id,
            "view_mode": "form",
        }

    def action_export_xlsx(self):
        """Download the spare-parts plan (these lines, or all open ones) as an XLSX workbook."""
        needs = self or self.search([("state", "not in", ("done", "cancel"))])
        attachment = self.env["mro.jit.export"]._export_xlsx(needs)
        return {"type": "ir.actions.act_url", "url": f"/web/content/{attachment.id}?download=true", "target": "self"}
