from markupsafe import Markup

from odoo import Command, api, fields, models


class MroRequestKit(models.AbstractModel):
    """The parts of maintenance jobs: the kit reserved for a job opened from a prediction, where each part is
    (in the kit, taken, on order with its arrival, missing), the wait for parts when the work is due, and the
    parts the job consumed when it is done. Jobs of the system: called in sudo mode by maintenance.request."""

    _name = "mro.request.kit"
    _description = "Parts kits of maintenance jobs"

    # ------------------------------------------------------------------ reserving and releasing
    @api.model
    def _open_kit_requests(self, equipment):
        """The open requests of ``equipment`` that hold a kit not yet used or released."""
        return self.env["maintenance.request"].search(
            [
                ("equipment_id", "=", equipment.id),
                ("stage_id.done", "=", False),
                ("mro_picking_id.state", "not in", ("done", "cancel")),
            ]
        )

    @api.model
    def _reserve(self, requests):
        """Reserve each request's equipment's spare parts: a transfer from stock to the company's maintenance
        kits location, confirmed and reserved, so the kit is ready when the work starts. One kit per equipment:
        when another open request (another rule on the same machine) holds one, this request uses it, and gets
        its own only if that one is released."""
        for request in requests.filtered(lambda r: not r.mro_picking_id and r.equipment_id.mro_part_ids):
            holder = self._open_kit_requests(request.equipment_id) - request
            if holder:
                request._mro_post(
                    body=self.env._(
                        "The parts kit %(kit)s of %(request)s is already reserved for this equipment.",
                        kit=holder[0].mro_picking_id.name,
                        request=holder[0].name,
                    )
                )
                continue
            company = request.company_id or request.equipment_id.company_id or self.env.company
            warehouse = self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
            parts = request.equipment_id.mro_part_ids.filtered(lambda p: p.product_id.is_storable)
            if not warehouse or not parts:
                continue
            picking = self.env["stock.picking"].create(self._prepare_picking_vals(request, warehouse, parts))
            picking.action_confirm()
            picking.action_assign()
            request.write({"mro_picking_id": picking.id})
            short = self._short_parts(request, critical_only=True)
            body = self.env._("Parts kit %s reserved.", picking.name)
            if short:
                body = self.env._(
                    "Parts kit %(kit)s: critical parts not in stock: %(parts)s.",
                    kit=picking.name,
                    parts=", ".join(short.mapped("display_name")),
                )
            request._mro_post(body=body)

    @api.model
    def _prepare_picking_vals(self, request, warehouse, parts):
        """Values of ``request``'s kit transfer (stock -> maintenance kits) for ``parts`` (a hook for
        integrators)."""
        company = warehouse.company_id
        source = warehouse.lot_stock_id
        destination = company._mro_kit_location(warehouse)
        return {
            "picking_type_id": warehouse.int_type_id.id,
            "location_id": source.id,
            "location_dest_id": destination.id,
            "origin": request.name,
            "company_id": company.id,
            "move_ids": [Command.create(self._prepare_move_vals(part.product_id, part.quantity, source, destination,
                                                               company)) for part in parts],
        }  # fmt: skip

    @api.model
    def _prepare_move_vals(self, product, quantity, source, destination, company, request=None):
        """Values of one move of a kit, or of the parts a job consumed (``request``: the job)."""
        values = {
            "name": product.display_name,
            "product_id": product.id,
            "product_uom_qty": quantity,
            "product_uom": product.uom_id.id,
            "location_id": source.id,
            "location_dest_id": destination.id,
            "company_id": company.id,
        }
        if request:
            values["mro_request_id"] = request.id
        return values

    @api.model
    def _release(self, requests):
        """A cancelled (archived) request releases its kit; another open request of the same equipment opened
        from a prediction or a rule, left without a kit, then reserves its own."""
        released = requests.filtered(lambda r: r.mro_picking_id and r.mro_picking_id.state not in ("done", "cancel"))
        for request in released:
            request.mro_picking_id.action_cancel()
            request._mro_post(body=self.env._("Parts kit %s released.", request.mro_picking_id.name))
        waiting = self.env["maintenance.request"].search(
            [
                ("equipment_id", "in", released.equipment_id.ids),
                ("stage_id.done", "=", False),
                ("mro_picking_id", "=", False),
                "|",
                ("mro_prediction_id", "!=", False),
                ("mro_rule_id", "!=", False),
            ]
        )
        self._reserve(waiting)

    # ------------------------------------------------------------------ where the parts are
    @api.model
    def _short_parts(self, request, critical_only=False):
        """The equipment's parts (its critical ones only, with ``critical_only``) that are not (fully) in
        ``request``'s kit, critical ones first."""
        kits = request.mro_picking_id | request.mro_picking_id.backorder_ids
        short = self.env["product.product"]
        parts = request.equipment_id.mro_part_ids.filtered(
            lambda p: p.product_id.is_storable and (p.critical or not critical_only)
        )
        for part in parts.sorted(lambda p: not p.critical):
            moves = kits.move_ids.filtered(lambda m, p=part.product_id: m.product_id == p and m.state != "cancel")
            if sum(moves.mapped("quantity")) < part.quantity - 1e-9:
                short |= part.product_id
        return short

    @api.model
    def _consumed_quantities(self, request):
        """{product: quantity used by ``request`` (its kit consumed, parts scanned out for it), net of what was
        returned}."""
        quantities = {}
        for move in request.mro_taken_move_ids.filtered(lambda m: m.state == "done"):
            sign = 1.0 if move.location_dest_id.usage != "internal" else -1.0
            quantities[move.product_id] = quantities.get(move.product_id, 0.0) + sign * move.product_qty
        return {product: qty for product, qty in quantities.items() if qty > 1e-9}

    @api.model
    def _part_lines(self, request):
        """One dict per spare part of the equipment ``request`` needs: product, quantity, quantity in the kit,
        state ("kit", "taken", "ordered" with the expected arrival and the purchase order, or "missing")."""
        parts = request.equipment_id.mro_part_ids.filtered(lambda p: p.product_id.is_storable)
        if not parts or not (request.mro_picking_id or request._mro_from_prediction()):
            return []
        kits = request.mro_picking_id | request.mro_picking_id.backorder_ids
        needs = self.env["mro.part.need"].search(
            [("equipment_id", "=", request.equipment_id.id), ("state", "=", "ordered")]
        )
        taken = self._consumed_quantities(request)
        lines = []
        for part in parts:
            product = part.product_id
            moves = kits.move_ids.filtered(lambda m, p=product: m.product_id == p and m.state != "cancel")
            in_kit = sum(moves.mapped("quantity")) if moves else 0.0
            line = {"product": product, "quantity": part.quantity, "in_kit": in_kit, "critical": part.critical}
            if request.mro_consumption_picking_id or in_kit >= part.quantity - 1e-9:
                line.update(state="kit", arrival=False, order=False)
            elif in_kit + taken.get(product, 0.0) >= part.quantity - 1e-9:
                line.update(state="taken", arrival=False, order=False)
            else:
                purchase = needs.filtered(lambda n, p=product: n.product_id == p).purchase_line_id[:1]
                if purchase and purchase.order_id.state in ("purchase", "done", "draft", "sent", "to approve"):
                    line.update(state="ordered", arrival=purchase.date_planned, order=purchase.order_id)
                else:
                    line.update(state="missing", arrival=False, order=False)
            lines.append(line)
        return lines

    # ------------------------------------------------------------------ waiting for parts
    @api.model
    def _work_started(self, request):
        """Whether the work is under way: its stage is past the first one (and not done)."""
        first = self.env["maintenance.stage"].search([], order="sequence, id", limit=1)
        return bool(request.stage_id and request.stage_id != first and not request.stage_id.done)

    @api.model
    def _check_waits(self, requests, now=None):
        """Decide "waited for parts" when the work is due: its scheduled date has come or it was started, and a
        critical part is still not in the kit. The wait lasts until the kit holds every critical part (or the
        request is done); its hours are recorded."""
        now = now or fields.Datetime.now()
        for request in requests.filtered(lambda r: r.mro_picking_id and not r.archive and not r.mro_parts_wait_end):
            done = request.stage_id.done
            short = self._short_parts(request, critical_only=True) if not done else self.env["product.product"]
            if request.mro_parts_wait_start:
                if done or not short:
                    hours = max((now - request.mro_parts_wait_start).total_seconds() / 3600.0, 0.0)
                    request.write({"mro_parts_wait_hours": hours, "mro_parts_wait_end": now})
                    request._mro_post(body=self.env._("Waited %.1f hours for parts.", hours))
                continue
            due = self._work_started(request) or (request.schedule_date and request.schedule_date <= now)
            if due and short and not done:
                start = min(request.schedule_date, now) if request.schedule_date else now
                request.write({"mro_waited_for_parts": True, "mro_parts_wait_start": start})
                request._mro_post(
                    body=self.env._(
                        "The work is due and these critical parts are not in the kit: %s.",
                        ", ".join(short.mapped("display_name")),
                    )
                )

    @api.model
    def _watch(self):
        """Hourly: decide the waits for parts of the requests whose work came due, and tell the planner about
        parts that will arrive after their job's scheduled date."""
        requests = self.env["maintenance.request"].search(
            [("mro_picking_id", "!=", False), ("archive", "=", False), ("mro_parts_wait_end", "=", False), "|",
             ("stage_id.done", "=", False), ("mro_parts_wait_start", "!=", False)]
        )  # fmt: skip
        self._check_waits(requests)
        self._warn_late(requests.filtered(lambda r: not r.stage_id.done))

    @api.model
    def _warn_late(self, requests):
        """An activity for the maintenance planner on each request whose parts will arrive after its scheduled
        date (once per request, its note kept up to date)."""
        summary = self.env._("Parts arrive after the scheduled date")
        for request in requests.filtered("schedule_date"):
            late = [
                line
                for line in self._part_lines(request)
                if line["state"] == "ordered" and line["arrival"] and line["arrival"] > request.schedule_date
            ]
            if not late:
                continue
            note = Markup("<ul>%s</ul>") % Markup("").join(
                Markup("<li>%s</li>")
                % self.env._(
                    "%(part)s: expected %(date)s on %(order)s",
                    part=line["product"].display_name,
                    date=fields.Datetime.to_string(line["arrival"])[:16],
                    order=line["order"].name,
                )
                for line in late
            )
            user = request.company_id.mro_maintenance_planner_id or request.user_id or request.owner_user_id
            existing = request.activity_ids.filtered(lambda a, s=summary: a.summary == s)
            if existing:
                existing.note = note
                continue
            request.activity_schedule(
                "mail.mail_activity_data_todo", summary=summary, note=note, user_id=user.id or self.env.uid
            )

    # ------------------------------------------------------------------ the work is done
    @api.model
    def _consume(self, request):
        """Validate ``request``'s kit (what it holds; parts that never came are dropped from it) and move its
        parts to the maintenance consumption location: stock goes down by what the job used."""
        kits = (request.mro_picking_id | request.mro_picking_id.backorder_ids).filtered(lambda p: p.state != "cancel")
        if not kits or request.mro_consumption_picking_id:
            return
        for kit in kits.filtered(lambda p: p.state != "done"):
            kit.action_assign()
            kit.move_ids.filtered(lambda m: m.state != "cancel" and not m.quantity)._action_cancel()
            moves = kit.move_ids.filtered(lambda m: m.state not in ("cancel", "done"))
            if not moves:
                if kit.state != "done":
                    kit.action_cancel()
                continue
            moves.picked = True
            kit.with_context(skip_backorder=True, picking_ids_not_to_backorder=kit.ids).button_validate()
        used = kits.move_ids.filtered(lambda m: m.state == "done")
        if not used:
            request._mro_post(body=self.env._("No part of the kit was in stock: nothing consumed from stock."))
            return
        company = request.company_id or request.equipment_id.company_id
        warehouse = kits[0].picking_type_id.warehouse_id
        source = kits[0].location_dest_id
        consumption = company._mro_consumption_location()
        quantities = {}
        for move in used:
            quantities[move.product_id] = quantities.get(move.product_id, 0.0) + move.quantity
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.int_type_id.id,
                "location_id": source.id,
                "location_dest_id": consumption.id,
                "origin": request.name,
                "company_id": company.id,
                "move_ids": [
                    Command.create(self._prepare_move_vals(product, qty, source, consumption, company, request))
                    for product, qty in quantities.items()
                ],
            }
        )
        picking.action_confirm()
        picking.action_assign()
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=True, picking_ids_not_to_backorder=picking.ids).button_validate()
        request.mro_consumption_picking_id = picking
        request._mro_post(
            body=self.env._(
                "Parts consumed by the job (%(picking)s): %(parts)s.",
                picking=picking.name,
                parts=", ".join(f"{qty:g} x {product.display_name}" for product, qty in quantities.items()),
            )
        )
