from odoo import api, fields, models
from odoo.tools import SQL


class MroPartObsoleteReport(models.Model):
    """Obsolete and ghost spare parts, for the stock review.

    Obsolete: every equipment the part is listed on is scrapped or archived. Ghost: no stock movement for
    the company's ghost period (``mro_ghost_days``). Both with the stock still held and its value."""

    _name = "mro.part.obsolete.report"
    _description = "Obsolete and ghost spare parts"
    _auto = False
    _order = "stock_value desc"

    product_id = fields.Many2one("product.product", "Part", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    kind = fields.Selection([("obsolete", "Obsolete"), ("ghost", "Ghost")], readonly=True)
    equipment_count = fields.Integer("Equipment listed", readonly=True)
    active_equipment_count = fields.Integer("Equipment in service", readonly=True)
    last_move = fields.Datetime("Last movement", readonly=True)
    on_hand = fields.Float(readonly=True)
    stock_value = fields.Monetary(readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            WITH usage AS (
                SELECT p.product_id, e.company_id, count(DISTINCT p.equipment_id) AS equipment_count,
                       count(DISTINCT p.equipment_id) FILTER (WHERE e.active AND e.scrap_date IS NULL) AS active_count
                  FROM mro_equipment_part p JOIN maintenance_equipment e ON e.id = p.equipment_id
                 GROUP BY p.product_id, e.company_id
            ), moves AS (
                SELECT product_id, company_id, max(date) AS last_move
                  FROM stock_move WHERE state = 'done' GROUP BY product_id, company_id
            ), stock AS (
                SELECT q.product_id, q.company_id, sum(q.quantity) AS on_hand
                  FROM stock_quant q JOIN stock_location l ON l.id = q.location_id
                 WHERE l.usage = 'internal' GROUP BY q.product_id, q.company_id
            )
            SELECT row_number() OVER () AS id, u.product_id, u.company_id,
                   CASE WHEN u.active_count = 0 THEN 'obsolete' ELSE 'ghost' END AS kind,
                   u.equipment_count, u.active_count AS active_equipment_count, m.last_move,
                   COALESCE(s.on_hand, 0) AS on_hand,
                   COALESCE(s.on_hand, 0)
                   * COALESCE((pp.standard_price ->> u.company_id::text)::float8, 0) AS stock_value
              FROM usage u
              JOIN product_product pp ON pp.id = u.product_id
              JOIN res_company c ON c.id = u.company_id
              LEFT JOIN moves m ON m.product_id = u.product_id AND m.company_id = u.company_id
              LEFT JOIN stock s ON s.product_id = u.product_id AND s.company_id = u.company_id
             WHERE u.active_count = 0
                OR COALESCE(m.last_move, '-infinity') < now() AT TIME ZONE 'UTC'
                                                      - make_interval(days => COALESCE(c.mro_ghost_days, 365))
            """
        )

    @api.model
    def action_open(self):
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_part_obsolete_report_action")
