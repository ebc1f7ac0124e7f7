from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..mro_ingestion import LIMITS, limit_state, parse_timestamp

MEASURE_KINDS = [
    ("vibration_velocity", "Vibration velocity (RMS)"),
    ("vibration_acceleration", "Vibration acceleration"),
    ("temperature", "Temperature"),
    ("current", "Motor current"),
    ("pressure", "Pressure"),
    ("speed", "Speed"),
    ("flow", "Flow"),
    ("custom", "Custom"),
]
MEASURE_UNITS = {
    "vibration_velocity": "mm/s",
    "vibration_acceleration": "g",
    "temperature": "°C",
    "current": "A",
    "pressure": "bar",
    "speed": "rpm",
    "flow": "m³/h",
    "custom": "",
}


#: Percent of each page of the sensor table filled by inserts. Every ingest call rewrites its sensors' last
#: values: in a full page the new version of a row goes elsewhere, with a new entry in each of the table's six
#: indexes, and the table grows until a vacuum (measured over 40 calls of 1,000 sensors: 15% of the updates in
#: place, the table 7.5 MB after them); with the pages half empty, every update stays in place (HOT), the old
#: versions are pruned as the page is next read, and the table stayed at 0.45 MB.
SENSOR_FILLFACTOR = 50


class MroSensor(models.Model):
    """One measured quantity on one equipment, and where the bridge reads it."""

    _name = "mro.sensor"
    _description = "Equipment Sensor"
    _inherit = ["mail.thread"]
    _order = "equipment_id, code"
    _rec_names_search = ["code", "name"]
    _check_company_auto = True
    #: Most points one read_series() call returns.
    _series_max_points = 200_000

    code = fields.Char(
        required=True,
        index=True,
        tracking=True,
        help="The bridge's key for this sensor; unique within a company.",
    )
    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    equipment_id = fields.Many2one(
        "maintenance.equipment", required=True, ondelete="cascade", index=True, tracking=True
    )
    company_id = fields.Many2one(
        "res.company",
        related="equipment_id.company_id",
        store=True,
        index=True,
        precompute=True,
    )
    gateway_id = fields.Many2one(
        "mro.sensor.gateway",
        ondelete="restrict",
        index=True,
        tracking=True,
        check_company=True,
        help="The bridge that reads this sensor and may write its readings.",
    )
    measure_kind = fields.Selection(
        MEASURE_KINDS,
        required=True,
        default="vibration_velocity",
        tracking=True,
    )
    unit = fields.Char(compute="_compute_unit", store=True, readonly=False, precompute=True)
    warning_limit = fields.Float(help="Above this value the condition is worth a look (e.g. ISO zone B/C).")
    alarm_limit = fields.Float(help="Above this value the machine is in danger (e.g. ISO zone C/D).")
    physical_min = fields.Float(help="Lowest value the sensor can physically report.")
    physical_max = fields.Float(help="Highest value the sensor can physically report; 0 means no limit.")

    # Where and how the bridge reads it (sent by get_bridge_config()).
    protocol = fields.Selection(
        [("modbus", "Modbus TCP"), ("opcua", "OPC-UA"), ("mqtt", "MQTT"), ("manual", "Manual / API")],
        default="modbus",
        required=True,
    )
    source_device = fields.Char(
        help="Name of the device (source) in the bridge's configuration file that serves this tag."
    )
    source_address = fields.Char(help="Modbus register number, OPC-UA node id (ns=2;s=...) or MQTT topic filter.")
    modbus_unit_id = fields.Integer(default=1)
    modbus_register_type = fields.Selection(
        [
            ("holding", "Holding register"),
            ("input", "Input register"),
            ("coil", "Coil"),
            ("discrete", "Discrete input"),
        ],
        default="holding",
    )
    modbus_address_base = fields.Selection(
        [("0", "0-based (protocol address)"), ("1", "1-based (documentation numbering)")],
        default="0",
        help="Whether source_address counts from 0 (as on the wire) or from 1 (as many manuals do).",
    )
    data_type = fields.Selection(
        [
            ("int16", "int16"),
            ("uint16", "uint16"),
            ("int32", "int32"),
            ("uint32", "uint32"),
            ("int64", "int64"),
            ("uint64", "uint64"),
            ("float32", "float32"),
            ("float64", "float64"),
            ("bool", "bool"),
        ],
        default="float32",
    )
    byte_order = fields.Selection(
        [
            ("ABCD", "ABCD (big endian)"),
            ("CDAB", "CDAB (word swap)"),
            ("BADC", "BADC (byte swap)"),
            ("DCBA", "DCBA (little endian)"),
        ],
        default="ABCD",
    )
    bit_index = fields.Integer(default=-1, help="Read a single bit (0-15) of the register; -1 for the whole value.")
    scale = fields.Float(default=1.0, digits=(16, 6))
    value_offset = fields.Float(digits=(16, 6), help="Added after scaling: value = raw * scale + offset.")
    mqtt_value_path = fields.Char(
        help="Dotted path of the value in a JSON payload, e.g. data.rms; empty for a bare number."
    )
    mqtt_ts_path = fields.Char(
        help="Dotted path of the source timestamp in a JSON payload; empty to use the arrival time."
    )
    poll_interval = fields.Float(default=1.0, help="Seconds between two reads (Modbus, OPC-UA polling).")
    deadband = fields.Float(help="Report a new value only when it moves by more than this; 0 reports every read.")
    deadband_mode = fields.Selection(
        [("absolute", "Absolute"), ("percent", "Percent of last value")], default="absolute"
    )
    max_silence = fields.Float(
        default=0.0,
        help="Seconds after which a value is reported even inside the deadband (a heartbeat); 0: never. "
        "The bridge's max_silence, with the same default.",
    )

    last_value = fields.Float(readonly=True, digits=(16, 4))
    last_ts = fields.Datetime("Last reading", readonly=True)
    limit_state = fields.Selection(
        [("none", "No reading"), ("normal", "Normal"), ("warning", "Warning"), ("alarm", "Alarm")],
        compute="_compute_limit_state",
        store=True,
        help="Where the last value stands against the limits (kept in step by ingest, in SQL, from the same rule).",
    )
    reading_count = fields.Integer(compute="_compute_reading_count")

    _sql_constraints = [
        ("code_company_uniq", "unique(company_id, code)", "A sensor code must be unique within a company."),
    ]

    def init(self):
        res = super().init()
        # For the pages written from now on; a database of an earlier version gets it on update.
        self.env.cr.execute(SQL("ALTER TABLE mro_sensor SET (fillfactor = %s)", SENSOR_FILLFACTOR))
        return res

    @api.depends("measure_kind")
    def _compute_unit(self):
        for sensor in self:
            if not sensor.unit or sensor.unit in MEASURE_UNITS.values():
                sensor.unit = MEASURE_UNITS.get(sensor.measure_kind, "")

    @api.depends("last_ts", "last_value", "warning_limit", "alarm_limit")
    def _compute_limit_state(self):
        for sensor in self:
            value = sensor.last_value if sensor.last_ts else None
            sensor.limit_state = limit_state(value, {column: sensor[column] for column, _state in LIMITS})

    def _compute_reading_count(self):
        counts = dict(
            self.env["mro.sensor.reading.hourly"]._read_group(
                [("sensor_id", "in", self.ids)], ["sensor_id"], ["value_count:sum"]
            )
        )
        for sensor in self:
            sensor.reading_count = counts.get(sensor, 0)

    @api.constrains("code")
    def _check_code(self):
        for sensor in self:
            if not sensor.code.strip() or sensor.code != sensor.code.strip():
                raise ValidationError(
                    self.env._("Sensor code %r must not be empty or padded with spaces.", sensor.code)
                )

    @api.constrains("warning_limit", "alarm_limit")
    def _check_limits(self):
        for sensor in self:
            if sensor.warning_limit and sensor.alarm_limit and sensor.warning_limit > sensor.alarm_limit:
                raise ValidationError(
                    self.env._("The warning limit of %s is above its alarm limit.", sensor.display_name)
                )

    @api.constrains("bit_index", "data_type")
    def _check_bit_index(self):
        for sensor in self:
            if not -1 <= sensor.bit_index <= 63:
                raise ValidationError(self.env._("Bit index must be between 0 and 63, or -1 for the whole value."))

    @api.depends("code", "name")
    def _compute_display_name(self):
        for sensor in self:
            sensor.display_name = f"[{sensor.code}] {sensor.name}" if sensor.code else sensor.name

    def _bridge_tag(self):
        """The tag description the bridge needs for this sensor (plain, XML-RPC-safe values)."""
        self.ensure_one()
        return {
            "code": self.code,
            "name": self.name,
            # sudo: the bridge user may not read equipment; it gets only the name, as a label.
            "equipment": self.equipment_id.sudo().display_name,
            "measure_kind": self.measure_kind,
            "unit": self.unit or "",
            "protocol": self.protocol,
            "device": self.source_device or "",
            "address": self.source_address or "",
            "modbus_unit_id": self.modbus_unit_id,
            "register_type": self.modbus_register_type or "holding",
            "address_base": int(self.modbus_address_base or 0),
            "data_type": self.data_type or "float32",
            "byte_order": self.byte_order or "ABCD",
            "bit": self.bit_index,
            "scale": self.scale,
            "offset": self.value_offset,
            "value_path": self.mqtt_value_path or "",
            "ts_path": self.mqtt_ts_path or "",
            "poll_interval": self.poll_interval,
            "deadband": self.deadband,
            "deadband_mode": self.deadband_mode or "absolute",
            "max_silence": self.max_silence,
        }

    def read_series(self, since, until=None, resolution="raw"):
        """Return one sensor's history as compact columns, for charts, analysis and integrators.

        :param since: start (ISO 8601 text with offset, epoch seconds or datetime; inclusive)
        :param until: end (same forms, exclusive); default now
        :param resolution: ``"raw"`` for readings, ``"hour"`` for hourly aggregates
        :return: raw: ``{"code", "ts": [epoch s], "value": [...]}``; hour: ``{"code", "ts",
            "min", "mean", "max", "count", "last"}``, ordered by time. Far faster than
            ``search_read`` (no record per reading): one indexed SQL scan.
        :raise UserError: on a bad time, resolution, or more than ``_series_max_points`` points.
        :raise AccessError: unless the caller may read this sensor and the table asked for (raw
            readings or hourly aggregates): a bridge user reads its sensors, never their history.
        """
        self.ensure_one()
        self.check_access("read")
        if resolution in ("raw", "hour"):
            model = "mro.sensor.reading" if resolution == "raw" else "mro.sensor.reading.hourly"
            self.env[model].check_access("read")
        try:
            start = parse_timestamp(since) / 1e6
            end = parse_timestamp(until) / 1e6 if until is not None else None
        except ValueError as exc:
            raise UserError(self.env._("read_series(): %s", exc)) from None
        if resolution == "raw":
            columns = SQL("value")
            table, time_col, names = SQL.identifier("mro_sensor_reading"), SQL.identifier("ts"), ["value"]
        elif resolution == "hour":
            columns = SQL("value_min, value_mean, value_max, value_count, last_value")
            table, time_col = SQL.identifier("mro_sensor_reading_hourly"), SQL.identifier("hour")
            names = ["min", "mean", "max", "count", "last"]
        else:
            raise UserError(self.env._("read_series(): resolution must be 'raw' or 'hour', not %r", resolution))
        self.env.cr.execute(
            SQL(
                """SELECT extract(epoch FROM %(time)s)::float8, %(columns)s FROM %(table)s
                    WHERE sensor_id = %(sensor)s AND %(time)s >= to_timestamp(%(start)s) AT TIME ZONE 'UTC'
                      AND %(time)s < COALESCE(to_timestamp(%(end)s) AT TIME ZONE 'UTC', 'infinity')
                    ORDER BY %(time)s LIMIT %(limit)s""",
                time=time_col,
                columns=columns,
                table=table,
                sensor=self.id,
                start=start,
                end=end,
                limit=self._series_max_points + 1,
            )
        )
        rows = self.env.cr.fetchall()
        if len(rows) > self._series_max_points:
            raise UserError(
                self.env._(
                    "read_series(): more than %s points; ask for a shorter period or hourly resolution.",
                    self._series_max_points,
                )
            )
        series = {"code": self.code, "ts": [row[0] for row in rows]}
        for i, name in enumerate(names, start=1):
            series[name] = [row[i] for row in rows]
        return series

    def _chart_action(self, days):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_sensor_bridge.mro_sensor_reading_hourly_action")
        since = fields.Datetime.subtract(fields.Datetime.now(), days=days)
        action.update(
            name=self.env._("%(sensor)s: last %(days)s days", sensor=self.display_name, days=days)
            if days > 1
            else self.env._("%(sensor)s: last 24 hours", sensor=self.display_name),
            domain=[("sensor_id", "=", self.id), ("hour", ">=", fields.Datetime.to_string(since))],
            context={"graph_groupbys": ["hour:hour" if days <= 7 else "hour:day"]},
            view_mode="graph,list",
        )
        action.pop("views", None)
        return action

    def action_chart_24h(self):
        return self._chart_action(1)

    def action_chart_7d(self):
        return self._chart_action(7)

    def action_chart_30d(self):
        return self._chart_action(30)

    def action_view_readings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mro_sensor_bridge.mro_sensor_reading_action")
        action["domain"] = [("sensor_id", "=", self.id)]
        return action

    @api.model
    def get_import_templates(self):
        """The template of Odoo's standard import for sensors with their sources (the bridge's addresses)."""
        return [
            {
                "label": self.env._("Import template for sensors"),
                "template": "/mro_sensor_bridge/static/templates/sensors.csv",
            }
        ]
