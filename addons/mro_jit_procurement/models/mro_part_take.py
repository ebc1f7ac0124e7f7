import re

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

#: What the part labels' QR codes hold (see mro.qr.label): a link that opens "Take parts" for the part.
TAKE_URL = re.compile(r"mro-take-parts\?(?:.*&)?product_id=(\d+)")
RECORD_URL = re.compile(r"/odoo/(product\.product|maintenance\.equipment|stock\.lot|stock\.location)/(\d+)")


class MroPartTake(models.AbstractModel):
    """Scan a part out of the storeroom for a job, from a phone: what the "Take parts" screen calls.

    A technician scans (or types) a part's QR label or barcode, a bin's code, or an equipment's label; picks
    the job; confirms. The part leaves stock at once (a done move to the maintenance consumption location,
    from the job's kit when the kit holds it), linked to the request; when that leaves the product below its
    reorder point, the reorder starts now. Technicians have no stock rights: these are jobs of the system,
    run for a request the technician may see."""

    _name = "mro.part.take"
    _description = "Take spare parts for a maintenance job"

    # ------------------------------------------------------------------ looking a code up
    @api.model
    def lookup(self, code, request_id=False):
        """What a scanned or typed ``code`` is, and what the screen needs to go on.

        :return: ``{"kind": "product" | "equipment" | "choice" | "unknown", "message": str, "product": {...},
            "lots": [...], "products": [...], "requests": [...], "request_id": default request id}``
        """
        self._check_user()
        code = (code or "").strip()
        result = {"kind": "unknown", "code": code, "message": "", "product": None, "lots": [], "products": []}
        product, equipment, lot = self._resolve(code)
        if product and len(product) > 1:
            result.update(kind="choice", products=[self._product_info(p) for p in product[:20]])
            result["message"] = self.env._("This bin holds several parts: pick one.")
        elif product:
            result.update(kind="product", product=self._product_info(product, lot))
            if product.tracking != "none":
                result["lots"] = self._lots(product)
        elif equipment:
            result.update(kind="equipment", equipment={"id": equipment.id, "name": equipment.display_name})
        else:
            result["message"] = self.env._("Unknown code %s: not a part, a bin or an equipment of this company.", code)
        result.update(self._request_choices(equipment, request_id))
        return result

    @api.model
    def _resolve(self, code):
        """(products, equipment, lot) for a code: a label's link, a product barcode or internal reference, a
        lot or serial number, a bin (location barcode: the products stored there), an equipment's serial."""
        company = self.env.company
        # sudo: codes are resolved whatever the technician's rights on products and stock; only this
        # company's records answer, and the screen shows names only.
        Product = self.env["product.product"].sudo().with_company(company)
        empty = (Product, self.env["maintenance.equipment"], self.env["stock.lot"])
        if not code:
            return empty
        match = TAKE_URL.search(code)
        if match:
            return Product.browse(int(match[1])).exists(), empty[1], empty[2]
        match = RECORD_URL.search(code)
        if match:
            model, record_id = match[1], int(match[2])
            if model == "product.product":
                return Product.browse(record_id).exists(), empty[1], empty[2]
            if model == "maintenance.equipment":
                return Product, self._visible_equipment(record_id), empty[2]
            code = self.env[model].sudo().browse(record_id).exists().display_name or code
        domain = [("company_id", "in", (company.id, False))]
        product = Product.search([*domain, "|", ("barcode", "=", code), ("default_code", "=", code)], limit=1)
        if product:
            return product, empty[1], empty[2]
        lot = (
            self.env["stock.lot"]
            .sudo()
            .search([("name", "=", code), ("company_id", "in", (company.id, False))], limit=1)
        )
        if lot:
            return lot.product_id, empty[1], lot
        location = (
            self.env["stock.location"]
            .sudo()
            .search(
                [("barcode", "=", code), ("usage", "=", "internal"), ("company_id", "in", (company.id, False))], limit=1
            )
        )
        if location:
            quants = (
                self.env["stock.quant"].sudo().search([("location_id", "child_of", location.id), ("quantity", ">", 0)])
            )
            return quants.product_id, empty[1], empty[2]
        equipment = self.env["maintenance.equipment"].search([("serial_no", "=", code)], limit=1)
        return Product, equipment, empty[2]

    @api.model
    def _visible_equipment(self, equipment_id):
        equipment = self.env["maintenance.equipment"].browse(equipment_id).exists()
        try:
            equipment.check_access("read")
        except AccessError:
            return self.env["maintenance.equipment"]
        return equipment

    @api.model
    def _product_info(self, product, lot=None):
        warehouse = self._warehouse()
        located = product.with_context(warehouse_id=warehouse.id)
        return {
            "id": product.id,
            "name": product.display_name,
            "code": product.default_code or "",
            "uom": product.uom_id.name,
            "tracking": product.tracking,
            "on_hand": located.qty_available,
            "lot_id": lot.id if lot else False,
            "lot_name": lot.name if lot else "",
        }

    @api.model
    def _lots(self, product):
        stock = self._warehouse().lot_stock_id
        quants = self.env["stock.quant"].sudo().search(
            [("product_id", "=", product.id), ("location_id", "child_of", stock.id), ("quantity", ">", 0),
             ("lot_id", "!=", False)]
        )  # fmt: skip
        return [{"id": q.lot_id.id, "name": q.lot_id.name, "quantity": q.quantity} for q in quants]

    @api.model
    def _request_choices(self, equipment=None, request_id=False):
        """The open requests the technician may take parts for, and the default one: the given request, else
        the one in progress on the scanned equipment, else the technician's request of today."""
        Request, Kit = self.env["maintenance.request"], self.env["mro.request.kit"]
        base = [("stage_id.done", "=", False), ("archive", "=", False)]
        today = fields.Date.context_today(self)
        mine = Request.search(
            [*base, "|", ("user_id", "=", self.env.uid), ("maintenance_team_id.member_ids", "in", self.env.uid)],
            order="schedule_date, id",
            limit=50,
        )
        default = Request.browse(request_id).exists() if request_id else Request
        if equipment:
            on_equipment = Request.search([*base, ("equipment_id", "=", equipment.id)], order="schedule_date, id")
            mine |= on_equipment
            started = on_equipment.filtered(Kit._work_started)
            default = default or started[:1] or on_equipment[:1]
        if not default:
            started = mine.filtered(lambda r: r.user_id == self.env.user and Kit._work_started(r))
            todays = mine.filtered(
                lambda r: r.user_id == self.env.user and r.schedule_date and r.schedule_date.date() == today
            )
            default = started[:1] or todays[:1]
        mine |= default
        return {
            "requests": [{"id": r.id, "name": r.name, "equipment": r.equipment_id.display_name or ""} for r in mine],
            "request_id": default.id or False,
        }

    # ------------------------------------------------------------------ taking
    @api.model
    def take(self, product_id, request_id, quantity=1.0, lot_id=False):
        """Take ``quantity`` of a part out of stock for a request: a done move to the maintenance consumption
        location, from the request's kit when it holds the part, else from stock; the reorder starts now if
        the part falls below its reorder point. Returns what happened, for the screen."""
        self._check_user()
        request = self.env["maintenance.request"].browse(int(request_id or 0)).exists()
        if not request:
            raise UserError(self.env._("Pick the job the part is for."))
        request.check_access("read")  # the technician may see (so work on) this request
        if request.stage_id.done or request.archive:
            raise UserError(self.env._("%s is closed: parts can no longer be taken for it.", request.display_name))
        try:
            quantity = float(quantity)
        except (TypeError, ValueError):
            raise UserError(self.env._("The quantity must be a number.")) from None
        if not 0 < quantity <= 1000:
            raise UserError(self.env._("Take between 0 and 1,000 of a part at a time."))
        # sudo: technicians have no stock rights; taking a part for a job they may see is the system's move.
        return self.sudo()._take(request.sudo(), int(product_id), quantity, lot_id and int(lot_id), self.env.user)

    def _take(self, request, product_id, quantity, lot_id, user):
        company = request.company_id or request.equipment_id.company_id or self.env.company
        self = self.with_company(company)
        product = self.env["product.product"].browse(product_id).exists()
        if not product or not product.is_storable:
            raise UserError(self.env._("Unknown part: it is not a stocked product of this company."))
        lot = self.env["stock.lot"].browse(lot_id).exists() if lot_id else self.env["stock.lot"]
        if product.tracking != "none" and not lot:
            raise UserError(
                self.env._("%s is tracked by lot or serial number: scan or pick the lot.", product.display_name)
            )
        if lot and lot.product_id != product:
            raise UserError(
                self.env._("Lot %(lot)s is not a lot of %(part)s.", lot=lot.name, part=product.display_name)
            )
        if product.tracking == "serial" and quantity != 1:
            raise UserError(self.env._("A serial-numbered part is taken one at a time."))
        warehouse = self._warehouse(company)
        kit_location, from_kit = self._from_kit(request, product, quantity)
        source = kit_location or warehouse.lot_stock_id
        available = self.env["stock.quant"]._get_available_quantity(
            product, source, lot_id=lot or None, strict=bool(lot)
        )
        if available < quantity and not company.mro_allow_negative_stock:
            contact = company.mro_storekeeper_id
            raise UserError(
                self.env._(
                    "Not enough %(part)s in stock: %(available)s available, %(wanted)s wanted. %(call)s",
                    part=product.display_name,
                    available=max(available, 0.0),
                    wanted=quantity,
                    call=self.env._("Call %s (storeroom).", contact.name)
                    if contact
                    else self.env._("Call the storeroom."),
                )
            )
        destination = company._mro_consumption_location()
        move = self.env["stock.move"].create(
            {
                "name": self.env._("%(part)s for %(job)s", part=product.display_name, job=request.name),
                "product_id": product.id,
                "product_uom_qty": quantity,
                "product_uom": product.uom_id.id,
                "location_id": source.id,
                "location_dest_id": destination.id,
                "company_id": company.id,
                "origin": request.name,
                "mro_request_id": request.id,
                "mro_taken_by_id": user.id,
                "move_line_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "product_uom_id": product.uom_id.id,
                            "quantity": quantity,
                            "location_id": source.id,
                            "location_dest_id": destination.id,
                            "lot_id": lot.id or False,
                            "company_id": company.id,
                        }
                    )
                ],
            }
        )
        move._action_confirm(merge=False)
        move.picked = True
        move._action_done()
        request._mro_post(
            body=self.env._(
                "%(user)s took %(qty)s x %(part)s%(lot)s (%(where)s).",
                user=user.name,
                qty=quantity,
                part=product.display_name,
                lot=self.env._(", lot %s", lot.name) if lot else "",
                where=self.env._("from the kit") if from_kit else self.env._("from stock"),
            )
        )
        reorder = self._reorder(product, warehouse)
        return {
            "move": move.reference or move.name,
            "product": product.display_name,
            "quantity": quantity,
            "from_kit": from_kit,
            "on_hand": product.with_context(warehouse_id=warehouse.id).qty_available,
            "reorder": reorder,
            "request": request.name,
        }

    def _from_kit(self, request, product, quantity):
        """(location, from the kit): a validated kit holding the part gives its location; a reserved kit not
        validated yet gives its reservation up for what is taken (the part leaves from stock, the kit needs that
        much less): (None, True); (None, False) when the kit does not hold the part."""
        kits = (request.mro_picking_id | request.mro_picking_id.backorder_ids).filtered(lambda p: p.state != "cancel")
        done = kits.filtered(lambda p: p.state == "done")
        if done:
            location = done[0].location_dest_id
            if self.env["stock.quant"]._get_available_quantity(product, location) >= quantity:
                return location, True
        for move in kits.move_ids.filtered(lambda m: m.product_id == product and m.state not in ("done", "cancel")):
            move._do_unreserve()
            if move.product_uom_qty <= quantity:
                move._action_cancel()
            else:
                move.product_uom_qty -= quantity
                move._action_assign()
            return None, True
        return None, False

    def _reorder(self, product, warehouse):
        """Start the reorder now when the part fell below its reorder point (its orderpoint's procurement:
        an RFQ for a part bought), instead of at the next scheduler run. Returns a line for the screen."""
        point = self.env["stock.warehouse.orderpoint"].search(
            [("product_id", "=", product.id), ("warehouse_id", "=", warehouse.id), ("trigger", "=", "auto")], limit=1
        )
        if not point:
            return ""
        point._compute_qty()
        if point.qty_forecast >= point.product_min_qty:
            return ""
        if not point.route_id and not product.route_ids and warehouse.buy_pull_id:
            point.route_id = warehouse.buy_pull_id.route_id  # a part with a vendor is bought
        point._procure_orderpoint_confirm(company_id=warehouse.company_id, raise_user_error=False)
        point._compute_qty()
        if point.qty_forecast < point.product_min_qty:
            return self.env._(
                "Below its minimum (%s), but the reorder could not start: see the part's activities.",
                point.product_min_qty,
            )
        line = self.env["purchase.order.line"].search(
            [("product_id", "=", product.id), ("order_id.state", "in", ("draft", "sent", "to approve", "purchase"))],
            order="id desc",
            limit=1,
        )
        return self.env._(
            "Below its minimum (%(min)s): reordered%(on)s.",
            min=point.product_min_qty,
            on=self.env._(" on %s", line.order_id.name) if line else "",
        )

    # ------------------------------------------------------------------ helpers
    @api.model
    def _check_user(self):
        if not self.env.user._is_internal():
            raise AccessError(self.env._("Only employees take spare parts."))

    @api.model
    def _warehouse(self, company=None):
        company = company or self.env.company
        return self.env["stock.warehouse"].sudo().search([("company_id", "=", company.id)], limit=1)
