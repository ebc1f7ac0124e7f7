import logging
from datetime import timedelta, timezone

from markupsafe import Markup

from odoo import api, fields, models
from odoo.addons.mro_sensor_bridge.models.mro_sensor import MEASURE_KINDS
from odoo.exceptions import ValidationError

from ..scheduling import first_slot_after, last_slot_before

_logger = logging.getLogger(__name__)

STATE_RANK = {"good": 0, "watch": 1, "warning": 2, "critical": 3}


class MroPrescriptiveRule(models.Model):
    """A no-code rule: when an equipment's condition matches, open a maintenance request and/or notify."""

    _name = "mro.prescriptive.rule"
    _description = "Prescriptive Maintenance Rule"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)

    # ---- condition
    condition = fields.Selection(
        [
            ("measure_limit", "A measure is above its limit"),
            ("health_state", "Health state is at least"),
            ("rul_below", "Remaining useful life below"),
            ("probability_above", "Failure probability above"),
            ("anomaly", "An anomaly is detected"),
        ],
        required=True,
        default="health_state",
        tracking=True,
    )
    measure_kind = fields.Selection(MEASURE_KINDS, help="Only this measure; empty: any measure.")
    limit_level = fields.Selection([("warning", "Warning limit"), ("alarm", "Alarm limit")], default="alarm")
    health_state = fields.Selection(
        [("watch", "Watch"), ("warning", "Warning"), ("critical", "Critical")], default="warning"
    )
    rul_days = fields.Float("RUL below (days)", default=30.0)
    probability = fields.Float("Probability above", default=0.5, help="Within the company's planning horizon, 0-1.")
    # ---- which equipment
    criticality = fields.Selection(
        [("A", "A"), ("B", "B"), ("C", "C")], help="Only equipment of this criticality; empty: all."
    )
    asset_model_ids = fields.Many2many("mro.asset.model", string="Asset models", help="Empty: all.")
    category_ids = fields.Many2many("maintenance.equipment.category", string="Equipment categories", help="Empty: all.")
    # ---- actions
    create_request = fields.Boolean(default=True)
    maintenance_team_id = fields.Many2one("maintenance.team", string="Team", check_company=True)
    request_user_id = fields.Many2one("res.users", string="Technician", help="Empty: the equipment's technician.")
    priority = fields.Selection(
        [("0", "Very Low"), ("1", "Low"), ("2", "Normal"), ("3", "High")], default="2", required=True
    )
    maintenance_type = fields.Selection(
        [("corrective", "Corrective"), ("preventive", "Preventive")], default="preventive", required=True
    )
    duration = fields.Float("Duration (hours)", default=2.0)
    instructions = fields.Html()
    notify = fields.Boolean()
    notify_partner_ids = fields.Many2many("res.partner", string="Recipients", help="Also the equipment's followers.")
    cooldown_hours = fields.Float(
        "Cool-down (hours)",
        default=24.0,
        help="No new request from this rule for the same equipment within this time, and no new notification: "
        "a notification goes out when the condition starts, gets worse or clears, at most once per cool-down.",
    )
    request_ids = fields.One2many("maintenance.request", "mro_rule_id")
    request_count = fields.Integer(compute="_compute_request_count")

    _check_company_auto = True

    @api.constrains("probability")
    def _check_probability(self):
        for rule in self:
            if not 0.0 <= rule.probability <= 1.0:
                raise ValidationError(self.env._("A probability is between 0 and 1."))

    def _compute_request_count(self):
        counts = dict(
            self.env["maintenance.request"]._read_group([("mro_rule_id", "in", self.ids)], ["mro_rule_id"], ["__count"])
        )
        for rule in self:
            rule.request_count = counts.get(rule, 0)

    def action_view_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("maintenance.hr_equipment_request_action")
        action["domain"] = [("mro_rule_id", "=", self.id)]
        action["context"] = {}
        return action

    # ---------------------------------------------------------------- evaluation
    def _applies_to(self, equipment):
        self.ensure_one()
        return (
            (not self.company_id or self.company_id == equipment.company_id)
            and (not self.criticality or self.criticality == equipment.mro_criticality)
            and (not self.asset_model_ids or equipment.mro_asset_model_id in self.asset_model_ids)
            and (not self.category_ids or equipment.category_id in self.category_ids)
        )

    def _matches(self, equipment):
        """Whether the condition holds for ``equipment`` (after its analysis); returns a reason or ''."""
        return self._evaluate(equipment)[0]

    def _evaluate(self, equipment):
        """(reason, level): the reason the condition holds ('' when it does not) and how bad it is, a small
        integer that grows as the condition gets worse (alarm over warning, critical over warning, a RUL
        half the rule's threshold, ...), so that a notification goes out when it gets worse."""
        self.ensure_one()
        if self.condition == "measure_limit":
            levels = ("alarm",) if self.limit_level == "alarm" else ("warning", "alarm")
            sensors = equipment.mro_sensor_ids.filtered(
                lambda s: s.limit_state in levels and (not self.measure_kind or s.measure_kind == self.measure_kind)
            )
            if not sensors:
                return "", 0
            first = sensors.sorted(lambda s: s.limit_state != "alarm")[0]
            reason = self.env._(
                "%(sensor)s at %(value)s %(unit)s", sensor=first.display_name, value=first.last_value, unit=first.unit
            )
            return reason, 2 if first.limit_state == "alarm" else 1
        if self.condition == "health_state":
            rank = STATE_RANK.get(equipment.mro_health_state, -1)
            if rank < STATE_RANK[self.health_state]:
                return "", 0
            score = round(equipment.mro_health_score)
            return self.env._("health %(state)s (score %(score)s)", state=equipment.mro_health_state, score=score), rank
        if self.condition == "rul_below":
            if not equipment.mro_predicted_failure_date or equipment.mro_rul_days >= self.rul_days:
                return "", 0
            level = 1 + (equipment.mro_rul_days < self.rul_days / 2) + (equipment.mro_rul_days < self.rul_days / 4)
            return self.env._("remaining useful life %s days", round(equipment.mro_rul_days, 1)), level
        if self.condition == "probability_above":
            if equipment.mro_failure_probability <= self.probability:
                return "", 0
            level = 1 + (equipment.mro_failure_probability > (1.0 + self.probability) / 2)
            return self.env._("failure probability %s%%", round(100 * equipment.mro_failure_probability)), level
        if self.condition == "anomaly":
            return (
                (self.env._("anomaly: %s", equipment.mro_health_reasons or ""), 1) if equipment.mro_anomaly else ("", 0)
            )
        return "", 0

    @api.model
    def _company_domain(self, company):
        """The rules that apply to ``company``'s equipment: its own, and those of every company."""
        return [("company_id", "in", [False, company.id])]

    @api.model
    def _run_for(self, equipment, prediction=None, now=None, rules=None):
        """Evaluate the active rules (``rules``, or all) on ``equipment``; returns the requests created."""
        now = now or fields.Datetime.now()
        requests = self.env["maintenance.request"]
        if rules is None:
            rules = self.search(self._company_domain(equipment.company_id))
        for rule in rules:
            if not rule._applies_to(equipment):
                continue
            reason, level = rule._evaluate(equipment)
            if rule.notify:
                rule._track_episode(equipment, reason, level, now)
            if reason and rule.create_request and not rule._blocked(equipment, now):
                requests |= rule._open_request(equipment, reason, prediction, now)
        return requests

    def _blocked(self, equipment, now):
        """One open request per equipment and rule, and nothing new within the cool-down."""
        self.ensure_one()
        Request = self.env["maintenance.request"].with_context(active_test=False)
        mine = [("mro_rule_id", "=", self.id), ("equipment_id", "=", equipment.id)]
        if Request.search_count([*mine, ("stage_id.done", "=", False), ("archive", "=", False)], limit=1):
            return True
        since = now - timedelta(hours=self.cooldown_hours)
        return bool(self.cooldown_hours and Request.search_count([*mine, ("create_date", ">", since)], limit=1))

    def _track_episode(self, equipment, reason, level, now):
        """Notify once per episode of the condition on ``equipment``: when it starts, when it gets worse and
        when it clears, never twice within the rule's cool-down (an episode that starts unannounced, within
        the cool-down of the previous notification, also ends unannounced)."""
        self.ensure_one()
        Episode = self.env["mro.rule.episode"]
        episode = Episode.search(
            [("rule_id", "=", self.id), ("equipment_id", "=", equipment.id), ("ended_at", "=", False)], limit=1
        )
        if not reason:
            if episode:
                episode.ended_at = now
                if episode.announced:
                    self._notify(equipment, self.env._("cleared"))
            return
        if not episode:
            episode = Episode.create(
                {"rule_id": self.id, "equipment_id": equipment.id, "started_at": now, "level": level}
            )
            if self._may_notify(equipment, now):
                episode.write({"announced": True, "notified_at": now})
                self._notify(equipment, reason)
            return
        if level > episode.level:
            episode.level = level
            if self._may_notify(equipment, now):
                episode.write({"announced": True, "notified_at": now})
                self._notify(equipment, self.env._("worse: %s", reason))

    def _may_notify(self, equipment, now):
        """No notification of this rule on this equipment within the cool-down of the previous one."""
        if not self.cooldown_hours:
            return True
        since = now - timedelta(hours=self.cooldown_hours)
        return not self.env["mro.rule.episode"].search_count(
            [("rule_id", "=", self.id), ("equipment_id", "=", equipment.id), ("notified_at", ">", since)], limit=1
        )

    def _notify(self, equipment, reason):
        self.ensure_one()
        equipment._mro_post(
            body=Markup("%s <b>%s</b>: %s") % (self.env._("Rule"), self.name, reason),
            partner_ids=self.notify_partner_ids.ids,
            subtype_xmlid="mail.mt_comment",
        )

    def _open_request(self, equipment, reason, prediction, now):
        self.ensure_one()
        team = self.maintenance_team_id or equipment.maintenance_team_id
        deadline = equipment.mro_predicted_failure_date
        if deadline and equipment.mro_rul_lower_days and equipment.mro_last_analysis:
            # Plan before the early end of the interval, not only before the median.
            deadline = min(deadline, equipment.mro_last_analysis + timedelta(days=equipment.mro_rul_lower_days))
        schedule = self._schedule(team, equipment.company_id, deadline, self.duration, now)
        values = self._prepare_request_vals(equipment, reason, prediction, team, schedule)
        return self.env["maintenance.request"].create(values)

    def _request_description(self, equipment, reason):
        """The request's description: the rule's instructions, why it was opened and the prediction (HTML)."""
        self.ensure_one()
        parts = [self.instructions or Markup("")]
        parts.append(Markup("<p>%s <b>%s</b>: %s.</p>") % (self.env._("Opened by rule"), self.name, reason))
        if equipment.mro_predicted_failure_date:
            parts.append(
                Markup("<p>%s</p>")
                % self.env._(
                    "Predicted failure %(date)s (%(low)s - %(high)s days at %(conf)s%%), model %(model)s.",
                    date=fields.Datetime.to_string(equipment.mro_predicted_failure_date),
                    low=round(equipment.mro_rul_lower_days, 1),
                    high=round(equipment.mro_rul_upper_days, 1),
                    conf=round(100 * equipment.mro_rul_confidence),
                    model=equipment.mro_prediction_model,
                )
            )
        return Markup("").join(parts)

    def _prepare_request_vals(self, equipment, reason, prediction, team, schedule):
        """Values of the maintenance request this rule opens on ``equipment`` (a hook for integrators)."""
        self.ensure_one()
        values = {
            "name": f"{self.name}: {equipment.display_name}",
            "equipment_id": equipment.id,
            "company_id": equipment.company_id.id,
            "maintenance_type": self.maintenance_type,
            "priority": self.priority,
            "schedule_date": schedule,
            "duration": self.duration,
            "description": self._request_description(equipment, reason),
            "mro_rule_id": self.id,
            "mro_prediction_id": prediction.id if prediction else False,
        }
        if team:
            values["maintenance_team_id"] = team.id
        if self.request_user_id:
            values["user_id"] = self.request_user_id.id
        return values

    @api.model
    def _schedule(self, team, company, deadline, duration_hours, now):
        """The request's scheduled date (naive UTC): the last working slot of the team's (or the
        company's) calendar that ends before ``deadline``, leaves such as a plant shutdown excluded;
        the first working slot from now when the deadline leaves no time; ``now`` without a calendar."""
        calendar = team._mro_calendar(company) if team else company.resource_calendar_id
        if not deadline:
            deadline = now + timedelta(days=7)
        if not calendar:
            return max(now, deadline - timedelta(hours=duration_hours))
        utc = timezone.utc
        start = now.replace(tzinfo=utc)
        end = max(deadline, now + timedelta(days=14)).replace(tzinfo=utc)
        intervals = calendar._work_intervals_batch(start, end)[False]
        spans = [(_naive(a), _naive(b)) for a, b, _rec in intervals]
        slot = last_slot_before(spans, deadline, timedelta(hours=duration_hours or 1.0))
        if slot is None or slot < now:
            slot = first_slot_after(spans, now) or now
        return slot.replace(microsecond=0)


def _naive(moment):
    """Aware datetime -> naive UTC, Odoo's storage convention."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class MroRuleEpisode(models.Model):
    """One episode of a rule's condition on one equipment, so that notifications go out once per episode."""

    _name = "mro.rule.episode"
    _description = "Prescriptive Rule Episode"
    _order = "started_at desc, id desc"

    rule_id = fields.Many2one("mro.prescriptive.rule", required=True, ondelete="cascade", index=True)
    equipment_id = fields.Many2one("maintenance.equipment", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="equipment_id.company_id", store=True)
    started_at = fields.Datetime(required=True)
    ended_at = fields.Datetime(index=True)
    level = fields.Integer(help="How bad the condition got during the episode.")
    announced = fields.Boolean(help="A notification said it started (so its end is announced too).")
    notified_at = fields.Datetime(help="Last notification of this episode.")
