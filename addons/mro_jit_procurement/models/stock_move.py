from odoo import fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    mro_request_id = fields.Many2one(
        "maintenance.request", "Maintenance job", index="btree_not_null", readonly=True, copy=False,
        help="The maintenance request these parts were taken for.",
    )  # fmt: skip
    mro_taken_by_id = fields.Many2one("res.users", "Taken by", readonly=True, copy=False)
