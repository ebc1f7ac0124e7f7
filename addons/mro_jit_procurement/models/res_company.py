from odoo import api, fields, models

#: Settings of the auto-approval policy: every change is recorded (who, when, from what to what).
POLICY_FIELDS = (
    "mro_auto_approve", "mro_auto_approve_limit", "mro_auto_approve_daily_cap", "mro_auto_approve_a",
    "mro_auto_approve_b", "mro_auto_approve_c", "mro_auto_approve_min_probability", "po_double_validation",
    "po_double_validation_amount",
)  # fmt: skip


class ResCompany(models.Model):
    _inherit = "res.company"

    # Allowed risk that a part arrives after the failure, by equipment criticality (0 = run to failure).
    mro_risk_a = fields.Float("Allowed late risk, criticality A", default=0.01)
    mro_risk_b = fields.Float("Allowed late risk, criticality B", default=0.05)
    mro_risk_c = fields.Float(
        "Allowed late risk, criticality C", default=0.0, help="0: run to failure, no part ordered ahead."
    )
    mro_receiving_days = fields.Float("Receiving (days)", default=1.0)
    mro_kitting_days = fields.Float("Kitting (days)", default=1.0)
    mro_service_level = fields.Float("Service level of spare parts", default=0.95)
    mro_order_cost = fields.Monetary("Cost of one order", default=50.0, currency_field="currency_id")
    mro_holding_rate = fields.Float(
        "Holding cost rate (per year)", default=0.25, help="Share of a part's cost that holding it costs per year."
    )
    mro_auto_approve = fields.Boolean("Auto-approve spare-part purchases")
    mro_auto_approve_limit = fields.Monetary(
        "Auto-approval limit", default=500.0, currency_field="currency_id", help="In the company's currency."
    )
    mro_auto_approve_daily_cap = fields.Monetary(
        "Auto-approval cap per vendor and day",
        default=1500.0,
        currency_field="currency_id",
        help="Auto-approved spend per vendor and day, in the company's currency; beyond it, orders wait for a "
        "buyer (split orders cannot buy without bound). 0: no cap.",
    )
    mro_auto_approve_a = fields.Boolean("Auto-approve for criticality A", default=False)
    mro_auto_approve_b = fields.Boolean("Auto-approve for criticality B", default=True)
    mro_auto_approve_c = fields.Boolean("Auto-approve for criticality C", default=True)
    mro_auto_approve_min_probability = fields.Float(
        "Auto-approve from failure probability",
        default=0.5,
        help="Every line's equipment must fail within the planning horizon with at least this probability.",
    )
    mro_buyer_id = fields.Many2one("res.users", "Spare-parts buyer", help="Gets the activity on RFQs to review.")
    mro_maintenance_location_id = fields.Many2one(
        "stock.location", "Maintenance kits location", help="Where parts reserved for a maintenance request go."
    )
    mro_allow_negative_stock = fields.Boolean(
        "Record parts taken beyond stock",
        help="A part scanned out when the system shows none is still recorded (stock goes negative until the "
        "count is corrected); otherwise the technician is told to call the storeroom.",
    )
    mro_storekeeper_id = fields.Many2one("res.users", "Storeroom contact", help="Whom technicians call.")
    mro_consumption_location_id = fields.Many2one(
        "stock.location", "Maintenance consumption location", help="Where parts used by maintenance jobs go."
    )
    mro_risk_mode = fields.Boolean("Supply-chain risk mode", readonly=True)
    mro_risk_factor = fields.Float("Risk mode factor", default=1.5)
    mro_ghost_days = fields.Integer("Ghost part after (days without movement)", default=365)
    mro_setup_skipped = fields.Char("Predictive Setup: skipped steps", help="Comma-separated step keys.")

    def _mro_allowed_risk(self, criticality):
        """Allowed probability that the part arrives after the failure; None = run to failure."""
        self.ensure_one()
        risk = {"A": self.mro_risk_a, "B": self.mro_risk_b, "C": self.mro_risk_c}.get(criticality or "B")
        return risk if risk and risk > 0 else None

    def _mro_kit_location(self, warehouse):
        """The internal location where maintenance kits wait, created under the warehouse on first use."""
        self.ensure_one()
        if not self.mro_maintenance_location_id:
            self.mro_maintenance_location_id = self.env["stock.location"].create(
                {
                    "name": "Maintenance kits",
                    "usage": "internal",
                    "location_id": warehouse.view_location_id.id,
                    "company_id": self.id,
                }
            )
        return self.mro_maintenance_location_id

    def _mro_consumption_location(self):
        """The virtual location that parts used by maintenance jobs go to, created on first use."""
        self.ensure_one()
        if not self.mro_consumption_location_id:
            self.mro_consumption_location_id = self.env["stock.location"].create(
                {
                    "name": "Maintenance consumption",
                    "usage": "inventory",
                    "location_id": self.env.ref("stock.stock_location_locations_virtual").id,
                    "company_id": self.id,
                }
            )
        return self.mro_consumption_location_id

    def write(self, vals):
        changed = [name for name in POLICY_FIELDS if name in vals]
        before = {company.id: {name: company[name] for name in changed} for company in self} if changed else {}
        result = super().write(vals)
        if changed:
            self._mro_log_policy_changes(before, changed)
        return result

    def _mro_log_policy_changes(self, before, names):
        changes = []
        for company in self:
            for name in names:
                old, new = before[company.id][name], company[name]
                if old != new:
                    changes.append(
                        {
                            "company_id": company.id,
                            "field_name": name,
                            "field_label": self._fields[name].get_description(self.env)["string"],
                            "old_value": str(old),
                            "new_value": str(new),
                            "user_id": self.env.uid,
                        }
                    )
        if changes:
            # sudo: the audit trail is written by the system, whoever changes the settings; nobody edits it.
            self.env["mro.policy.change"].sudo().create(changes)

    @api.model
    def _mro_policy_fields(self):
        return POLICY_FIELDS
