from odoo import fields, models
from odoo.tools import SQL


class MroPartSuggestion(models.Model):
    """Spare parts that past maintenance requests of an equipment consumed, not yet on its spare-parts list:
    moves linked to the request (scanned out, its kit), or whose origin is the request's name (a transfer
    made for it), from stock to anywhere but stock or a vendor."""

    _name = "mro.part.suggestion"
    _description = "Suggested spare-part link"
    _auto = False
    _order = "times desc, last_used desc"

    equipment_id = fields.Many2one("maintenance.equipment", readonly=True)
    product_id = fields.Many2one("product.product", "Part", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    times = fields.Integer("Requests that used it", readonly=True)
    quantity = fields.Float("Usual quantity", readonly=True, help="The median quantity one request used.")
    last_used = fields.Datetime(readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            WITH used AS (
                SELECT mr.equipment_id, sm.product_id, mr.company_id, mr.id AS request_id,
                       sum(sm.product_qty) AS qty, max(sm.date) AS at
                  FROM stock_move sm
                  JOIN maintenance_request mr ON mr.id = sm.mro_request_id
                       OR (sm.mro_request_id IS NULL AND sm.origin IS NOT NULL AND sm.origin = mr.name)
                  JOIN stock_location src ON src.id = sm.location_id
                  JOIN stock_location dst ON dst.id = sm.location_dest_id
                 WHERE sm.state = 'done' AND mr.equipment_id IS NOT NULL AND src.usage = 'internal'
                   AND dst.usage NOT IN ('internal', 'supplier', 'view', 'transit')
                 GROUP BY mr.equipment_id, sm.product_id, mr.company_id, mr.id
            )
            SELECT row_number() OVER () AS id, u.equipment_id, u.product_id, u.company_id,
                   count(*) AS times, percentile_cont(0.5) WITHIN GROUP (ORDER BY u.qty) AS quantity,
                   max(u.at) AS last_used
              FROM used u
             WHERE NOT EXISTS (SELECT 1 FROM mro_equipment_part p
                                WHERE p.equipment_id = u.equipment_id AND p.product_id = u.product_id)
             GROUP BY u.equipment_id, u.product_id, u.company_id
            """
        )

    def action_add_to_parts_list(self):
        """Put the selected suggestions on their equipment's spare-parts list."""
        self.env["mro.equipment.part"].create(
            [
                {"equipment_id": s.equipment_id.id, "product_id": s.product_id.id, "quantity": max(s.quantity, 1.0)}
                for s in self
            ]
        )
        return {"type": "ir.actions.client", "tag": "soft_reload"}
