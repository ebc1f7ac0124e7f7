from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class MroKitReturnWizard(models.TransientModel):
    """Put the unused parts of a done job back in stock: one transfer, maintenance consumption -> stock."""

    _name = "mro.kit.return.wizard"
    _description = "Return unused parts to stock"

    request_id = fields.Many2one("maintenance.request", required=True, readonly=True)
    line_ids = fields.One2many("mro.kit.return.wizard.line", "wizard_id", "Parts")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        request = self.env["maintenance.request"].browse(values.get("request_id"))
        if request and "line_ids" in fields_list:
            values["line_ids"] = [
                Command.create({"product_id": product.id, "consumed_qty": qty, "return_qty": 0.0})
                for product, qty in request._mro_consumed_quantities().items()
            ]
        return values

    def action_return(self):
        """Create and validate the return transfer, as the storekeeper who confirms it."""
        self.ensure_one()
        request = self.request_id
        lines = self.line_ids.filtered(lambda ln: ln.return_qty > 0)
        if not lines:
            raise UserError(self.env._("Set the quantity to return on at least one part."))
        for line in lines:
            if line.return_qty > line.consumed_qty + 1e-9:
                raise UserError(
                    self.env._(
                        "%(part)s: %(qty)s returned but only %(used)s taken by the job.",
                        part=line.product_id.display_name,
                        qty=line.return_qty,
                        used=line.consumed_qty,
                    )
                )
        company = request.company_id or request.equipment_id.company_id or self.env.company
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        source = company._mro_consumption_location()
        destination = warehouse.lot_stock_id
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.int_type_id.id,
                "location_id": source.id,
                "location_dest_id": destination.id,
                "origin": request.name,
                "company_id": company.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": line.product_id.display_name,
                            "product_id": line.product_id.id,
                            "product_uom_qty": line.return_qty,
                            "product_uom": line.product_id.uom_id.id,
                            "location_id": source.id,
                            "location_dest_id": destination.id,
                            "company_id": company.id,
                            "mro_request_id": request.id,
                        }
                    )
                    for line in lines
                ],
            }
        )
        picking.action_confirm()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=True, picking_ids_not_to_backorder=picking.ids).button_validate()
        # sudo: the storekeeper records the return on the request they may not write otherwise.
        request.sudo().write({"mro_return_picking_ids": [Command.link(picking.id)]})
        request._mro_post(
            body=self.env._(
                "Unused parts returned to stock (%(picking)s): %(parts)s.",
                picking=picking.name,
                parts=", ".join(f"{ln.return_qty:g} x {ln.product_id.display_name}" for ln in lines),
            )
        )
        return {"type": "ir.actions.act_window_close"}


class MroKitReturnWizardLine(models.TransientModel):
    _name = "mro.kit.return.wizard.line"
    _description = "Return unused parts: one part"

    wizard_id = fields.Many2one("mro.kit.return.wizard", required=True, ondelete="cascade")
    product_id = fields.Many2one("product.product", "Part", required=True, readonly=True)
    consumed_qty = fields.Float("Taken by the job", readonly=True)
    return_qty = fields.Float("Unused, back to stock")
