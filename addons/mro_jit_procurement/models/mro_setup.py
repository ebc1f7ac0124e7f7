from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..mro_planning.criticality import suggest_criticality

#: The steps of Predictive Setup, in order.
STEPS = ("criticality", "asset_models", "connect", "baselines", "parts", "rules", "lead_times")
#: Analysis jobs still waiting after this long mean that no job runner runs them.
STUCK_JOBS = timedelta(minutes=30)
#: Hours of hourly data a sensor needs before its own baseline is learned (mro_analytics.assess: 2 x 24 samples).
BASELINE_HOURS = 48
#: Recommended prescriptive rules, created from the checklist in one click each.
RULE_TEMPLATES = {
    "replace_before_failure": {
        "name": "Replace before the predicted failure",
        "condition": "rul_below",
        "rul_days": 30.0,
        "maintenance_type": "preventive",
        "priority": "2",
        "duration": 2.0,
        "instructions": "<p>Replace the worn part before the predicted failure; record what you found.</p>",
    },
    "critical_health": {
        "name": "Critical health: inspect now",
        "condition": "health_state",
        "health_state": "critical",
        "maintenance_type": "corrective",
        "priority": "3",
        "duration": 1.0,
        "notify": True,
        "instructions": "<p>Inspect the machine today: its health is critical.</p>",
    },
    "anomaly_check": {
        "name": "Anomaly: check on the next round",
        "condition": "anomaly",
        "create_request": False,
        "notify": True,
    },
}


class MroSetup(models.AbstractModel):
    """Predictive Setup: the checklist that takes an ordinary Odoo database to a running loop, each step with
    its progress measured from the data and the buttons that do it. For maintenance managers; the jobs behind
    some buttons (learning lead times, the approval policy) run as the system."""

    _name = "mro.setup"
    _description = "Predictive maintenance setup checklist"

    # ------------------------------------------------------------------ the checklist
    @api.model
    def get_checklist(self):
        """Every step's state for the client action: ``{"steps": [...], "missing": [...], "ready": bool}``."""
        self._check_manager()
        company = self.env.company
        skipped = set(filter(None, (company.mro_setup_skipped or "").split(",")))
        steps = [getattr(self, f"_step_{key}")() for key in STEPS]
        for step in steps:
            step["skipped"] = step["key"] in skipped and step["status"] != "done"
        missing = [step["missing"] for step in steps if step.get("missing") and not step["skipped"]]
        return {"steps": steps, "missing": missing, "ready": not any(s.get("blocking") for s in steps)}

    def _step(self, key, title, done, total, lines, buttons, missing="", blocking=False, unit=""):
        pct = round(100.0 * done / total) if total else (100 if done else 0)
        status = "done" if total and done >= total else "partial" if done else "todo"
        return {
            "key": key,
            "title": title,
            "done": done,
            "total": total,
            "pct": pct,
            "unit": unit,
            "status": status,
            "lines": lines,
            "buttons": buttons,
            "missing": missing if status != "done" else "",
            "blocking": blocking and status != "done",
        }

    def _equipment(self):
        return self.env["maintenance.equipment"].search(
            [("company_id", "in", (self.env.company.id, False)), ("scrap_date", "=", False)]
        )

    def _step_criticality(self):
        equipment = self._equipment()
        reviewed = equipment.filtered("mro_criticality_reviewed")
        counts = {c: len(equipment.filtered(lambda e, c=c: e.mro_criticality == c)) for c in "ABC"}
        ghosts = self.env["mro.part.obsolete.report"].search_count([("company_id", "=", self.env.company.id)])
        lines = [
            self.env._("%(n)s of %(t)s equipment ranked", n=len(reviewed), t=len(equipment)),
            self.env._("A %(a)s · B %(b)s · C %(c)s", a=counts["A"], b=counts["B"], c=counts["C"]),
        ]
        if ghosts:
            lines.append(self.env._("%s ghost or obsolete spare parts in stock", ghosts))
        return self._step(
            "criticality",
            self.env._("Criticality audit"),
            len(reviewed),
            len(equipment),
            lines,
            [
                {"label": self.env._("Rank equipment"), "method": "action_open_criticality_audit"},
                {"label": self.env._("Accept the suggestions"), "method": "action_apply_criticality_suggestions"},
            ]
            + ([{"label": self.env._("Ghost parts"), "method": "action_open_ghost_parts"}] if ghosts else []),
            missing=self.env._("rank the equipment (A: predicted and bought ahead; C: run to failure)"),
        )

    def _step_asset_models(self):
        equipment = self._equipment()
        with_model = equipment.filtered("mro_asset_model_id")
        suggested = (equipment - with_model).filtered("mro_asset_model_suggested_id")
        return self._step(
            "asset_models",
            self.env._("Asset models"),
            len(with_model),
            len(equipment),
            [
                self.env._("%(n)s of %(t)s equipment have an asset model", n=len(with_model), t=len(equipment)),
                self.env._("%s more can take a suggested one", len(suggested)),
            ],
            [
                {"label": self.env._("Apply the suggestions"), "method": "action_apply_asset_models"},
                {"label": self.env._("Review"), "method": "action_open_asset_models"},
            ],
            missing=self.env._("give equipment an asset model (its sensors and ISO 10816 limits)"),
        )

    def _step_connect(self):
        Sensor = self.env["mro.sensor"]
        sensors = Sensor.search([("company_id", "=", self.env.company.id), ("protocol", "!=", "manual")])
        sourced = sensors.filtered(lambda s: s.gateway_id and s.source_address)
        reading = sourced.filtered("last_ts")
        gateways = self.env["mro.sensor.gateway"].search([("company_id", "=", self.env.company.id)])
        lines = [self.env._("%(n)s of %(t)s sensors have a gateway and a source", n=len(sourced), t=len(sensors))]
        for gateway in gateways:
            mine = sourced.filtered(lambda s, g=gateway: s.gateway_id == g)
            lines.append(
                self.env._(
                    "%(gw)s: %(n)s of %(t)s sensors reading, last seen %(seen)s",
                    gw=gateway.display_name,
                    n=len(mine.filtered("last_ts")),
                    t=len(mine),
                    seen=fields.Datetime.to_string(gateway.last_seen) if gateway.last_seen else self.env._("never"),
                )
            )
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        gateway = gateways[:1]
        commands = [
            "pip install ./bridge",
            "cat > bridge.toml <<'EOF'",
            "[odoo]",
            f'url = "{base}"',
            f'database = "{self.env.cr.dbname}"',
            f'user = "{gateway.user_id.login or "<the gateway user>"}"',
            'api_key_env = "MRO_BRIDGE_API_KEY"',
            f'gateway = "{gateway.code or "<GATEWAY>"}"',
            "EOF",
            "export MRO_BRIDGE_API_KEY=<the key shown once by Create bridge credentials>",
            "mro-bridge pull-config --config bridge.toml --output bridge-run.toml",
            "mro-bridge run --config bridge-run.toml",
        ]
        buttons = [{"label": self.env._("Create a gateway"), "method": "action_create_gateway"}]
        if gateway:
            buttons = [
                {"label": self.env._("Gateway and credentials"), "method": "action_open_gateway"},
                {"label": self.env._("Sensors and their sources"), "method": "action_open_sensors"},
            ]
        step = self._step(
            "connect",
            self.env._("Connect"),
            len(reading),
            len(sourced) or len(sensors),
            lines,
            buttons,
            missing=self.env._("connect a bridge: no readings arrive yet"),
            blocking=not reading,
        )
        step["commands"] = "\n".join(commands)
        return step

    def _step_baselines(self):
        sensors = self.env["mro.sensor"].search([("company_id", "=", self.env.company.id), ("last_ts", "!=", False)])
        learned = sensors.filtered("mro_baseline_n")
        lines = [self.env._("%(n)s of %(t)s reading sensors have their own baseline", n=len(learned), t=len(sensors))]
        waiting = sensors - learned
        if waiting:
            first = self._first_readings(waiting)
            eta = max(first.values()) + timedelta(hours=BASELINE_HOURS) if first else None
            lines.append(
                self.env._(
                    "the rest by %s (48 hours of data each); until then the asset model's population baseline is used",
                    fields.Datetime.to_string(eta) if eta else "?",
                )
            )
        stuck = self._stuck_analysis_jobs()
        if stuck:
            lines.append(
                self.env._(
                    "%(n)s analysis jobs waiting since %(since)s: is the job runner running? Odoo needs "
                    "server_wide_modules = base,web,queue_job (README, Scaling)",
                    n=stuck[0],
                    since=fields.Datetime.to_string(stuck[1]),
                )
            )
        step = self._step(
            "baselines",
            self.env._("Baselines"),
            len(learned),
            len(sensors),
            lines,
            [{"label": self.env._("Sensors"), "method": "action_open_sensors"}],
        )
        if stuck:  # nothing is analysed while the jobs wait, whatever the counts say
            step.update(
                status="partial",
                blocking=True,
                missing=self.env._("start the job runner: the analysis waits in the job queue"),
            )
        return step

    def _stuck_analysis_jobs(self):
        """(count, oldest) of the analysis jobs waiting for longer than STUCK_JOBS, or None."""
        self.env.cr.execute(
            SQL(
                "SELECT count(*), min(date_created) FROM queue_job WHERE method_name = '_job_analyze' "
                "AND state IN ('pending', 'enqueued') AND date_created < %s",
                fields.Datetime.now() - STUCK_JOBS,
            )
        )
        count, oldest = self.env.cr.fetchone()
        return (count, oldest) if count else None

    def _first_readings(self, sensors):
        """{sensor id: its first hourly aggregate's hour}, in one query."""
        self.env.cr.execute(
            SQL(
                "SELECT sensor_id, min(hour) FROM mro_sensor_reading_hourly "
                "WHERE sensor_id = ANY(%s) GROUP BY sensor_id",
                sensors.ids,
            )
        )
        return dict(self.env.cr.fetchall())

    def _step_parts(self):
        equipment = self._equipment().filtered(lambda e: e.mro_criticality in ("A", "B"))
        mapped = equipment.filtered("mro_part_ids")
        suggestions = self.env["mro.part.suggestion"].search_count([("company_id", "=", self.env.company.id)])
        lines = [
            self.env._("%(n)s of %(t)s A and B equipment have a spare-parts list", n=len(mapped), t=len(equipment)),
        ]
        if suggestions:
            lines.append(self.env._("%s links suggested from past requests' consumed parts", suggestions))
        buttons = [
            {
                "label": self.env._("Download the template"),
                "url": "/mro_jit_procurement/static/templates/spare_parts_lists.csv",
            },
            {"label": self.env._("Import a spreadsheet"), "method": "action_import_parts"},
        ]
        if suggestions:
            buttons.append({"label": self.env._("Review the suggestions"), "method": "action_open_part_suggestions"})
        return self._step(
            "parts",
            self.env._("Parts mapping"),
            len(mapped),
            len(equipment),
            lines,
            buttons,
            missing=self.env._("map spare parts to equipment (nothing is ordered without it)"),
            blocking=not mapped,
        )

    def _step_rules(self):
        Rule = self.env["mro.prescriptive.rule"]
        company = self.env.company
        lines, buttons, created = [], [], 0
        for key, template in RULE_TEMPLATES.items():
            exists = Rule.with_context(active_test=False).search_count(
                [("name", "=", template["name"]), ("company_id", "in", (company.id, False))]
            )
            created += bool(exists)
            lines.append(("✓ " if exists else "· ") + template["name"])
            if not exists:
                buttons.append(
                    {"label": self.env._("Create: %s", template["name"]), "method": "action_create_rule", "args": [key]}
                )
        policy = (
            self.env._("auto-approval on, up to %(limit)s per order", limit=company.mro_auto_approve_limit)
            if company.mro_auto_approve
            else self.env._("auto-approval off: buyers confirm every RFQ")
        )
        lines.append(policy)
        if not company.mro_auto_approve:
            buttons.append({"label": self.env._("Turn auto-approval on"), "method": "action_enable_auto_approval"})
        total = len(RULE_TEMPLATES) + 1
        return self._step(
            "rules",
            self.env._("Rules and approval"),
            created + int(company.mro_auto_approve),
            total,
            lines,
            buttons,
            missing=self.env._("create a rule that opens requests from predictions"),
            blocking=not Rule.search_count([("create_request", "=", True), ("company_id", "in", (company.id, False))]),
        )

    def _step_lead_times(self):
        stats = self.env["mro.lead.time"].search([("company_id", "=", self.env.company.id)])
        learned = stats.filtered("count")
        scores = {}
        for stat in learned:
            scores[stat.partner_id] = max(scores.get(stat.partner_id, 0.0), stat.variance_score)
        worst = sorted(((score, vendor) for vendor, score in scores.items() if score > 0), key=lambda x: -x[0])[:5]
        lines = [self.env._("%s vendor-part lead times learned from receipts", len(learned))]
        for score, vendor in worst:
            lines.append(self.env._("%(v)s: variance score %(s)s", v=vendor.display_name, s=round(score)))
        return self._step(
            "lead_times",
            self.env._("Lead times"),
            1 if learned else 0,
            1,
            lines,
            [
                {"label": self.env._("Learn from receipts now"), "method": "action_learn_lead_times"},
                {"label": self.env._("Vendor lead times"), "method": "action_open_lead_times"},
            ],
            missing=self.env._("no lead time learned: the vendors' quoted delays are used"),
        )

    # ------------------------------------------------------------------ what the buttons do
    @api.model
    def _check_manager(self):
        if not self.env.user.has_group("maintenance.group_equipment_manager"):
            raise AccessError(self.env._("Predictive Setup is for maintenance managers."))

    @api.model
    def action_skip(self, key):
        self._check_manager()
        if key not in STEPS:
            raise UserError(self.env._("Unknown step %s.", key))
        company = self.env.company
        skipped = set(filter(None, (company.mro_setup_skipped or "").split(",")))
        skipped ^= {key}  # skip, or un-skip
        # sudo: the checklist's own bookkeeping on the company.
        company.sudo().mro_setup_skipped = ",".join(sorted(skipped))
        return False

    @api.model
    def action_open_criticality_audit(self):
        self._check_manager()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_criticality_audit_action")
        return action

    @api.model
    def action_apply_criticality_suggestions(self):
        """Accept the suggested criticality of every equipment not ranked yet."""
        self._check_manager()
        self._equipment().filtered(lambda e: not e.mro_criticality_reviewed).action_mro_apply_criticality_suggestion()
        return False

    @api.model
    def action_open_ghost_parts(self):
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_part_obsolete_report_action")

    @api.model
    def action_apply_asset_models(self):
        self._check_manager()
        self._equipment().action_mro_apply_suggested_asset_model()
        return False

    @api.model
    def action_open_asset_models(self):
        self._check_manager()
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_asset_model_audit_action")

    @api.model
    def action_create_gateway(self):
        self._check_manager()
        company = self.env.company
        gateway = self.env["mro.sensor.gateway"].create(
            {"code": "SITE1", "name": self.env._("%s gateway", company.name), "company_id": company.id}
        )
        return self.action_open_gateway(gateway.id)

    @api.model
    def action_open_gateway(self, gateway_id=False):
        gateway = (
            self.env["mro.sensor.gateway"].browse(gateway_id)
            if gateway_id
            else self.env["mro.sensor.gateway"].search([("company_id", "=", self.env.company.id)], limit=1)
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": gateway._name,
            "res_id": gateway.id,
            "views": [(False, "form")],
        }

    @api.model
    def action_open_sensors(self):
        return self.env["ir.actions.act_window"]._for_xml_id("mro_sensor_bridge.mro_sensor_action")

    @api.model
    def action_import_parts(self):
        """Odoo's standard import on spare-parts lists (its template: equipment, part, quantity, critical)."""
        return {
            "type": "ir.actions.client",
            "tag": "import",
            "params": {"model": "mro.equipment.part", "context": {}},
        }

    @api.model
    def action_open_part_suggestions(self):
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_part_suggestion_action")

    @api.model
    def action_create_rule(self, key):
        """Create one recommended rule from its template, for the user's company."""
        self._check_manager()
        if key not in RULE_TEMPLATES:
            raise UserError(self.env._("Unknown rule template %s.", key))
        self.env["mro.prescriptive.rule"].create({**RULE_TEMPLATES[key], "company_id": self.env.company.id})
        return False

    @api.model
    def action_enable_auto_approval(self, limit=500.0):
        """Turn the auto-approval policy on with its limit (and the default daily cap per vendor). Recorded in the
        policy's audit trail in the user's name."""
        self._check_manager()
        company = self.env.company
        values = {"mro_auto_approve": True, "mro_auto_approve_limit": float(limit)}
        if not company.mro_auto_approve_daily_cap:
            values["mro_auto_approve_daily_cap"] = 3 * float(limit)
        # sudo: maintenance managers may not write the company; the change is logged in their name (sudo keeps
        # the user: see res.company._mro_log_policy_changes).
        company.sudo().write(values)
        return False

    @api.model
    def action_learn_lead_times(self):
        self._check_manager()
        # sudo: learning lead times from receipts is a job of the system (the daily cron does it too).
        self.env["mro.lead.time"].sudo()._learn(self.env.company)
        return False

    @api.model
    def action_open_lead_times(self):
        return self.env["ir.actions.act_window"]._for_xml_id("mro_jit_procurement.mro_lead_time_action")

    # ------------------------------------------------------------------ criticality suggestions
    @api.model
    def _criticality_suggestions(self, equipments):
        """{equipment id: CriticalitySuggestion} from the last two years' corrective repairs (their number,
        downtime and parts cost), the spare parts whose lead time exceeds 48 h, and the production impact."""
        if not equipments.ids:
            return {e.id: suggest_criticality(e.mro_production_impact, 0, 0.0, 0.0, 0) for e in equipments}
        since = fields.Date.context_today(self) - timedelta(days=730)
        # sudo: the suggestion reads the history (requests, stock moves, lead times) whoever looks at it.
        Request = self.env["maintenance.request"].sudo()
        repairs = Request.search(
            [("equipment_id", "in", equipments.ids), ("maintenance_type", "=", "corrective"),
             ("request_date", ">=", since)]
        )  # fmt: skip
        stats = {}
        for repair in repairs:
            count, hours, cost = stats.get(repair.equipment_id.id, (0, 0.0, 0.0))
            downtime = repair.duration or (
                ((repair.close_date or fields.Date.today()) - repair.request_date).days * 24.0
                if repair.request_date
                else 0.0
            )
            used = sum(
                m.product_qty * m.product_id.standard_price
                for m in repair.mro_taken_move_ids
                if m.state == "done" and m.location_dest_id.usage != "internal"
            )
            stats[repair.equipment_id.id] = (count + 1, hours + downtime, cost + used)
        long_lead = {}
        parts = self.env["mro.equipment.part"].sudo().search([("equipment_id", "in", equipments.ids)])
        today = fields.Date.context_today(self)
        for part in parts:
            seller = part.product_id._select_seller(quantity=part.quantity, date=today)
            if not seller:
                continue
            lead = self.env["mro.lead.time"].sudo()._for(seller.partner_id, part.product_id, self.env.company, seller)
            mean = lead.mean if lead else seller.delay
            if mean > 2.0:
                long_lead[part.equipment_id.id] = long_lead.get(part.equipment_id.id, 0) + 1
        result = {}
        for equipment in equipments:
            count, hours, cost = stats.get(equipment.id, (0, 0.0, 0.0))
            result[equipment.id] = suggest_criticality(
                equipment.mro_production_impact, count, hours, cost, long_lead.get(equipment.id, 0)
            )
        return result
