from odoo import fields, models


class StockWarehouseOrderpoint(models.Model):
    _inherit = "stock.warehouse.orderpoint"

    mro_managed = fields.Boolean("Spare-parts min/max", readonly=True, help="Recomputed from pooled failure risk.")
    mro_reason = fields.Char("Min/max reason", readonly=True)
    mro_saved_min = fields.Float("Min before risk mode", readonly=True)
    mro_saved_max = fields.Float("Max before risk mode", readonly=True)
    mro_saved = fields.Boolean(readonly=True)
