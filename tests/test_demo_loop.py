"""The whole loop, as `make demo` runs it, on a real Odoo server: the demo plant (scripts/demo_plant.py) ->
`mro-bridge simulate` (Modbus, OPC-UA and MQTT, a month of history with one conveyor wearing out) ->
`mro-bridge run` -> Odoo's ingest -> analysis -> prescriptive rule -> maintenance request with its parts kit
-> just-in-time purchase order with its reason and approval decision.

Every piece is the real one, in its own process; the analysis and the planner are started with the buttons
users have (the crons run the same methods every minute in the demo). As in `make demo`, the broker refuses
anonymous clients (the bridge and the simulator log in with the passwords docker/mqtt-secrets.sh makes), the
administrator's password is generated, and every file holding a secret is mode 0600.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import json
import os
import signal
import stat
import subprocess
import sys
import xmlrpc.client
import zoneinfo
from pathlib import Path

import odoo_server
from odoo_server import wait_for

ROOT = Path(__file__).resolve().parent.parent
FIRST = "Infeed conveyor CV-501"  # wears out first; criticality B; its critical part (a belt) is not in stock


def count_readings(odoo, where: str) -> int:
    return int(
        odoo_server.psql(
            "SELECT count(*) FROM mro_sensor_reading r JOIN mro_sensor s ON s.id = r.sensor_id "
            f"JOIN maintenance_equipment e ON e.id = s.equipment_id WHERE {where}",
            db=odoo.db,
        )
    )


def start(args: list[str], log: Path, mqtt_password: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        command = [sys.executable, "-m", "mro_bridge.cli", *args]
        env = dict(os.environ, MRO_MQTT_PASSWORD=mqtt_password)
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def first_working_hour(call, now: datetime.datetime) -> datetime.datetime:
    """The start of the company's first working period at or after ``now`` (naive UTC), from its calendar's
    attendances (the demo has no leaves)."""
    [company] = call("res.company", "search_read", [], fields=["resource_calendar_id"], limit=1)
    [calendar] = call(
        "resource.calendar", "read", [company["resource_calendar_id"][0]], fields=["tz", "attendance_ids"]
    )
    periods = call(
        "resource.calendar.attendance", "read", calendar["attendance_ids"],
        fields=["dayofweek", "hour_from", "hour_to", "display_type", "week_type"],
    )  # fmt: skip
    tz = zoneinfo.ZoneInfo(calendar["tz"] or "UTC")
    local = now.replace(tzinfo=datetime.timezone.utc).astimezone(tz)
    for day in range(8):
        date = (local + datetime.timedelta(days=day)).date()
        for period in sorted(periods, key=lambda p: p["hour_from"]):
            if period["display_type"] or int(period["dayofweek"]) != date.weekday():
                continue
            end = datetime.datetime.combine(date, datetime.time(), tz) + datetime.timedelta(hours=period["hour_to"])
            if end <= local:
                continue
            start = datetime.datetime.combine(date, datetime.time(), tz) + datetime.timedelta(hours=period["hour_from"])
            return max(start, local).astimezone(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    raise AssertionError("the company's calendar has no working hours")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def demo_broker(workdir: Path):
    """The demo's broker: the users and password file of docker/mqtt-secrets.sh, no anonymous client, and
    every message of the bridge's persistent session kept while it is away. Yields (port, {user: password})."""
    secrets_dir = workdir / "mqtt"
    subprocess.run(["sh", str(ROOT / "docker" / "mqtt-secrets.sh"), str(secrets_dir)], check=True)
    passwords = {user: (secrets_dir / user / "mqtt-password").read_text() for user in ("bridge", "simulator")}
    port = odoo_server.free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {secrets_dir / 'mosquitto' / 'passwd'}\n"
        f"persistence false\nmax_queued_messages 0\nmax_inflight_messages 100\nuser {getpass.getuser()}\n"
    )
    with open(workdir / "mosquitto.log", "wb") as log:
        process = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=log)
    try:
        odoo_server.wait_for_port(port, process, workdir / "mosquitto.log")
        yield port, passwords
    finally:
        process.terminate()
        process.wait(10)


def test_simulated_wear_becomes_an_alert_a_request_and_a_purchase(odoo, tmp_path):
    with demo_broker(tmp_path) as (mqtt_port, mqtt_passwords):
        run_the_loop(odoo, tmp_path, mqtt_port, mqtt_passwords)


def run_the_loop(odoo, tmp_path: Path, mqtt_port: int, mqtt_passwords: dict[str, str]) -> None:
    out = tmp_path / "demo"
    modbus_port, opcua_port = odoo_server.free_port(), odoo_server.free_port()
    admin_password_file = tmp_path / "secrets" / "admin-password"
    admin_password_file.parent.mkdir(mode=0o700)
    env = dict(
        os.environ,
        MRO_DEMO_OUT=str(out),
        MRO_ODOO_URL=odoo.url,
        MRO_SIM_MODBUS_PORT=str(modbus_port),
        MRO_SIM_OPCUA_PORT=str(opcua_port),
        MRO_MQTT_PORT=str(mqtt_port),
        MRO_MQTT_USERNAME="bridge",
        MRO_MQTT_PASSWORD_ENV="MRO_MQTT_PASSWORD",
        MRO_BRIDGE_LISTEN=f"127.0.0.1:{odoo_server.free_port()}",
        MRO_DEMO_ADMIN_PASSWORD_FILE=str(admin_password_file),
    )
    with open(ROOT / "scripts" / "demo_plant.py", "rb") as script:
        built = subprocess.run(
            odoo_server.odoo_cmd("shell", "-d", odoo.db, "--no-http", "--log-level=warn"),
            stdin=script,
            capture_output=True,
            env=env,
            timeout=600,
        )
    assert built.returncode == 0, built.stderr.decode()[-3000:]
    # The demo's purchase history reads as a real year in Odoo's own screens: Purchase's "lead time to purchase"
    # (approval minus creation) is a day or two, not negative.
    days = float(
        odoo_server.psql(
            "SELECT avg(extract(epoch FROM date_approve - create_date)) / 86400 FROM purchase_order "
            "WHERE origin = 'Demo history'",
            db=odoo.db,
        )
    )
    assert 0 < days < 5, days
    # A few months of timed work: the wrench-time KPI shows the trend (less waiting for parts).
    wrench = odoo_server.psql(
        "SELECT string_agg(round(wrench_time)::text, ',' ORDER BY month) FROM mro_jit_kpi WHERE wrench_time > 0",
        db=odoo.db,
    ).split(",")
    assert len(wrench) >= 4, wrench
    assert float(wrench[-1]) > float(wrench[0]), wrench
    # The unreliable vendor's expedite agreement is on its pricelist lines (and only there), as a purchase
    # manager would record it.
    agreements = odoo_server.psql(
        "SELECT string_agg(DISTINCT p.name || ':' || s.mro_expedite_delay || ':' || s.mro_expedite_premium, ',') "
        "FROM product_supplierinfo s JOIN res_partner p ON p.id = s.partner_id WHERE s.mro_expedite_delay > 0",
        db=odoo.db,
    )
    assert agreements == "SealTech:4.0:30.0", agreements
    # Secrets are the user's only; the MQTT password is not in the bridge's file, only the variable's name.
    for secret in (out / "credentials.json", out / "bridge.toml", admin_password_file):
        assert mode(secret) == 0o600, secret
    bridge_toml = (out / "bridge.toml").read_text()
    assert 'username = "bridge"' in bridge_toml and 'password_env = "MRO_MQTT_PASSWORD"' in bridge_toml
    assert mqtt_passwords["bridge"] not in bridge_toml
    # The administrator's password is the generated one; the demo data's "admin" no longer opens the database.
    admin = ("admin", admin_password_file.read_text().strip())
    assert len(admin[1]) >= 20
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common")
    assert not common.authenticate(odoo.db, "admin", "admin", {})
    plant = json.loads((out / "plant.json").read_text())
    protocols = {s["protocol"] for s in plant["sensors"]}
    assert {"modbus", "opcua", "mqtt"} <= protocols

    pulled = subprocess.run(
        [sys.executable, "-m", "mro_bridge.cli", "pull-config", "--config", str(out / "bridge.toml"),
         "--output", str(out / "bridge-run.toml")],
        capture_output=True, text=True, timeout=60, env=dict(os.environ, MRO_MQTT_PASSWORD=mqtt_passwords["bridge"]),
    )  # fmt: skip
    assert pulled.returncode == 0, pulled.stderr
    processes = [
        start(["run", "--config", str(out / "bridge-run.toml")], tmp_path / "bridge.log", mqtt_passwords["bridge"])
    ]
    try:
        wait_for(lambda: "subscribed" in (tmp_path / "bridge.log").read_text(), 30, "the bridge subscribed")
        processes.append(
            start(
                ["simulate", "--plant", str(out / "plant.json"), "--speedup", "60", "--seed", "1",
                 "--first-asset", FIRST, "--first-failure-in", "72", "--backfill-days", "30",
                 "--backfill-step", "3600", "--backfill-delay", "1", "--backfill-rate", "5000",
                 "--listen", "127.0.0.1", "--modbus-port", str(modbus_port), "--opcua-port", str(opcua_port),
                 "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port), "--mqtt-username", "simulator",
                 "--pki", str(tmp_path / "pki")],
                tmp_path / "simulator.log",
                mqtt_passwords["simulator"],
            )
        )  # fmt: skip
        wait_for(lambda: "simulator ready" in (tmp_path / "simulator.log").read_text(), 30, "the simulator")
        # A month of hourly history for the MQTT sensors, and live values over all three protocols.
        wait_for(lambda: count_readings(odoo, "e.serial_no = 'CV501'") >= 3 * 700, 120, "the conveyor's history")
        for device in ("plc1", "opc1", "broker"):
            wait_for(lambda d=device: count_readings(odoo, f"s.source_device = '{d}'") > 0, 60, f"readings of {device}")

        # The conveyors' belt speed reads in m/s, as their sensors say.
        speed = odoo_server.psql(
            "SELECT max(s.last_value) FROM mro_sensor s JOIN maintenance_equipment e ON e.id = s.equipment_id "
            "WHERE e.name::text ILIKE '%conveyor%' AND s.measure_kind = 'speed' AND s.last_ts IS NOT NULL",
            db=odoo.db,
        )
        assert not speed or float(speed) < 10.0, speed
        uid = odoo.login(*admin)

        def call(model, method, *args, **kwargs):
            return odoo.call(uid, admin[1], model, method, *args, **kwargs)

        plant_ids = call("maintenance.equipment", "search", [("mro_part_ids", "!=", False)])
        assert len(plant_ids) >= 20
        call("maintenance.equipment", "action_analyze_health", plant_ids)

        [conveyor] = call(
            "maintenance.equipment",
            "search_read",
            [("name", "=", FIRST)],
            fields=["mro_health_state", "mro_anomaly", "mro_rul_days", "mro_rul_lower_days", "mro_rul_upper_days",
                    "mro_predicted_failure_date", "mro_failure_probability", "mro_prediction_reason"],
        )  # fmt: skip
        assert conveyor["mro_health_state"] in ("warning", "critical"), conveyor
        assert conveyor["mro_predicted_failure_date"], conveyor["mro_prediction_reason"]
        assert (
            0 < conveyor["mro_rul_lower_days"] <= conveyor["mro_rul_days"] <= conveyor["mro_rul_upper_days"] < 10
        ), conveyor
        healthy = call(
            "maintenance.equipment", "search_count", [("id", "in", plant_ids), ("mro_health_state", "=", "good")]
        )
        assert healthy >= 15  # the rest of the plant is well: no false alarms

        alerts = call(
            "mro.health.alert", "search_read", [("equipment_id.name", "=", FIRST), ("state", "=", "open")],
            fields=["severity"],
        )  # fmt: skip
        assert alerts and {a["severity"] for a in alerts} & {"warning", "critical"}, alerts

        requests = call(
            "maintenance.request",
            "search_read",
            [("equipment_id.name", "=", FIRST), ("mro_rule_id", "!=", False)],
            fields=["schedule_date", "mro_picking_id", "maintenance_type"],
        )
        assert len(requests) >= 1, "no maintenance request opened by a rule"
        # Before the predicted failure; or, when the failure comes before the plant's next working hours (a
        # failure predicted overnight, when the test runs in the evening), at the first working hour.
        first_hour = first_working_hour(call, datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None))
        for r in requests:
            when = datetime.datetime.fromisoformat(r["schedule_date"])
            failure = datetime.datetime.fromisoformat(conveyor["mro_predicted_failure_date"])
            assert when < failure or (failure <= first_hour and when == first_hour), (r, conveyor, first_hour)
        assert any(r["mro_picking_id"] for r in requests), "the parts kit was not reserved"

        call("mro.jit.planner", "action_plan_now")
        orders = call(
            "purchase.order",
            "search_read",
            [("mro_jit", "=", True), ("order_line.product_id.default_code", "=", "BELT-CONV")],
            fields=["partner_id", "state", "mro_approval", "mro_approval_reason", "origin", "amount_total"],
        )
        assert len(orders) == 1, orders
        [order] = orders
        assert order["partner_id"][1] == "Belts & Drives"
        # 420 for a criticality-B asset that will fail within days: under the demo's 500 limit, auto-approved.
        assert order["state"] == "purchase" and order["mro_approval"] == "auto", order
        [need] = call(
            "mro.part.need",
            "search_read",
            [("equipment_id.name", "=", FIRST), ("product_id.default_code", "=", "BELT-CONV")],
            fields=["reason", "state"],
        )
        assert FIRST in need["reason"] and "failure expected" in need["reason"], need

        # Planning again buys nothing twice.
        call("mro.jit.planner", "action_plan_now")
        again = call("purchase.order.line", "search_count", [("product_id.default_code", "=", "BELT-CONV"),
                                                            ("order_id.mro_jit", "=", True)])  # fmt: skip
        assert again == 1
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(30)
