from odoo import Command, _, api, fields, models


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    mro_picking_id = fields.Many2one("stock.picking", "Parts kit", readonly=True, copy=False)
    mro_kit_state = fields.Selection(related="mro_picking_id.state", string="Kit status")
    mro_waited_for_parts = fields.Boolean(
        "Waited for parts",
        readonly=True,
        copy=False,
        help="A critical part could not be reserved when the request was opened (a stockout).",
    )

    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        requests.filtered(lambda r: r.mro_prediction_id or r.mro_rule_id)._mro_reserve_parts()
        return requests

    def write(self, vals):
        result = super().write(vals)
        if vals.get("archive"):
            self._mro_release_parts()
        return result

    def _mro_open_kit_requests(self, equipment):
        """The open requests of ``equipment`` that hold a kit not yet used or released."""
        return self.search(
            [
                ("equipment_id", "=", equipment.id),
                ("stage_id.done", "=", False),
                ("mro_picking_id.state", "not in", ("done", "cancel")),
            ]
        )

    def _mro_reserve_parts(self):
        """Reserve the equipment's spare parts for this request: a transfer from stock to the company's
        maintenance kits location, confirmed and reserved, so the kit is ready when the work starts. One
        kit per equipment: when another open request (another rule on the same machine) holds one, this
        request uses it, and gets its own only if that one is released."""
        for request in self.filtered(lambda r: not r.mro_picking_id and r.equipment_id.mro_part_ids):
            holder = self._mro_open_kit_requests(request.equipment_id) - request
            if holder:
                request.message_post(
                    body=_(
                        "The parts kit %(kit)s of %(request)s is already reserved for this equipment.",
                        kit=holder[0].mro_picking_id.name,
                        request=holder[0].name,
                    )
                )
                continue
            company = request.company_id or request.equipment_id.company_id or self.env.company
            warehouse = self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
            if not warehouse:
                continue
            parts = request.equipment_id.mro_part_ids.filtered(lambda p: p.product_id.is_storable)
            if not parts:
                continue
            source = warehouse.lot_stock_id
            destination = company.sudo()._mro_kit_location(warehouse)
            # Stock users may not create transfers; the reservation is part of opening the request.
            picking = (
                self.env["stock.picking"]
                .sudo()
                .create(
                    {
                        "picking_type_id": warehouse.int_type_id.id,
                        "location_id": source.id,
                        "location_dest_id": destination.id,
                        "origin": request.name,
                        "company_id": company.id,
                        "move_ids": [
                            Command.create(
                                {
                                    "name": part.product_id.display_name,
                                    "product_id": part.product_id.id,
                                    "product_uom_qty": part.quantity,
                                    "product_uom": part.product_id.uom_id.id,
                                    "location_id": source.id,
                                    "location_dest_id": destination.id,
                                    "company_id": company.id,
                                }
                            )
                            for part in parts
                        ],
                    }
                )
            )
            picking.action_confirm()
            picking.action_assign()
            short = [
                move.product_id.display_name
                for move in picking.move_ids
                if move.state != "assigned" and parts.filtered(lambda p, m=move: p.product_id == m.product_id).critical
            ]
            request.write({"mro_picking_id": picking.id, "mro_waited_for_parts": bool(short)})
            body = _("Parts kit %s reserved.", picking.name)
            if short:
                body = _(
                    "Parts kit %(kit)s: critical parts not in stock: %(parts)s.",
                    kit=picking.name,
                    parts=", ".join(short),
                )
            request.message_post(body=body)

    def _mro_release_parts(self):
        """Cancelling (archiving) the request releases its kit; another open request of the same equipment
        opened from a prediction or a rule, left without a kit, then reserves its own."""
        released = self.filtered(lambda r: r.mro_picking_id and r.mro_picking_id.state not in ("done", "cancel"))
        for request in released:
            request.mro_picking_id.sudo().action_cancel()
            request.message_post(body=_("Parts kit %s released.", request.mro_picking_id.name))
        waiting = self.search(
            [
                ("equipment_id", "in", released.equipment_id.ids),
                ("stage_id.done", "=", False),
                ("mro_picking_id", "=", False),
                "|",
                ("mro_prediction_id", "!=", False),
                ("mro_rule_id", "!=", False),
            ]
        )
        waiting._mro_reserve_parts()
