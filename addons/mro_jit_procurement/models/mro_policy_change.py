from odoo import fields, models


class MroPolicyChange(models.Model):
    """The audit trail of the auto-approval policy: who changed which setting, when, from what to what.
    Written by the system when the company's settings change; read-only for everyone."""

    _name = "mro.policy.change"
    _description = "Auto-approval policy change"
    _order = "create_date desc, id desc"
    _rec_name = "field_label"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    field_name = fields.Char("Technical name", required=True, readonly=True)
    field_label = fields.Char("Setting", required=True, readonly=True)
    old_value = fields.Char("Before", readonly=True)
    new_value = fields.Char("After", readonly=True)
    user_id = fields.Many2one("res.users", "Changed by", required=True, readonly=True)
    create_date = fields.Datetime("When", readonly=True)
