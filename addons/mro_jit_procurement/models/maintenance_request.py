from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError

PARTS_STATES = [("ready", "Parts in kit"), ("on_order", "Parts on order"), ("missing", "Parts missing")]


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    mro_picking_id = fields.Many2one("stock.picking", "Parts kit", readonly=True, copy=False)
    mro_kit_state = fields.Selection(related="mro_picking_id.state", string="Kit status")
    mro_consumption_picking_id = fields.Many2one(
        "stock.picking", "Parts consumed", readonly=True, copy=False, help="The kit's parts used by the job."
    )
    mro_return_picking_ids = fields.Many2many(
        "stock.picking", string="Parts returned", readonly=True, copy=False, help="Unused parts put back in stock."
    )
    mro_waited_for_parts = fields.Boolean(
        "Waited for parts",
        readonly=True,
        copy=False,
        help="When the work was due (its scheduled date, or it was started), a critical part was not in the kit: "
        "a stockout.",
    )
    mro_parts_wait_start = fields.Datetime(
        "Waiting for parts since", readonly=True, copy=False, help="When the work was due without its critical parts."
    )
    mro_parts_wait_end = fields.Datetime("Parts arrived", readonly=True, copy=False)
    mro_parts_wait_hours = fields.Float(
        "Hours waited for parts", readonly=True, copy=False, digits=(16, 1), aggregator="sum"
    )
    mro_parts_state = fields.Selection(
        PARTS_STATES, "Parts", compute="_compute_mro_parts", help="Where the equipment's spare parts for this job are."
    )
    mro_parts_summary = fields.Char("Parts status", compute="_compute_mro_parts")
    mro_parts_html = fields.Html("Parts for this job", compute="_compute_mro_parts", sanitize=False)

    # ------------------------------------------------------------------ parts status
    def _mro_part_lines(self):
        """One dict per spare part of the equipment this job needs: product, quantity, quantity in the kit,
        state ("kit", "ordered" with the expected arrival and the purchase order, or "missing")."""
        self.ensure_one()
        # sudo: people who see the request see where its parts are, without stock or purchase rights.
        request = self.sudo()
        parts = request.equipment_id.mro_part_ids.filtered(lambda p: p.product_id.is_storable)
        if not parts or not (request.mro_picking_id or request._mro_from_prediction()):
            return []
        kits = request.mro_picking_id | request.mro_picking_id.backorder_ids
        needs = request.env["mro.part.need"].search(
            [("equipment_id", "=", request.equipment_id.id), ("state", "=", "ordered")]
        )
        taken = request._mro_consumed_quantities()
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

    @api.depends("mro_picking_id.move_ids.quantity", "mro_picking_id.state", "equipment_id")
    def _compute_mro_parts(self):
        labels = {"kit": _("in kit"), "taken": _("taken"), "ordered": _("on order"), "missing": _("missing")}
        for request in self:
            lines = request._mro_part_lines() if request.equipment_id else []
            if not lines:
                request.mro_parts_state = False
                request.mro_parts_summary = False
                request.mro_parts_html = False
                continue
            states = {line["state"] for line in lines}
            request.mro_parts_state = (
                "missing" if "missing" in states else "on_order" if "ordered" in states else "ready"
            )
            counts = {s: sum(1 for ln in lines if ln["state"] == s) for s in labels}
            arrivals = [ln["arrival"] for ln in lines if ln["arrival"]]
            summary = ", ".join(f"{n} {labels[s]}" for s, n in counts.items() if n)
            if arrivals:
                summary += _(" (arrives %s)", fields.Date.to_string(max(arrivals).date()))
            request.mro_parts_summary = summary
            rows = []
            for line in lines:
                if line["state"] == "ordered":
                    detail = _(
                        "on order, %(order)s, expected %(date)s",
                        order=line["order"].name,
                        date=fields.Datetime.to_string(line["arrival"])[:16] if line["arrival"] else "?",
                    )
                    late = request.schedule_date and line["arrival"] and line["arrival"] > request.schedule_date
                    badge = "text-bg-danger" if late else "text-bg-info"
                    if late:
                        detail += " " + _("(after the scheduled date)")
                elif line["state"] in ("kit", "taken"):
                    detail, badge = labels[line["state"]], "text-bg-success"
                else:
                    detail, badge = _("missing: not in stock, not ordered"), "text-bg-danger"
                rows.append(
                    Markup(
                        "<tr><td>%s%s</td><td class='text-end'>%s</td><td><span class='badge %s'>%s</span></td></tr>"
                    )
                    % (
                        line["product"].display_name,
                        Markup(" <i class='fa fa-exclamation-circle' title='critical'/>") if line["critical"] else "",
                        line["quantity"],
                        badge,
                        detail,
                    )
                )
            request.mro_parts_html = Markup(
                "<table class='table table-sm o_mro_parts'><tbody>%s</tbody></table>"
            ) % Markup("").join(rows)

    # ------------------------------------------------------------------ kit
    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        # sudo: reserving the kit (and the one-kit-per-machine check) is a job of the system; only the system
        # opens requests from a prediction or a rule (those fields are refused to people).
        requests.sudo().filtered(lambda r: r.mro_prediction_id or r.mro_rule_id)._mro_reserve_parts()
        return requests

    def write(self, vals):
        was_started = {r.id: r._mro_work_started() for r in self} if "stage_id" in vals else {}
        result = super().write(vals)
        if vals.get("archive"):
            # sudo: releasing the kit of a cancelled request is the system's bookkeeping.
            self.sudo()._mro_release_parts()
        if "stage_id" in vals:
            started = self.filtered(lambda r: r._mro_work_started() and not was_started.get(r.id))
            # sudo: deciding whether the work waited for parts is the system's bookkeeping.
            started.sudo()._mro_check_parts_wait()
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
        request uses it, and gets its own only if that one is released. Called in sudo mode."""
        for request in self.filtered(lambda r: not r.mro_picking_id and r.equipment_id.mro_part_ids):
            holder = self._mro_open_kit_requests(request.equipment_id) - request
            if holder:
                request._mro_post(
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
            picking = self.env["stock.picking"].create(request._prepare_kit_picking_vals(warehouse, parts))
            picking.action_confirm()
            picking.action_assign()
            request.write({"mro_picking_id": picking.id})
            short = request._mro_short_parts(critical_only=True)
            body = _("Parts kit %s reserved.", picking.name)
            if short:
                body = _(
                    "Parts kit %(kit)s: critical parts not in stock: %(parts)s.",
                    kit=picking.name,
                    parts=", ".join(short.mapped("display_name")),
                )
            request._mro_post(body=body)

    def _prepare_kit_picking_vals(self, warehouse, parts):
        """Values of the kit transfer (stock -> maintenance kits) for ``parts`` (a hook for integrators)."""
        self.ensure_one()
        company = warehouse.company_id
        source = warehouse.lot_stock_id
        destination = company._mro_kit_location(warehouse)
        return {
            "picking_type_id": warehouse.int_type_id.id,
            "location_id": source.id,
            "location_dest_id": destination.id,
            "origin": self.name,
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

    def _mro_short_parts(self, critical_only=False):
        """The equipment's parts (its critical ones only, with ``critical_only``) that are not (fully) in this
        request's kit, critical ones first."""
        self.ensure_one()
        kits = self.mro_picking_id | self.mro_picking_id.backorder_ids
        short = self.env["product.product"]
        parts = self.equipment_id.mro_part_ids.filtered(
            lambda p: p.product_id.is_storable and (p.critical or not critical_only)
        )
        for part in parts.sorted(lambda p: not p.critical):
            moves = kits.move_ids.filtered(lambda m, p=part.product_id: m.product_id == p and m.state != "cancel")
            if sum(moves.mapped("quantity")) < part.quantity - 1e-9:
                short |= part.product_id
        return short

    def _mro_release_parts(self):
        """Cancelling (archiving) the request releases its kit; another open request of the same equipment
        opened from a prediction or a rule, left without a kit, then reserves its own."""
        released = self.filtered(lambda r: r.mro_picking_id and r.mro_picking_id.state not in ("done", "cancel"))
        for request in released:
            request.mro_picking_id.action_cancel()
            request._mro_post(body=_("Parts kit %s released.", request.mro_picking_id.name))
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

    # ------------------------------------------------------------------ waiting for parts
    def _mro_work_started(self):
        """Whether the work is under way: its stage is past the first one (and not done)."""
        self.ensure_one()
        first = self.env["maintenance.stage"].search([], order="sequence, id", limit=1)
        return bool(self.stage_id and self.stage_id != first and not self.stage_id.done)

    def _mro_check_parts_wait(self, now=None):
        """Decide "waited for parts" when the work is due: its scheduled date has come or it was started, and a
        critical part is still not in the kit. The wait lasts until the kit holds every critical part (or the
        request is done); its hours are recorded. Called in sudo mode (bookkeeping of the system)."""
        now = now or fields.Datetime.now()
        for request in self.filtered("mro_picking_id"):
            if request.archive:
                continue
            done = request.stage_id.done
            short = request._mro_short_parts(critical_only=True) if not done else self.env["product.product"]
            if request.mro_parts_wait_end:
                continue  # one wait per request, already recorded
            if request.mro_parts_wait_start:
                if done or not short:
                    hours = max((now - request.mro_parts_wait_start).total_seconds() / 3600.0, 0.0)
                    request.write({"mro_parts_wait_hours": hours, "mro_parts_wait_end": now})
                    request._mro_post(body=_("Waited %.1f hours for parts.", hours))
                continue
            due = request._mro_work_started() or (request.schedule_date and request.schedule_date <= now)
            if due and short and not done:
                start = min(request.schedule_date, now) if request.schedule_date else now
                request.write({"mro_waited_for_parts": True, "mro_parts_wait_start": start})
                request._mro_post(
                    body=_(
                        "The work is due and these critical parts are not in the kit: %s.",
                        ", ".join(short.mapped("display_name")),
                    )
                )

    @api.model
    def _cron_mro_parts_watch(self):
        """Hourly: decide the waits for parts of the requests whose work came due, and tell the planner about
        parts that will arrive after their job's scheduled date."""
        requests = self.search(
            [("mro_picking_id", "!=", False), ("archive", "=", False), ("mro_parts_wait_end", "=", False), "|",
             ("stage_id.done", "=", False), ("mro_parts_wait_start", "!=", False)]
        )  # fmt: skip
        requests._mro_check_parts_wait()
        requests.filtered(lambda r: not r.stage_id.done)._mro_warn_late_parts()

    def _mro_warn_late_parts(self):
        """An activity for the maintenance planner on each request whose parts will arrive after its scheduled
        date (once per request and part)."""
        summary = _("Parts arrive after the scheduled date")
        for request in self.filtered("schedule_date"):
            late = [
                line
                for line in request._mro_part_lines()
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

    # ------------------------------------------------------------------ work done
    def _mro_book_outcome(self):
        """Besides the ledger and the baselines: the needs this work answered are closed (the equipment re-enters
        the plan for its next wear cycle), and the kit's parts are consumed."""
        super()._mro_book_outcome()
        if not (self._mro_from_prediction() or self.maintenance_type == "corrective"):
            return
        needs = self.env["mro.part.need"].search(
            [("equipment_id", "=", self.equipment_id.id), ("state", "not in", ("done", "cancel"))]
        )
        if needs:
            needs.write({"state": "done", "request_id": self.id})
        self._mro_check_parts_wait()
        self._mro_consume_kit()

    def _mro_consume_kit(self):
        """Validate the kit (what it holds; parts that never came are dropped from it) and move its parts to the
        maintenance consumption location: stock goes down by what the job used. Called in sudo mode."""
        self.ensure_one()
        kits = (self.mro_picking_id | self.mro_picking_id.backorder_ids).filtered(lambda p: p.state != "cancel")
        if not kits or self.mro_consumption_picking_id:
            return
        for kit in kits.filtered(lambda p: p.state != "done"):
            kit.action_assign()
            empty = kit.move_ids.filtered(lambda m: m.state != "cancel" and not m.quantity)
            empty._action_cancel()
            moves = kit.move_ids.filtered(lambda m: m.state not in ("cancel", "done"))
            if not moves:
                if kit.state != "done":
                    kit.action_cancel()
                continue
            moves.picked = True
            kit.with_context(skip_backorder=True, picking_ids_not_to_backorder=kit.ids).button_validate()
        used = kits.move_ids.filtered(lambda m: m.state == "done")
        if not used:
            self._mro_post(body=_("No part of the kit was in stock: nothing consumed from stock."))
            return
        company = self.company_id or self.equipment_id.company_id
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
                "origin": self.name,
                "company_id": company.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": product.display_name,
                            "product_id": product.id,
                            "product_uom_qty": qty,
                            "product_uom": product.uom_id.id,
                            "location_id": source.id,
                            "location_dest_id": consumption.id,
                            "company_id": company.id,
                            "mro_request_id": self.id,
                        }
                    )
                    for product, qty in quantities.items()
                ],
            }
        )
        picking.action_confirm()
        picking.action_assign()
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=True, picking_ids_not_to_backorder=picking.ids).button_validate()
        self.mro_consumption_picking_id = picking
        self._mro_post(
            body=_(
                "Parts consumed by the job (%(picking)s): %(parts)s.",
                picking=picking.name,
                parts=", ".join(f"{qty:g} x {product.display_name}" for product, qty in quantities.items()),
            )
        )

    def _mro_consumed_quantities(self):
        """{product: quantity used by this job (its kit consumed, parts scanned out for it), net of what was
        returned}."""
        self.ensure_one()
        quantities = {}
        for move in self.sudo().mro_taken_move_ids.filtered(lambda m: m.state == "done"):
            sign = 1.0 if move.location_dest_id.usage != "internal" else -1.0
            quantities[move.product_id] = quantities.get(move.product_id, 0.0) + sign * move.product_qty
        return {product: qty for product, qty in quantities.items() if qty > 1e-9}

    def action_mro_return_parts(self):
        """Open the wizard that puts unused parts of this job back in stock (storekeepers)."""
        self.ensure_one()
        if not self.env.user.has_group("stock.group_stock_user"):
            raise AccessError(_("Only storekeepers (Inventory users) put parts back in stock."))
        if not self._mro_consumed_quantities():
            raise UserError(_("%s has no consumed parts to return.", self.display_name))
        return {
            "type": "ir.actions.act_window",
            "res_model": "mro.kit.return.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }
