"""The demo plant, built inside ``odoo-bin shell`` (``make demo`` and docker compose run it): idempotent.

Twenty more equipment across pumps, motors, fans, compressors and conveyors, each with its asset model's
sensors (fed by ``mro-bridge simulate`` through gateway LINE1: Modbus for pumps and motors, OPC-UA for
compressors, MQTT for fans and conveyors), criticalities, spare-parts lists, vendors with a year of
purchase receipts (so lead times are learned, one vendor unreliable), stock, a plant shutdown in the
company calendar, prescriptive rules and the auto-approval policy.

Prints one line ``DEMO_PLANT {json}`` with what the bridge needs: the gateway code and its tags. With
``MRO_DEMO_OUT=DIR`` it also writes there ``plant.json`` (the simulator's ``--plant``), ``credentials.json``
(the gateway user's API key, made once and reused while it works) and ``bridge.toml`` (the bridge's file
without tags, for ``mro-bridge pull-config``); the last two hold secrets and are mode 0600. Environment:
``MRO_ODOO_URL``, ``MRO_SIM_HOST``, ``MRO_SIM_MODBUS_PORT`` (5020), ``MRO_SIM_OPCUA_PORT`` (4840),
``MRO_MQTT_HOST``, ``MRO_MQTT_PORT`` (1883), ``MRO_MQTT_USERNAME`` and ``MRO_MQTT_PASSWORD_ENV`` (the bridge's
MQTT user and the name of the environment variable that will hold its password), ``MRO_DEMO_SPOOL``,
``MRO_BRIDGE_LISTEN``.

``MRO_DEMO_ADMIN_PASSWORD_FILE=FILE``: the administrator's password. When FILE does not exist, a new random
password is written there (mode 0600) and set on the ``admin`` user; when it exists and ``admin`` still has
the demo data's password "admin" (a database made again), the password of FILE is set.
"""

import json
import os
import random
import secrets
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from odoo import Command, fields


def _plain_http_elsewhere(url):
    """Whether the bridge needs allow_insecure_http for ``url`` (plain http to another host than this one)."""
    return url.startswith("http:") and urlsplit(url).hostname not in ("localhost", "127.0.0.1", "::1")


env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True, mail_notrack=True))  # noqa: F821
company = env.company
rng = random.Random(7)
today = fields.Date.context_today(env["res.partner"])
now = fields.Datetime.now()


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by this user only (0600) from its creation on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through os.open
        out.write(text)


# ---------------------------------------------------------------- settings, team, calendar, rules
admin = env.ref("base.user_admin")
admin_password_file = os.environ.get("MRO_DEMO_ADMIN_PASSWORD_FILE")
if admin_password_file:
    admin_password_file = Path(admin_password_file)
    if admin_password_file.exists():
        admin_password = admin_password_file.read_text().strip()
        env.cr.execute("SELECT COALESCE(password, '') FROM res_users WHERE id = %s", [admin.id])
        stored = env.cr.fetchone()[0]
        reset = bool(stored) and admin._crypt_context().verify("admin", stored)
    else:
        admin_password, reset = secrets.token_urlsafe(18), True
        write_secret(admin_password_file, admin_password + "\n")  # first: a crash after it only repeats the reset
    if reset:
        admin.password = admin_password
        env.cr.commit()
company.write(
    {
        "mro_auto_approve": True,
        "mro_auto_approve_limit": 500.0,
        "mro_auto_approve_a": False,
        "mro_auto_approve_b": True,
        "mro_auto_approve_c": True,
        "mro_auto_approve_min_probability": 0.3,
        "mro_buyer_id": admin.id,
    }
)
team = env["maintenance.team"].search([("name", "=", "Rotating equipment")], limit=1) or env["maintenance.team"].create(
    {"name": "Rotating equipment", "member_ids": [Command.link(admin.id)]}
)
calendar = company.resource_calendar_id
shutdown_start = datetime.combine(today + timedelta(days=10), time.min)
if not env["resource.calendar.leaves"].search([("name", "=", "Plant shutdown"), ("calendar_id", "=", calendar.id)]):
    env["resource.calendar.leaves"].create(
        {
            "name": "Plant shutdown",
            "calendar_id": calendar.id,
            "date_from": shutdown_start,
            "date_to": shutdown_start + timedelta(days=3, hours=23),
        }
    )
Rule = env["mro.prescriptive.rule"]
if not Rule.search([("name", "=", "Replace before failure")]):
    Rule.create(
        {
            "name": "Replace before failure",
            "condition": "rul_below",
            "rul_days": 30,
            "maintenance_team_id": team.id,
            "maintenance_type": "preventive",
            "priority": "2",
            "duration": 3.0,
            "instructions": "<p>Replace the worn part from the reserved kit; check alignment and lubrication.</p>",
            "cooldown_hours": 24,
        }
    )
    Rule.create(
        {
            "name": "Critical health",
            "condition": "health_state",
            "health_state": "critical",
            "maintenance_team_id": team.id,
            "maintenance_type": "corrective",
            "priority": "3",
            "duration": 2.0,
            "notify": True,
        }
    )

# ---------------------------------------------------------------- vendors and spare parts
VENDORS = {
    # name: (quoted delay, actual lead-time mean, actual std): one unreliable vendor
    "Nordic Bearings": (5, 5.5, 1.0),
    "SealTech": (10, 14.0, 6.0),
    "Belts & Drives": (4, 4.0, 1.0),
    "CompAir Parts": (15, 16.0, 3.0),
    "Local Supply": (2, 2.5, 0.8),
}
PARTS = {
    # default code: (name, vendor, price, stock)
    "BRG-6310": ("Bearing 6310-2RS", "Nordic Bearings", 85.0, 2),
    "BRG-6205": ("Bearing 6205-2RS", "Nordic Bearings", 22.0, 6),
    "SEAL-M40": ("Mechanical seal 40 mm", "SealTech", 310.0, 0),
    "IMP-150": ("Impeller 150 mm", "SealTech", 640.0, 0),
    "BELT-SPA": ("V-belt SPA 1250", "Belts & Drives", 18.0, 4),
    "BELT-CONV": ("Conveyor belt 800 mm", "Belts & Drives", 420.0, 0),
    "VALVE-KIT": ("Compressor valve kit", "CompAir Parts", 380.0, 0),
    "FILT-AIR": ("Air intake filter", "CompAir Parts", 45.0, 2),
    "ROLL-89": ("Conveyor roller 89 mm", "Local Supply", 35.0, 8),
    "BRUSH-M": ("Motor terminal kit", "Local Supply", 12.0, 5),
}
vendors = {}
for name in VENDORS:
    vendors[name] = env["res.partner"].search([("name", "=", name)], limit=1) or env["res.partner"].create(
        {"name": name, "is_company": True, "supplier_rank": 1}
    )
products = {}
for code, (name, vendor, price, _stock) in PARTS.items():
    product = env["product.product"].search([("default_code", "=", code)], limit=1)
    if not product:
        product = env["product.product"].create(
            {
                "name": name,
                "default_code": code,
                "type": "consu",
                "is_storable": True,
                "standard_price": price,
                "supplier_taxes_id": [Command.clear()],
                "seller_ids": [
                    Command.create({"partner_id": vendors[vendor].id, "price": price, "delay": VENDORS[vendor][0]})
                ],
            }
        )
    products[code] = product

# The unreliable vendor agreed to rush an order: 4 days instead of its quoted 10, for 30% more. The planner
# uses it for a late need of a class A or B machine (README, "Earlier warnings").
EXPEDITE = {"SealTech": (4.0, 30.0)}
for code, (_name, vendor, _price, _stock) in PARTS.items():
    if vendor in EXPEDITE:
        sellers = products[code].seller_ids.filtered(
            lambda s, v=vendors[vendor]: s.partner_id == v and not s.mro_expedite_delay
        )
        sellers.write({"mro_expedite_delay": EXPEDITE[vendor][0], "mro_expedite_premium": EXPEDITE[vendor][1]})

# A year of purchase history per part: orders confirmed in the past, received after the vendor's real
# lead time (normal around its mean, at least half a day), so that lead-time statistics are learned from receipts.
if not env["purchase.order"].search_count([("origin", "=", "Demo history")]):
    for code, (_name, vendor, _price, _stock) in PARTS.items():
        mean, std = VENDORS[vendor][1], VENDORS[vendor][2]
        for k in range(rng.randint(4, 7)):
            ordered = now - timedelta(days=360 - 55 * k - rng.randint(0, 20))
            lead = max(0.5, rng.gauss(mean, std))
            order = env["purchase.order"].create(
                {
                    "partner_id": vendors[vendor].id,
                    "origin": "Demo history",
                    "order_line": [Command.create({"product_id": products[code].id, "product_qty": 2})],
                }
            )
            order.button_confirm()
            order.write({"date_approve": ordered, "date_order": ordered})
            order.order_line.date_planned = ordered + timedelta(days=VENDORS[vendor][0])
            picking = order.picking_ids
            picking.move_ids.quantity = 2
            picking.button_validate()
            received = ordered + timedelta(days=lead)
            picking.date_done = received
            # The history happened in the past: the RFQ was drafted a day or two before it was approved, the
            # goods moved when they were received (Purchase's "lead time to purchase" and the stock history
            # then read as a real year, not as orders approved before they were created).
            env.cr.execute(
                "UPDATE purchase_order SET create_date = %s WHERE id = %s",
                (ordered - timedelta(hours=rng.randint(4, 60)), order.id),
            )
            env.cr.execute("UPDATE stock_move SET date = %s WHERE picking_id = %s", (received, picking.id))
            env.cr.execute("UPDATE stock_move_line SET date = %s WHERE picking_id = %s", (received, picking.id))
    env.invalidate_all()  # after the raw date updates above
    # Consumption over the year leaves the stock listed above.
    stock = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).lot_stock_id
    for code, (_name, _vendor, _price, keep) in PARTS.items():
        env["stock.quant"].with_context(inventory_mode=True).create(
            {"product_id": products[code].id, "location_id": stock.id, "inventory_quantity": keep}
        ).action_apply_inventory()
    env["mro.lead.time"]._learn(company)

# ---------------------------------------------------------------- equipment, sensors, parts lists
gateway = env.ref("mro_sensor_bridge.demo_gateway_line1")
models = {
    "pump": env.ref("mro_predictive.asset_model_pump"),
    "motor": env.ref("mro_predictive.asset_model_motor"),
    "fan": env.ref("mro_predictive.asset_model_fan"),
    "compressor": env.ref("mro_predictive.asset_model_compressor"),
    "conveyor": env.ref("mro_predictive.asset_model_conveyor"),
}
BOM = {
    "pump": [("BRG-6310", 2, True), ("SEAL-M40", 1, True), ("IMP-150", 1, False)],
    "motor": [("BRG-6205", 2, True), ("BRUSH-M", 1, False)],
    "fan": [("BRG-6205", 2, True), ("BELT-SPA", 3, False)],
    "compressor": [("VALVE-KIT", 1, True), ("FILT-AIR", 1, False), ("BRG-6310", 1, True)],
    "conveyor": [("BELT-CONV", 1, True), ("ROLL-89", 4, False)],
}
PROTOCOL = {"pump": "modbus", "motor": "modbus", "compressor": "opcua", "fan": "mqtt", "conveyor": "mqtt"}
PLANT = [
    # serial (sensor prefix), name, kind, criticality, location
    ("P102", "Process water pump P-102", "pump", "A", "Utility building"),
    ("P103", "Boiler feed pump P-103", "pump", "A", "Boiler house"),
    ("P104", "Cooling tower pump P-104", "pump", "B", "Cooling tower"),
    ("P105", "Transfer pump P-105", "pump", "B", "Tank farm"),
    ("P106", "Sump pump P-106", "pump", "C", "Basement"),
    ("M202", "Mixer motor M-202", "motor", "A", "Line 1"),
    ("M203", "Extruder motor M-203", "motor", "A", "Line 2"),
    ("M204", "Pump motor M-204", "motor", "B", "Utility building"),
    ("M205", "Crusher motor M-205", "motor", "B", "Line 2"),
    ("M206", "Agitator motor M-206", "motor", "C", "Tank farm"),
    ("F302", "Supply fan F-302", "fan", "B", "Paint shop"),
    ("F303", "Cooling fan F-303", "fan", "B", "Line 1"),
    ("F304", "Dust extraction fan F-304", "fan", "A", "Line 2"),
    ("F305", "Roof fan F-305", "fan", "C", "Warehouse"),
    ("C401", "Air compressor C-401", "compressor", "A", "Compressor room"),
    ("C402", "Air compressor C-402", "compressor", "B", "Compressor room"),
    ("C403", "Refrigeration compressor C-403", "compressor", "B", "Cold store"),
    ("CV501", "Infeed conveyor CV-501", "conveyor", "B", "Line 1"),
    ("CV502", "Packing conveyor CV-502", "conveyor", "B", "Line 2"),
    ("CV503", "Dispatch conveyor CV-503", "conveyor", "C", "Warehouse"),
]
Equipment = env["maintenance.equipment"]
register = 100  # after the registers of the sensor demo (plc1 0-99)
for serial, name, kind, criticality, location in PLANT:
    equipment = Equipment.search([("serial_no", "=", serial)], limit=1)
    if not equipment:
        equipment = Equipment.create(
            {
                "name": name,
                "serial_no": serial,
                "location": location,
                "mro_criticality": criticality,
                "maintenance_team_id": team.id,
                "technician_user_id": admin.id,
                "effective_date": today - timedelta(days=rng.randint(400, 2000)),
                "mro_asset_model_id": models[kind].id,
            }
        )
        models[kind]._apply_to(equipment)
        env["mro.equipment.part"].create(
            [
                {"equipment_id": equipment.id, "product_id": products[c].id, "quantity": q, "critical": crit}
                for c, q, crit in BOM[kind]
            ]
        )
    for sensor in equipment.mro_sensor_ids.sorted("id"):
        protocol = PROTOCOL[kind]
        values = {"gateway_id": gateway.id, "protocol": protocol, "max_silence": 60.0, "poll_interval": 1.0}
        if protocol == "modbus":
            values.update(
                source_device="plc1", source_address=str(register), data_type="float32", byte_order="ABCD",
                modbus_register_type="holding", modbus_address_base="0",
            )  # fmt: skip
            register += 2
        elif protocol == "opcua":
            values.update(source_device="opc1", source_address=f"ns=2;s={sensor.code}")
        else:
            values.update(
                source_device="broker", source_address=f"plant/{sensor.code}", mqtt_value_path="value",
                mqtt_ts_path="ts",
            )  # fmt: skip
        sensor.write(values)

# Five months of timed work (Start / Pause / Resume / Done on requests), so that the wrench-time KPI shows the
# trend a JIT programme aims at: less waiting for parts month after month.
if not env["mro.work.interval"].search_count([]):
    done_stage = env["maintenance.stage"].search([("done", "=", True)], order="sequence", limit=1)
    machines = Equipment.search([("serial_no", "in", [row[0] for row in PLANT])])
    Interval = env["mro.work.interval"]
    for months_ago in range(5, 0, -1):
        parts_wait = 0.6 * months_ago  # hours waited for parts per job: 3.0 five months ago, 0.6 last month
        for job in range(8):
            day = (today.replace(day=1) - timedelta(days=30 * months_ago)) + timedelta(days=2 + 3 * job)
            start = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
            machine = machines[rng.randrange(len(machines))]
            request = env["maintenance.request"].create(
                {
                    "name": f"{rng.choice(['Replace bearing', 'Align coupling', 'Change belt', 'Inspect seal'])}: "
                    f"{machine.name}",
                    "equipment_id": machine.id,
                    "maintenance_type": rng.choice(["preventive", "corrective"]),
                    "user_id": admin.id,
                    "schedule_date": start,
                    "request_date": day,
                    "stage_id": done_stage.id,
                    "close_date": day,
                }
            )
            work = rng.uniform(2.0, 4.0)
            wait = max(0.0, rng.gauss(parts_wait, 0.3))
            steps = [("work", None, work / 2), ("pause", "parts", wait), ("work", None, work / 2)]
            if rng.random() < 0.3:
                steps.insert(1, ("pause", "travel", rng.uniform(0.2, 0.5)))
            moment = start
            for kind, reason, hours in steps:
                Interval.create(
                    {"request_id": request.id, "user_id": admin.id, "kind": kind, "pause_reason": reason or False,
                     "start": moment, "stop": moment + timedelta(hours=hours)}
                )  # fmt: skip
                moment += timedelta(hours=hours)
    env["mro.jit.kpi"]._refresh()

# The demo runs its loop in minutes: analysis and planning every minute (15 minutes and an hour otherwise).
for xmlid in ("mro_predictive.ir_cron_analyze_health", "mro_jit_procurement.ir_cron_mro_jit_plan"):
    env.ref(xmlid).write({"interval_number": 1, "interval_type": "minutes"})

env.cr.commit()
tags = gateway.get_bridge_config()
plant = {"gateway": gateway.code, "sensors": tags["sensors"]}
out = os.environ.get("MRO_DEMO_OUT")
if out:
    # What the simulator and the bridge need: the plant's tags, and the gateway's credentials (a new API
    # key unless the file already holds one that still works).
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plant.json").write_text(json.dumps(plant, indent=1))
    credentials = out / "credentials.json"
    known = json.loads(credentials.read_text()) if credentials.exists() else {}
    user = gateway.user_id
    valid = bool(known.get("api_key")) and user and user.login == known.get("login")
    if valid:
        valid = bool(env["res.users.apikeys"]._check_credentials(scope="rpc", key=known["api_key"]))
    if not valid:
        key = gateway._rotate_bridge_key()  # the previous key, if any, stops working
        known = {"login": gateway.user_id.login, "api_key": key}
        env.cr.commit()
    known.update(url=os.environ.get("MRO_ODOO_URL", "http://localhost:8069"), database=env.cr.dbname)
    write_secret(credentials, json.dumps(known, indent=1))
    # The bridge's file without tags: `mro-bridge pull-config` fills them from the gateway record.
    sim_host = os.environ.get("MRO_SIM_HOST", "127.0.0.1")
    devices = sorted({(t["protocol"], t["device"]) for t in tags["sensors"] if t["protocol"] != "manual"})
    lines = [
        "# The demo bridge (written by scripts/demo_plant.py); `mro-bridge pull-config` adds the tags.",
        "[odoo]",
        f"url = {json.dumps(known['url'])}",
        # docker compose: plain http between containers of one private network (the bridge refuses plain http
        # to any other host than this machine unless told).
        *(["allow_insecure_http = true"] if _plain_http_elsewhere(known["url"]) else []),
        f"database = {json.dumps(known['database'])}",
        f"user = {json.dumps(known['login'])}",
        f"api_key = {json.dumps(known['api_key'])}",
        f"gateway = {json.dumps(gateway.code)}",
        "[spool]",
        f"path = {json.dumps(os.environ.get('MRO_DEMO_SPOOL', str(out.resolve() / 'spool.db')))}",
        "[batch]",
        "size = 5000",
        "[http]",
        f"listen = {json.dumps(os.environ.get('MRO_BRIDGE_LISTEN', '127.0.0.1:9108'))}",
        "[log]",
        'format = "text"',
    ]
    for protocol, device in devices:
        lines += [f"[[{protocol}]]", f"name = {json.dumps(device)}"]
        if protocol == "modbus":
            lines += [f"host = {json.dumps(sim_host)}", f"port = {int(os.environ.get('MRO_SIM_MODBUS_PORT', 5020))}"]
        elif protocol == "opcua":
            port = int(os.environ.get("MRO_SIM_OPCUA_PORT", 4840))
            lines += [f"url = {json.dumps(f'opc.tcp://{sim_host}:{port}/')}"]
        else:
            lines += [
                f"host = {json.dumps(os.environ.get('MRO_MQTT_HOST', '127.0.0.1'))}",
                f"port = {int(os.environ.get('MRO_MQTT_PORT', 1883))}",
                f"client_id = {json.dumps(f'mro-demo-bridge-{device}')}",
            ]
            if os.environ.get("MRO_MQTT_USERNAME"):
                lines += [
                    f"username = {json.dumps(os.environ['MRO_MQTT_USERNAME'])}",
                    f"password_env = {json.dumps(os.environ.get('MRO_MQTT_PASSWORD_ENV', 'MRO_MQTT_PASSWORD'))}",
                ]
    write_secret(out / "bridge.toml", "\n".join(lines) + "\n")
print("DEMO_PLANT " + json.dumps(plant), flush=True)
