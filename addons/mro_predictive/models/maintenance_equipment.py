import logging
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..mro_analytics.series import daily_before_recent
from ..standards import suggest_machine_kind

_logger = logging.getLogger(__name__)

HEALTH_STATES = [("good", "Good"), ("watch", "Watch"), ("warning", "Warning"), ("critical", "Critical")]
CRITICALITY = [("A", "A - critical"), ("B", "B - important"), ("C", "C - run to failure")]
EPOCH = datetime(1970, 1, 1)

#: Fields of ``maintenance.equipment`` that only the analysis (and the bookkeeping when work is done) writes.
MACHINE_FIELDS = frozenset(
    {
        "mro_health_score", "mro_health_state", "mro_health_reasons", "mro_anomaly", "mro_rul_days",
        "mro_rul_lower_days", "mro_rul_upper_days", "mro_rul_confidence", "mro_rul_quantiles",
        "mro_predicted_failure_date", "mro_failure_probability", "mro_prediction_model", "mro_prediction_reason",
        "mro_limiting_sensor_id", "mro_last_analysis", "mro_analysis_data_ts", "mro_analysis_error",
        "mro_baseline_since", "mro_health_stale", "mro_data_until",
    }
)  # fmt: skip


def check_machine_write(records, vals, machine_fields):
    """Refuse a write of machine-computed fields by people (through the ORM, RPC included).

    The system writes them in sudo mode (the analysis, the bookkeeping when work is done); sudo cannot be
    asked for over RPC, a context key could, so the check is on ``env.su``."""
    forged = sorted(set(vals) & machine_fields)
    if forged and not records.env.su:
        raise AccessError(
            records.env._(
                "%(fields)s of %(model)s are computed by the analysis and cannot be set by hand.",
                fields=", ".join(forged),
                model=records._description,
            )
        )


def to_days(moment: datetime) -> float:
    """Naive UTC datetime -> days since the Unix epoch (the engine's time unit)."""
    return (moment - EPOCH).total_seconds() / 86400.0


def from_days(days: float) -> datetime:
    return EPOCH + timedelta(days=float(days))


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    mro_criticality = fields.Selection(
        CRITICALITY,
        default="B",
        required=True,
        tracking=True,
        help="A: a failure stops production or is unsafe; B: costly; C: may run to failure.",
    )
    mro_asset_model_id = fields.Many2one("mro.asset.model", string="Asset model", index=True, tracking=True)
    mro_asset_model_suggested_id = fields.Many2one(
        "mro.asset.model",
        string="Suggested asset model",
        compute="_compute_mro_asset_model_suggested_id",
        help="From the equipment's name and category: pump, motor, fan, compressor, conveyor, gearbox.",
    )
    mro_health_score = fields.Float(readonly=True, digits=(16, 0), aggregator="avg")
    mro_health_state = fields.Selection(HEALTH_STATES, readonly=True, index=True)
    mro_health_reasons = fields.Text(readonly=True)
    mro_anomaly = fields.Boolean(readonly=True, index=True)
    mro_rul_days = fields.Float("RUL (days)", readonly=True, digits=(16, 1), help="Remaining useful life, median.")
    mro_rul_lower_days = fields.Float("RUL lower bound (days)", readonly=True, digits=(16, 1))
    mro_rul_upper_days = fields.Float("RUL upper bound (days)", readonly=True, digits=(16, 1))
    mro_rul_confidence = fields.Float("Interval confidence", readonly=True)
    mro_rul_quantiles = fields.Json(readonly=True, help="RUL in days at the engine's probability levels.")
    mro_predicted_failure_date = fields.Datetime(readonly=True, index=True)
    mro_failure_probability = fields.Float(
        "Failure probability", readonly=True, help="Probability of failure within the company's planning horizon."
    )
    mro_prediction_model = fields.Char("Model used", readonly=True)
    mro_prediction_reason = fields.Text("Why this model", readonly=True)
    mro_limiting_sensor_id = fields.Many2one(
        "mro.sensor", readonly=True, help="The sensor whose forecast is the earliest."
    )
    mro_last_analysis = fields.Datetime(readonly=True)
    mro_analysis_data_ts = fields.Datetime(readonly=True, help="Newest reading seen by the last analysis.")
    mro_analysis_error = fields.Char(readonly=True)
    mro_analysis_queued = fields.Datetime(
        "Analysis queued", readonly=True, copy=False, help="Waiting in a job of the analysis since this time."
    )
    mro_baseline_since = fields.Datetime(
        readonly=True, help="Baselines are learned from data after this time (the last corrective maintenance)."
    )
    mro_health_stale = fields.Boolean(
        "Data stale",
        readonly=True,
        help="No recent data: a sensor or the gateway went silent. Health and RUL are those of the data up to "
        "the last reading, not current.",
    )
    mro_data_until = fields.Datetime("Last reading", readonly=True, help="Newest reading of the equipment's sensors.")
    mro_health_alert_ids = fields.One2many("mro.health.alert", "equipment_id")
    mro_open_alert_count = fields.Integer(compute="_compute_mro_open_alert_count")
    mro_prediction_ids = fields.One2many("mro.prediction", "equipment_id")
    mro_health_color = fields.Integer(compute="_compute_mro_health_color")

    @api.depends("name", "category_id.name", "mro_asset_model_id")
    def _compute_mro_asset_model_suggested_id(self):
        models_by_kind = {}
        for model in self.env["mro.asset.model"].search([], order="id"):
            models_by_kind.setdefault(model.machine_kind, model)
        for equipment in self:
            kind = suggest_machine_kind(equipment.name, equipment.category_id.name)
            equipment.mro_asset_model_suggested_id = models_by_kind.get(kind, False) if kind else False

    @api.depends("mro_health_state")
    def _compute_mro_health_color(self):
        colors = {"good": 10, "watch": 3, "warning": 2, "critical": 1}
        for equipment in self:
            equipment.mro_health_color = colors.get(equipment.mro_health_state, 0)

    def _compute_mro_open_alert_count(self):
        counts = dict(
            self.env["mro.health.alert"]._read_group(
                [("equipment_id", "in", self.ids), ("state", "!=", "closed")], ["equipment_id"], ["__count"]
            )
        )
        for equipment in self:
            equipment.mro_open_alert_count = counts.get(equipment, 0)

    def mro_code_prefix(self):
        """Prefix for sensor codes made from templates: serial number, else name initials and id."""
        self.ensure_one()
        if self.serial_no:
            return self.serial_no.split()[0].upper()
        initials = "".join(word[0] for word in (self.name or "EQ").split() if word[:1].isalnum())[:4].upper()
        return f"{initials or 'EQ'}{self.id}"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_machine_write(self, vals, MACHINE_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        check_machine_write(self, vals, MACHINE_FIELDS)
        return super().write(vals)

    # ---------------------------------------------------------------- actions
    def action_apply_asset_model(self):
        for equipment in self.filtered("mro_asset_model_id"):
            equipment.mro_asset_model_id._apply_to(equipment)
        return True

    def action_analyze_health(self):
        """Analyse these equipment now, whether or not new readings arrived.

        Anyone who may see an equipment may ask for it (a technician after a repair wants its state now):
        the analysis only reads the equipment's data and writes what the cron would write at its next run,
        and nobody chooses a value. So it runs as the system (sudo), whoever presses the button, and is
        never half done: alerts, ledger rows and rules as well as health and RUL."""
        self.check_access("read")
        # sudo: a job of the system (see above); the records are those the user may read.
        self.env["mro.health.analysis"].sudo()._analyze(self.sudo())
        return True

    def action_view_alerts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_predictive.mro_health_alert_action")
        action["domain"] = [("equipment_id", "=", self.id)]
        action["context"] = {"search_default_not_closed": 1}
        return action

    def action_view_predictions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_predictive.mro_prediction_action")
        action["domain"] = [("equipment_id", "=", self.id)]
        return action

    # ---------------------------------------------------------------- chart
    def mro_health_trend(self):
        """Data for the health trend chart: the limiting sensor's daily history, its limits, and the
        forecast band (failure date interval). Plain JSON for the web client."""
        self.ensure_one()
        sensor = (
            self.mro_limiting_sensor_id or self.mro_sensor_ids.filtered("alarm_limit")[:1] or self.mro_sensor_ids[:1]
        )
        result = {
            "sensor": sensor.display_name or "",
            "unit": sensor.unit or "",
            "warning": sensor.warning_limit or None,
            "alarm": sensor.alarm_limit or None,
            "history": [],
            "forecast": None,
            "state": self.mro_health_state or "",
        }
        if not sensor:
            return result
        window = self.company_id.mro_analysis_window_days or 30
        since = datetime.now(timezone.utc).timestamp() - window * 86400
        series = sensor.read_series(since, resolution="hour")
        ts, mean = daily_before_recent(series["ts"], series["mean"])
        result["history"] = [[float(t) * 1000, round(float(v), 4)] for t, v in zip(ts, mean, strict=True)]
        if self.mro_predicted_failure_date and self.mro_last_analysis:
            base = self.mro_last_analysis.replace(tzinfo=timezone.utc).timestamp()
            result["forecast"] = {
                "median": (base + self.mro_rul_days * 86400) * 1000,
                "lower": (base + self.mro_rul_lower_days * 86400) * 1000,
                "upper": (base + self.mro_rul_upper_days * 86400) * 1000,
                "threshold": sensor.alarm_limit or None,
                "confidence": self.mro_rul_confidence,
            }
        return result
