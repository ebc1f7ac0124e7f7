from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .mro_work_interval import PAUSE_REASONS

PARTS_STATES = [("ready", "Parts in kit"), ("on_order", "Parts on order"), ("missing", "Parts missing")]
TIMER_STATES = [("idle", "Not started"), ("running", "Working"), ("paused", "Paused"), ("done", "Done")]


class MaintenanceRequest(models.Model):
    """A maintenance job's parts (its kit, the parts taken, where each needed part is, the wait for parts) and
    the technician's timer. The work behind them is done by ``mro.request.kit`` and ``mro.work.interval``."""

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

    mro_interval_ids = fields.One2many("mro.work.interval", "request_id", "Time on the job", readonly=True)
    mro_timer_state = fields.Selection(
        TIMER_STATES, "Timer", compute="_compute_mro_timer", help="The current user's timer on this request."
    )
    mro_pause_reason = fields.Selection(PAUSE_REASONS, "Paused for", compute="_compute_mro_timer")
    mro_work_hours = fields.Float("Hours worked", compute="_compute_mro_hours", store=True, digits=(16, 2))
    mro_pause_hours = fields.Float("Hours paused", compute="_compute_mro_hours", store=True, digits=(16, 2))
    mro_taken_move_ids = fields.One2many("stock.move", "mro_request_id", "Parts taken", readonly=True)
    mro_parts_cost = fields.Monetary(
        "Parts cost", compute="_compute_mro_parts_cost", currency_field="mro_currency_id",
        help="Parts the job took (scanned out, or from its kit), net of what went back to stock, at cost.",
    )  # fmt: skip
    mro_currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")

    # ------------------------------------------------------------------ computes
    @api.depends("mro_picking_id.move_ids.quantity", "mro_picking_id.state", "equipment_id")
    def _compute_mro_parts(self):
        labels = {
            "kit": self.env._("in kit"),
            "taken": self.env._("taken"),
            "ordered": self.env._("on order"),
            "missing": self.env._("missing"),
        }
        Kit = self.env["mro.request.kit"].sudo()
        for request in self:
            # sudo: people who see the request see where its parts are, without stock or purchase rights.
            lines = Kit._part_lines(request.sudo()) if request.equipment_id else []
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
                summary += self.env._(" (arrives %s)", fields.Date.to_string(max(arrivals).date()))
            request.mro_parts_summary = summary
            rows = []
            for line in lines:
                if line["state"] == "ordered":
                    detail = self.env._(
                        "on order, %(order)s, expected %(date)s",
                        order=line["order"].name,
                        date=fields.Datetime.to_string(line["arrival"])[:16] if line["arrival"] else "?",
                    )
                    late = request.schedule_date and line["arrival"] and line["arrival"] > request.schedule_date
                    badge = "text-bg-danger" if late else "text-bg-info"
                    if late:
                        detail += " " + self.env._("(after the scheduled date)")
                elif line["state"] in ("kit", "taken"):
                    detail, badge = labels[line["state"]], "text-bg-success"
                else:
                    detail, badge = self.env._("missing: not in stock, not ordered"), "text-bg-danger"
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

    @api.depends("mro_interval_ids.stop", "stage_id.done")
    @api.depends_context("uid")
    def _compute_mro_timer(self):
        for request in self:
            mine = request.mro_interval_ids.filtered(lambda i: i.user_id.id == self.env.uid and not i.stop)[:1]
            if request.stage_id.done:
                request.mro_timer_state = "done"
            elif mine:
                request.mro_timer_state = "running" if mine.kind == "work" else "paused"
            else:
                request.mro_timer_state = "idle"
            request.mro_pause_reason = mine.pause_reason if mine.kind == "pause" else False

    @api.depends("mro_interval_ids.hours", "mro_interval_ids.kind")
    def _compute_mro_hours(self):
        for request in self:
            request.mro_work_hours = sum(request.mro_interval_ids.filtered(lambda i: i.kind == "work").mapped("hours"))
            request.mro_pause_hours = sum(
                request.mro_interval_ids.filtered(lambda i: i.kind == "pause").mapped("hours")
            )

    def _compute_mro_parts_cost(self):
        for request in self:
            # sudo: the cost of the job's parts is shown to whoever sees the job.
            moves = request.sudo().mro_taken_move_ids.filtered(lambda m: m.state == "done")
            total = 0.0
            for move in moves:
                into_job = move.location_dest_id.usage != "internal"
                total += (1 if into_job else -1) * move.product_qty * move.product_id.standard_price
            request.mro_parts_cost = total

    # ------------------------------------------------------------------ the kit follows the request
    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        # sudo: reserving the kit (and the one-kit-per-machine check) is a job of the system; only the system
        # opens requests from a prediction or a rule (those fields are refused to people).
        self.env["mro.request.kit"].sudo()._reserve(
            requests.sudo().filtered(lambda r: r.mro_prediction_id or r.mro_rule_id)
        )
        return requests

    def write(self, vals):
        Kit = self.env["mro.request.kit"].sudo()
        was_started = {r.id: Kit._work_started(r) for r in self} if "stage_id" in vals else {}
        result = super().write(vals)
        if vals.get("archive"):
            # sudo: releasing the kit of a cancelled request is the system's bookkeeping.
            Kit._release(self.sudo())
        if "stage_id" in vals:
            started = self.sudo().filtered(lambda r: Kit._work_started(r) and not was_started.get(r.id))
            # sudo: deciding whether the work waited for parts is the system's bookkeeping.
            Kit._check_waits(started)
            # Work done: every running timer of the request stops.
            self.env["mro.work.interval"]._stop_all(self.filtered(lambda r: r.stage_id.done))
        return result

    def _mro_book_outcome(self):
        """Besides the ledger and the baselines: the needs this work answered are closed (the equipment re-enters
        the plan for its next wear cycle), and the kit's parts are consumed. Called in sudo mode."""
        super()._mro_book_outcome()
        if not (self._mro_from_prediction() or self.maintenance_type == "corrective"):
            return
        needs = self.env["mro.part.need"].search(
            [("equipment_id", "=", self.equipment_id.id), ("state", "not in", ("done", "cancel"))]
        )
        if needs:
            needs.write({"state": "done", "request_id": self.id})
        Kit = self.env["mro.request.kit"]
        Kit._check_waits(self)
        Kit._consume(self)

    @api.model
    def _cron_mro_parts_watch(self):
        """Hourly: the waits for parts of the requests whose work came due, and the planner's activities about
        parts that will arrive after their job (see mro.request.kit._watch)."""
        self.env["mro.request.kit"]._watch()

    def _mro_consumed_quantities(self):
        """{product: quantity this job used, net of what was returned}."""
        self.ensure_one()
        # sudo: what the job used is shown to whoever sees the job.
        return self.env["mro.request.kit"].sudo()._consumed_quantities(self.sudo())

    # ------------------------------------------------------------------ buttons
    def action_mro_timer_start(self):
        """Start (or resume) work: the request goes in progress."""
        self.env["mro.work.interval"]._start(self)
        return True

    action_mro_timer_resume = action_mro_timer_start

    def action_mro_timer_pause(self, reason="other", note=False):
        """Pause with a reason (parts, permit, travel, other)."""
        self.env["mro.work.interval"]._pause(self, reason, note)
        return True

    def action_mro_timer_pause_dialog(self):
        """The pause button: ask why (one tap per reason on a phone)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Why pause?"),
            "res_model": "mro.timer.pause.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    def action_mro_timer_done(self):
        """Stop the timer and close the request (with the condition found, if it answers a prediction)."""
        Interval = self.env["mro.work.interval"]
        done = self.env["maintenance.stage"].search([("done", "=", True)], order="sequence, id", limit=1)
        for request in self:
            Interval._check_request(request)
            request.stage_id = done
        return True

    def action_mro_take_parts(self):
        """Open "Take parts" for this request."""
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "mro_take_parts",
            "name": self.env._("Take parts"),
            "params": {"request_id": self.id},
        }

    def action_mro_return_parts(self):
        """Open the wizard that puts unused parts of this job back in stock (storekeepers)."""
        self.ensure_one()
        if not self.env.user.has_group("stock.group_stock_user"):
            raise AccessError(self.env._("Only storekeepers (Inventory users) put parts back in stock."))
        if not self._mro_consumed_quantities():
            raise UserError(self.env._("%s has no consumed parts to return.", self.display_name))
        return {
            "type": "ir.actions.act_window",
            "res_model": "mro.kit.return.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }
