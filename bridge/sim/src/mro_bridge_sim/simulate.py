"""``mro-bridge-sim`` (or ``mro-bridge simulate``): a small plant whose machines wear out, served over Modbus
TCP, OPC-UA and MQTT.

Wear model. Each asset (pump, motor, fan, compressor, gearbox, conveyor) has a vibration velocity (mm/s RMS)
that, after a random onset, grows exponentially until the machine fails (11 mm/s); it is then repaired (24
simulated hours) and a new wear cycle starts. Bearing temperature and motor current rise with the vibration
(and acceleration, pressure, speed and flow follow it too, for plants that have those sensors); every value
carries noise. The first asset starts wearing within 12 simulated hours and passes its alarm limit 80-150
hours later, so at ``--speedup 3600`` it is visibly degrading within two or three minutes.

Time. The plant runs ``speedup`` times faster than the clock — simulated hours = ``start_hours`` + speedup ×
(real seconds since start) / 3600 — but every value is stamped with the real (UTC) time at which it is
served: Odoo sees months of wear compressed into minutes, with timestamps that are never in the future.
``--backfill-days N`` adds the N days before the start as history at the normal pace of time (the assets
are healthy then: wear only begins at the live start), published over MQTT with past timestamps.

Layout. By default every asset is served on all three protocols at once:

* Modbus TCP, unit 1: float32 ABCD holding registers; asset *i* (from 0) at 100 + 10·i (vibration),
  +2 (temperature), +4 (current);
* OPC-UA: ``ns=2;s=<asset>.Vibration|Temperature|Current`` under Objects/Plant/<asset>, with source
  timestamps; optionally only through Basic256Sha256 Sign / SignAndEncrypt endpoints with a certificate the
  simulator makes (it accepts any client certificate);
* MQTT (QoS 1): ``<topic prefix>/<asset>/telemetry`` with ``{"ts": ISO 8601, "data": {"vibration": ...,
  "temperature": ..., "current": ...}}``.

``--plant FILE`` serves instead the sensors listed in a JSON file as Odoo's ``get_bridge_config()`` returns
them (``{"sensors": [{"code", "equipment", "measure_kind", "protocol", "address", "data_type", ...}]}``):
each sensor on its own protocol and address, with its data type, byte order and scale, so a bridge
configured from Odoo reads the simulator unchanged.

``--write-config FILE`` writes the bridge's source tables for the plant (by default each asset read through
one protocol, round robin, so every sensor code has one source); ``--sensors-json FILE`` (``-`` for stdout)
writes the sensor list with Odoo's field names (code, measure kind, unit, limits, protocol, address).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import json
import logging
import math
import os
import random
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mro_bridge.config import to_toml
from mro_bridge.decode import INTEGER_TYPES, RegisterField, encode_raw, wire_address

_log = logging.getLogger("mro_bridge_sim")

#: Odoo measure kind -> (sensor code suffix, unit, OPC-UA name, JSON key)
MEASURES = {
    "vibration_velocity": ("VIB", "mm/s", "Vibration", "vibration"),
    "temperature": ("TEMP", "°C", "Temperature", "temperature"),
    "current": ("CUR", "A", "Current", "current"),
    "vibration_acceleration": ("ACC", "g", "Acceleration", "acceleration"),
    "pressure": ("PRES", "bar", "Pressure", "pressure"),
    "speed": ("RPM", "rpm", "Speed", "speed"),
    "flow": ("FLOW", "m³/h", "Flow", "flow"),
    "custom": ("VAL", "", "Value", "value"),
}
DEFAULT_MEASURES = ("vibration_velocity", "temperature", "current")
#: machine kind -> (asset name prefix, healthy vibration mm/s, temperature °C, current A)
MACHINES = {
    "pump": ("P", 2.0, 45.0, 18.0),
    "motor": ("M", 1.6, 55.0, 32.0),
    "fan": ("F", 2.2, 38.0, 11.0),
    "compressor": ("C", 2.1, 70.0, 45.0),
    "gearbox": ("G", 1.8, 60.0, 25.0),
    "conveyor": ("CV", 2.3, 50.0, 15.0),
}
VIBRATION_WARNING, VIBRATION_ALARM, VIBRATION_FAILURE = 4.5, 7.1, 11.0  # mm/s (ISO 10816-3 zone boundaries)
REPAIR_HOURS = 24.0
MODBUS_BASE, MODBUS_STRIDE = 100, 10
OPCUA_NAMESPACE = "urn:mro-bridge:simulator:plant"
PROTOCOLS = ("modbus", "opcua", "mqtt")


# -- the wear model ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cycle:
    """One wear cycle of an asset, in simulated hours: healthy from ``start`` to ``onset``, vibration growing as
    exp(rate·(t − onset)) until it reaches the failure level at ``failure``, repaired until ``end``."""

    start: float
    onset: float
    rate: float
    failure: float

    @property
    def end(self) -> float:
        return self.failure + REPAIR_HOURS


@dataclass
class Asset:
    """One machine. Its wear cycles are drawn lazily from its own seeded generator, so its expected values are
    a pure function of the simulated time; before hour 0 it is healthy."""

    index: int
    kind: str
    seed: int
    name: str = ""
    cycles: list[Cycle] = field(default_factory=list)
    #: the demo's asset: it starts wearing within 12 simulated hours and reaches its alarm 80-150 hours later
    first: bool = False

    def __post_init__(self):
        letter, self.vibration, self.temperature, self.current = MACHINES[self.kind]
        self.name = self.name or f"{letter}-{101 + self.index}"
        self._rng = random.Random(f"{self.seed}/{self.index}")

    def _next_cycle(self) -> Cycle:
        start = self.cycles[-1].end if self.cycles else 0.0
        first_demo = not self.cycles and self.first
        onset = start + (self._rng.uniform(2, 12) if first_demo else self._rng.uniform(150, 1500))
        to_alarm = self._rng.uniform(80, 150) if first_demo else self._rng.uniform(150, 700)
        rate = math.log(VIBRATION_ALARM / self.vibration) / to_alarm
        failure = onset + math.log(VIBRATION_FAILURE / self.vibration) / rate
        return Cycle(start, onset, rate, failure)

    def cycle(self, hours: float) -> Cycle:
        """The wear cycle the asset is in at ``hours`` (simulated)."""
        while not self.cycles or self.cycles[-1].end <= hours:
            self.cycles.append(self._next_cycle())
        return self.cycles[max(0, bisect.bisect_right([c.start for c in self.cycles], hours) - 1)]

    def expected(self, hours: float) -> dict[str, float]:
        """Noise-free value of every measure kind at ``hours`` (simulated): vibration velocity mm/s,
        temperature °C, current A, acceleration g, pressure bar, speed (rpm; a conveyor's belt speed in m/s),
        flow m³/h, custom."""
        cycle = self.cycle(hours)
        wear = 1.0
        if cycle.onset <= hours < cycle.failure:
            wear = math.exp(cycle.rate * (hours - cycle.onset))
        vibration = self.vibration * wear
        excess = vibration - self.vibration
        return {
            "vibration_velocity": vibration,
            "temperature": self.temperature + 3.5 * excess + 2.0 * math.sin(2 * math.pi * (hours % 24) / 24),
            "current": self.current * (1 + 0.025 * excess),
            "vibration_acceleration": 0.02 * vibration,
            "pressure": 6.0 * (1 - 0.02 * excess),
            "speed": (1.6 if self.kind == "conveyor" else 1480.0) * (1 - 0.002 * excess),
            "flow": 120.0 * (1 - 0.02 * excess),
            "custom": 50.0 + 5.0 * excess,
        }

    def sample(self, hours: float, rng: random.Random) -> dict[str, float]:
        """:meth:`expected` plus measurement noise."""
        expected = self.expected(hours)
        values = {k: v * (1 + rng.gauss(0, 0.01)) for k, v in expected.items()}
        values["vibration_velocity"] = expected["vibration_velocity"] * (1 + rng.gauss(0, 0.04))
        values["temperature"] = expected["temperature"] + rng.gauss(0, 0.3)
        return {k: round(max(0.0, v), 4) for k, v in values.items()}

    def limits(self, measure: str) -> tuple[float, float]:
        """(warning, alarm) limits of a measure kind (0, 0 for those that drop as the machine wears)."""
        if measure == "vibration_velocity":
            return VIBRATION_WARNING, VIBRATION_ALARM
        if measure == "vibration_acceleration":
            return round(0.02 * VIBRATION_WARNING, 3), round(0.02 * VIBRATION_ALARM, 3)
        if measure == "temperature":
            return self.temperature + 15, self.temperature + 25
        if measure == "current":
            return round(self.current * 1.1, 2), round(self.current * 1.2, 2)
        return 0.0, 0.0


def machine_kind(name: str) -> str:
    """The machine kind a name suggests ("Cooling fan 3" -> fan); pump when nothing matches."""
    lowered = name.lower()
    return next((kind for kind in MACHINES if kind in lowered), "pump")


class Plant:
    """The assets and the clock: ``hours(now)`` maps real time to simulated hours."""

    def __init__(
        self,
        assets: int | list[tuple[str, str]] = 5,
        seed: int = 1,
        speedup: float = 3600.0,
        start_hours: float = 0.0,
        first: str = "",
    ):
        """``assets``: how many (named and typed round robin) or a list of (name, machine kind); ``first``: the
        name of the asset that wears first (default: the first asset); raises ValueError for an unknown one."""
        if isinstance(assets, int):
            kinds = list(MACHINES)
            self.assets = [Asset(i, kinds[i % len(kinds)], seed) for i in range(assets)]
        else:
            self.assets = [Asset(i, kind, seed, name) for i, (name, kind) in enumerate(assets)]
        # an asset is named by its whole name, or by the part before "/" (Odoo's "name/serial number")
        matches = [a for a in self.assets if first in (a.name, a.name.split("/")[0])] if first else self.assets[:1]
        if len(matches) != 1:
            names = ", ".join(a.name for a in self.assets)
            raise ValueError(f"--first-asset {first!r} names {len(matches)} of the plant's assets ({names}), not one")
        self.first = matches[0]
        self.first.first = True
        self.speedup = speedup
        self.start_hours = start_hours
        self.started = time.time()
        self._noise = random.Random(seed)

    def hours(self, now: float | None = None) -> float:
        """Simulated hours at real UTC epoch time ``now`` (default: now); times before the start run at the
        normal pace (the backfilled history)."""
        now = time.time() if now is None else now
        elapsed = now - self.started
        return self.start_hours + (self.speedup if elapsed > 0 else 1.0) * elapsed / 3600.0

    def fail_in(self, hours: float) -> None:
        """Start the live plant ``hours`` simulated hours before the first asset's first failure (its wear
        then lies partly before the start: in the backfilled history, at the normal pace of time)."""
        self.start_hours = max(0.0, self.first.cycle(0.0).failure - hours)

    def sample(self, now: float) -> dict[str, dict[str, float]]:
        """asset name -> measure kind -> noisy value, at real time ``now``."""
        hours = self.hours(now)
        return {a.name: a.sample(hours, self._noise) for a in self.assets}


# -- what is served where ----------------------------------------------------------------------------------


@dataclass
class SimSensor:
    """One sensor as served: its code, the asset and measure it shows, and its address on its protocol."""

    code: str
    asset: Asset
    measure: str
    protocol: str
    device: str = ""
    unit_id: int = 1
    register: RegisterField | None = None  # Modbus
    node_id: str = ""  # OPC-UA
    topic: str = ""  # MQTT
    value_path: str = ""
    ts_path: str = ""
    name: str = ""

    @property
    def address(self) -> str:
        if self.protocol == "modbus":
            return str(self.register.address)
        return self.node_id if self.protocol == "opcua" else self.topic


def default_layout(plant: Plant, code_prefix: str = "SIM-", topic_prefix: str = "mro-sim") -> list[SimSensor]:
    """Every asset's vibration, temperature and current on all three protocols (see the module doc)."""
    out = []
    for asset in plant.assets:
        for offset, measure in zip((0, 2, 4), DEFAULT_MEASURES, strict=True):
            suffix, _unit, title, key = MEASURES[measure]
            common = {"code": f"{code_prefix}{asset.name}-{suffix}", "asset": asset, "measure": measure}
            common["name"] = f"{asset.name} {title.lower()}"
            address = MODBUS_BASE + MODBUS_STRIDE * asset.index + offset
            out += [
                SimSensor(**common, protocol="modbus", device="sim-modbus", register=RegisterField("holding", address)),
                SimSensor(**common, protocol="opcua", device="sim-opcua", node_id=f"ns=2;s={asset.name}.{title}"),
                SimSensor(
                    **common,
                    protocol="mqtt",
                    device="sim-mqtt",
                    topic=f"{topic_prefix}/{asset.name}/telemetry",
                    value_path=f"data.{key}",
                    ts_path="ts",
                ),
            ]
    return out


def plant_layout(
    document: dict | list, seed: int = 1, speedup: float = 3600.0, start_hours: float = 0.0, first: str = ""
) -> tuple[Plant, list[SimSensor]]:
    """The plant and sensors of a ``get_bridge_config()``-style JSON document (sensors with protocol
    ``manual`` or an unknown measure kind are left out); raises ValueError for unusable entries."""
    entries = document.get("sensors", []) if isinstance(document, dict) else document
    assets: dict[str, str] = {}
    for entry in entries:
        name = str(entry.get("equipment") or entry["code"])
        assets.setdefault(name, machine_kind(name))
    plant = Plant(list(assets.items()), seed, speedup, start_hours, first)
    by_name = {a.name: a for a in plant.assets}
    out = []
    for i, entry in enumerate(entries):
        protocol, measure = entry.get("protocol"), entry.get("measure_kind", "custom")
        if protocol not in PROTOCOLS or measure not in MEASURES:
            continue
        address = str(entry.get("address", "")).strip()
        if not address:
            raise ValueError(f"sensors[{i}] ({entry.get('code')}): no address")
        sensor = SimSensor(
            code=entry["code"],
            asset=by_name[str(entry.get("equipment") or entry["code"])],
            measure=measure,
            protocol=protocol,
            device=entry.get("device") or f"sim-{protocol}",
            name=entry.get("name", ""),
        )
        if protocol == "modbus":
            bit = entry.get("bit", -1)
            sensor.unit_id = int(entry.get("modbus_unit_id") or 1)
            sensor.register = RegisterField(
                entry.get("register_type") or "holding",
                wire_address(int(address), int(entry.get("address_base") or 0)),
                entry.get("data_type") or "float32",
                entry.get("byte_order") or "ABCD",
                None if bit is None or bit < 0 else bit,
                entry.get("scale") or 1.0,
                entry.get("offset") or 0.0,
            )
        elif protocol == "opcua":
            sensor.node_id = address
        else:
            sensor.topic, sensor.value_path, sensor.ts_path = (
                address,
                entry.get("value_path", ""),
                entry.get("ts_path", ""),
            )
        out.append(sensor)
    return plant, out


def chosen(specs: list[SimSensor], protocols: list[str]) -> list[SimSensor]:
    """The sensors a bridge should read: of a code served on several protocols, asset *i* is read through
    ``protocols[i % n]``; sensors on a protocol not in ``protocols`` are left out."""
    by_code: dict[str, list[SimSensor]] = {}
    for spec in specs:
        if spec.protocol in protocols:
            by_code.setdefault(spec.code, []).append(spec)
    out = []
    for variants in by_code.values():
        want = protocols[variants[0].asset.index % len(protocols)]
        out.append(next((s for s in variants if s.protocol == want), variants[0]))
    return out


@dataclass
class Endpoints:
    """Where the bridge finds the simulator (as written into the configuration)."""

    host: str = "127.0.0.1"
    modbus_port: int | None = 5020
    opcua_port: int | None = 4840
    opcua_secure: bool = False
    opcua_server_certificate: str = ""
    bridge_pki: str = ""
    mqtt_host: str | None = "127.0.0.1"
    mqtt_port: int = 1883

    @property
    def protocols(self) -> list[str]:
        enabled = {"modbus": self.modbus_port, "opcua": self.opcua_port, "mqtt": self.mqtt_host}
        return [name for name in PROTOCOLS if enabled[name]]


def sensor_list(specs: list[SimSensor]) -> list[dict]:
    """The sensors with Odoo's mro.sensor field names, to create them in Odoo."""
    out = []
    for s in specs:
        _suffix, unit, title, _key = MEASURES[s.measure]
        warning, alarm = s.asset.limits(s.measure)
        register = s.register or RegisterField("holding", 0)
        out.append(
            {
                "code": s.code,
                "name": s.name or f"{s.asset.name} {title.lower()}",
                "equipment": s.asset.name,
                "machine_kind": s.asset.kind,
                "measure_kind": s.measure,
                "unit": unit,
                "warning_limit": warning,
                "alarm_limit": alarm,
                "protocol": s.protocol,
                "source_device": s.device,
                "source_address": s.address,
                "modbus_unit_id": s.unit_id,
                "modbus_register_type": register.table,
                "data_type": register.data_type,
                "byte_order": register.byte_order,
                "mqtt_value_path": s.value_path,
                "mqtt_ts_path": s.ts_path,
            }
        )
    return out


def bridge_config(specs: list[SimSensor], endpoints: Endpoints) -> str:
    """The bridge's ``[[modbus]]``/``[[opcua]]``/``[[mqtt]]`` tables reading ``specs``, as TOML text."""
    devices: dict[tuple[str, str, int], list[SimSensor]] = {}
    for spec in specs:
        devices.setdefault((spec.protocol, spec.device, spec.unit_id), []).append(spec)
    tables: dict[str, list[dict[str, Any]]] = {}
    for (protocol, device, unit_id), group in devices.items():
        if protocol == "modbus":
            name = device if unit_id == 1 else f"{device}-unit{unit_id}"
            table = {"name": name, "host": endpoints.host, "port": endpoints.modbus_port, "unit_id": unit_id}
            tags = []
            for s in group:
                r = s.register
                tag = {"code": s.code, "address": r.address}
                if r.table != "holding":
                    tag["register_type"] = r.table
                if r.table in ("holding", "input"):
                    tag.update(data_type=r.data_type, byte_order=r.byte_order)
                if r.bit is not None:
                    tag["bit"] = r.bit
                if (r.scale, r.offset) != (1.0, 0.0):
                    tag.update(scale=r.scale, offset=r.offset)
                tags.append(tag)
        elif protocol == "opcua":
            table = {"name": device, "url": f"opc.tcp://{endpoints.host}:{endpoints.opcua_port}/"}
            if endpoints.opcua_secure:
                pki = Path(endpoints.bridge_pki)
                table.update(
                    security_policy="Basic256Sha256",
                    security_mode="SignAndEncrypt",
                    certificate=str(pki / "bridge-cert.der"),
                    private_key=str(pki / "bridge-key.pem"),
                    trusted_server_certificates=[endpoints.opcua_server_certificate],
                )
            tags = [{"code": s.code, "node_id": s.node_id} for s in group]
        else:
            client_id = re.sub(r"[^A-Za-z0-9_-]", "-", f"mro-bridge-{device}-{group[0].code.split('-')[0]}".lower())
            table = {"name": device, "host": endpoints.mqtt_host, "port": endpoints.mqtt_port, "client_id": client_id}
            tags = [
                {k: v for k, v in (("code", s.code), ("topic", s.topic), ("value_path", s.value_path),
                                   ("timestamp_path", s.ts_path)) if v != ""}
                for s in group
            ]  # fmt: skip
        tables.setdefault(protocol, []).append({**table, "tags": tags})
    header = (
        "# Sources for the mro-bridge plant simulator (`mro-bridge simulate`), written by --write-config:\n"
        f"# {len({s.asset.name for s in specs})} assets, {len(specs)} sensors.\n\n"
    )
    return header + to_toml(tables)


# -- servers ----------------------------------------------------------------------------------------------


def _registers(spec: SimSensor, value: float) -> list[int] | list[bool]:
    """What to store for ``spec`` showing ``value``."""
    register = spec.register
    if register.table in ("coil", "discrete"):
        return [value > 0.5]
    if register.bit is not None:
        width = {1: "uint16", 2: "uint32", 4: "uint64"}[register.count]
        return encode_raw((1 << register.bit) if value > 0.5 else 0, width, register.byte_order)
    if register.data_type in INTEGER_TYPES:  # clamp to the type, as a real device would saturate
        bits, signed = 16 * register.count, not register.data_type.startswith("u")
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        raw = round((value - register.offset) / register.scale)
        return encode_raw(min(hi, max(lo, raw)), register.data_type, register.byte_order)
    return register.encode(value)


class ModbusServer:
    """pymodbus TCP server: one device per unit id, with blocks spanning the sensors' addresses."""

    WRITE_CODES = {"coil": 5, "discrete": 2, "holding": 16, "input": 4}

    def __init__(self, specs: list[SimSensor], host: str, port: int):
        self.specs, self.host, self.port = specs, host, port
        self.server = None

    async def start(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        devices = []
        for unit in sorted({s.unit_id for s in self.specs}):
            blocks = []
            for table in ("coil", "discrete", "holding", "input"):
                spans = [
                    (s.register.address, s.register.address + s.register.count)
                    for s in self.specs
                    if s.unit_id == unit and s.register.table == table
                ]
                lo, hi = (min(a for a, _ in spans), max(b for _, b in spans)) if spans else (0, 16)
                if table in ("coil", "discrete"):
                    blocks.append([SimData(lo, values=[False] * (hi - lo), datatype=DataType.BITS)])
                else:
                    blocks.append([SimData(lo, count=hi - lo, values=0, datatype=DataType.REGISTERS)])
            devices.append(SimDevice(unit, simdata=tuple(blocks)))
        self.server = ModbusTcpServer(devices, address=(self.host, self.port))
        await self.server.serve_forever(background=True)

    async def update(self, values: dict[str, dict[str, float]], _now: float) -> None:
        for spec in self.specs:
            register = spec.register
            stored = _registers(spec, values[spec.asset.name][spec.measure])
            await self.server.async_setValues(spec.unit_id, self.WRITE_CODES[register.table], register.address, stored)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()


class OpcUaServer:
    """asyncua server: Objects/Plant/<asset>/<variable> doubles with source timestamps."""

    def __init__(self, specs: list[SimSensor], host: str, port: int, secure: bool = False, pki: Path | None = None):
        self.specs, self.host, self.port, self.secure, self.pki = specs, host, port, secure, pki
        self.server = None
        self.variables: list[tuple[SimSensor, Any]] = []
        self.certificate = ""

    async def start(self) -> None:
        from asyncua import Server, ua

        from mro_bridge.sources.opcua import ensure_certificate

        server = Server()
        await server.init()
        server.set_server_name("mro-bridge plant simulator")
        server.set_endpoint(f"opc.tcp://{self.host}:{self.port}/")
        if self.secure:
            cert, key = self.pki / "server-cert.der", self.pki / "server-key.pem"
            uri = ensure_certificate(cert, key, "urn:mro-bridge:simulator", days=3650, server=True)
            await server.set_application_uri(uri)
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            server.set_security_policy(
                [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt, ua.SecurityPolicyType.Basic256Sha256_Sign]
            )
            self.certificate = str(cert.resolve())
        ns = await server.register_namespace(OPCUA_NAMESPACE)
        node_ids = [ua.NodeId.from_string(s.node_id) for s in self.specs]
        while len(await server.get_namespace_array()) <= max((n.NamespaceIndex for n in node_ids), default=0):
            await server.register_namespace(f"{OPCUA_NAMESPACE}:{len(await server.get_namespace_array())}")
        plant_node = await server.nodes.objects.add_folder(ns, "Plant")
        objects: dict[str, Any] = {}
        for spec, node_id in zip(self.specs, node_ids, strict=True):
            if spec.asset.name not in objects:
                objects[spec.asset.name] = await plant_node.add_object(ns, spec.asset.name)
            browse = node_id.Identifier if isinstance(node_id.Identifier, str) else spec.code
            variable = await objects[spec.asset.name].add_variable(
                node_id, browse.rsplit(".", 1)[-1], 0.0, varianttype=ua.VariantType.Double
            )
            self.variables.append((spec, variable))
        await server.start()
        self.server = server

    async def update(self, values: dict[str, dict[str, float]], now: float) -> None:
        from asyncua import ua

        stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        for spec, variable in self.variables:
            variant = ua.Variant(values[spec.asset.name][spec.measure], ua.VariantType.Double)
            await variable.write_value(ua.DataValue(variant, SourceTimestamp=stamp, ServerTimestamp=stamp))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


def _put(document: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        document = document.setdefault(part, {})
    document[parts[-1]] = value


class MqttPublisher:
    """paho client (its own thread, reconnecting on its own): one QoS 1 JSON message per topic and tick, with
    every sensor of the topic at its value path and the time at its timestamp path."""

    def __init__(
        self, specs: list[SimSensor], host: str, port: int, username: str | None = None, password: str | None = None
    ):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.topics: dict[str, list[SimSensor]] = {}
        for spec in specs:
            if "+" in spec.topic or "#" in spec.topic:
                _log.warning("%s: MQTT topic %s is a filter, not a topic: not published", spec.code, spec.topic)
                continue
            same = self.topics.setdefault(spec.topic, [])
            if same and not (spec.value_path and all(s.value_path for s in same)):
                _log.warning("%s: %s already carries a bare value: not published", spec.code, spec.topic)
                continue
            same.append(spec)
        self.client = None

    async def start(self) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"mro-simulator-{random.getrandbits(32):08x}")
        client.max_queued_messages_set(0)  # unbounded: the backfill queues a month at once
        client.max_inflight_messages_set(100)
        if self.username:
            client.username_pw_set(self.username, self.password)

        def on_connect(_client, _userdata, _flags, reason_code, _properties):
            # paho keeps retrying on its own: say why nothing is published (e.g. "Not authorized").
            if reason_code.is_failure:
                _log.error("MQTT broker %s:%d refused the connection: %s", self.host, self.port, reason_code)

        client.on_connect = on_connect
        client.connect_async(self.host, self.port)
        client.loop_start()
        self.client = client

    def payloads(self, values: dict[str, dict[str, float]], now: float) -> list[tuple[str, str]]:
        stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        out = []
        for topic, specs in self.topics.items():
            if not specs[0].value_path:
                out.append((topic, json.dumps(values[specs[0].asset.name][specs[0].measure])))
                continue
            document: dict = {}
            for spec in specs:
                _put(document, spec.value_path, values[spec.asset.name][spec.measure])
                if spec.ts_path:
                    _put(document, spec.ts_path, stamp)
            out.append((topic, json.dumps(document)))
        return out

    async def update(self, values: dict[str, dict[str, float]], now: float) -> None:
        for topic, payload in self.payloads(values, now):
            self.client.publish(topic, payload, qos=1)

    async def backfill(self, plant: Plant, days: float, step: float, delay: float, rate: float = 2000.0) -> None:
        """Publish the ``days`` before the start, one message per topic every ``step`` seconds, after
        ``delay`` seconds (time for the bridge to subscribe), at most ``rate`` messages per second: a broker
        keeps only so many unacknowledged messages per subscriber (Mosquitto: 1,000 by default) and drops the
        rest, so a replay must not outrun the bridge."""
        await asyncio.sleep(delay)
        loop = asyncio.get_running_loop()
        began = loop.time()
        count = 0
        now = plant.started - days * 86400
        while now < plant.started:
            await self.update(plant.sample(now), now)
            count += len(self.topics)
            now += step
            await asyncio.sleep(max(0.0, began + count / rate - loop.time()))
        _log.info("backfill: %d messages covering %g days published", count, days)

    async def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            await asyncio.to_thread(self.client.loop_stop)


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Serve the plant until ``stop`` is set (or SIGINT/SIGTERM, or ``--duration`` elapsed)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not Unix
            loop.add_signal_handler(sig, stop.set)
    if args.plant:
        document = json.loads(Path(args.plant).read_text())
        plant, specs = plant_layout(document, args.seed, args.speedup, args.start_hours, args.first_asset)
    else:
        plant = Plant(args.assets, args.seed, args.speedup, args.start_hours, args.first_asset)
        specs = default_layout(plant, args.code_prefix, args.topic_prefix)
    if args.first_failure_in is not None:
        plant.fail_in(args.first_failure_in)
    pki = Path(args.pki).resolve()
    served = {p: [s for s in specs if s.protocol == p] for p in PROTOCOLS}
    servers: list[Any] = []
    opcua_server = publisher = None
    if args.modbus_port and served["modbus"]:
        servers.append(ModbusServer(served["modbus"], args.listen, args.modbus_port))
    if args.opcua_port and served["opcua"]:
        opcua_server = OpcUaServer(served["opcua"], args.listen, args.opcua_port, args.opcua_secure, pki)
        servers.append(opcua_server)
    if args.mqtt_host and served["mqtt"]:
        password = os.environ.get(args.mqtt_password_env) if args.mqtt_username else None
        publisher = MqttPublisher(served["mqtt"], args.mqtt_host, args.mqtt_port, args.mqtt_username, password)
        servers.append(publisher)
    background: list[asyncio.Task] = []
    try:
        for server in servers:
            await server.start()
        endpoints = Endpoints(
            host=args.public_host or ("127.0.0.1" if args.listen in ("0.0.0.0", "::", "") else args.listen),
            modbus_port=args.modbus_port or None,
            opcua_port=args.opcua_port or None,
            opcua_secure=args.opcua_secure,
            opcua_server_certificate=opcua_server.certificate if opcua_server else "",
            bridge_pki=str(pki / "bridge"),
            mqtt_host=args.mqtt_host or None,
            mqtt_port=args.mqtt_port,
        )
        protocols = [p for p in args.config_protocols.split(",") if p] or endpoints.protocols
        if set(protocols) - set(endpoints.protocols):
            raise SystemExit(f"--config-protocols: {','.join(protocols)} includes a protocol that is not served")
        read = chosen(specs, protocols)
        if args.write_config:
            Path(args.write_config).write_text(bridge_config(read, endpoints))
            _log.info("bridge configuration written to %s", args.write_config)
        if args.sensors_json:
            text = json.dumps(sensor_list(read), indent=2, ensure_ascii=False)
            if args.sensors_json == "-":
                print(text, flush=True)
            else:
                Path(args.sensors_json).write_text(text + "\n")
        if args.backfill_days and publisher is not None:
            background.append(
                asyncio.create_task(
                    publisher.backfill(
                        plant, args.backfill_days, args.backfill_step, args.backfill_delay, args.backfill_rate
                    )
                )
            )
        first = plant.first
        _log.info(
            "serving %d sensors of %d assets at %gx (1 real second = %.2f simulated hours) over %s, from "
            "simulated hour %.1f; %s starts wearing at simulated hour %.1f and fails at %.1f",
            len(specs),
            len(plant.assets),
            args.speedup,
            args.speedup / 3600,
            ", ".join(p for p in PROTOCOLS if served[p] and p in endpoints.protocols),
            plant.start_hours,
            first.name,
            first.cycle(0.0).onset,
            first.cycle(0.0).failure,
        )
        print("simulator ready", flush=True)
        deadline = loop.time() + args.duration if args.duration else None
        next_report = loop.time()
        while not stop.is_set():
            now = time.time()
            values = plant.sample(now)
            for server in servers:
                await server.update(values, now)
            if loop.time() >= next_report:
                next_report += args.report_every
                worst = max(plant.assets, key=lambda a: values[a.name]["vibration_velocity"] / a.vibration)
                _log.info(
                    "simulated day %.1f: %s vibration %.2f mm/s, %.1f °C, %.1f A",
                    plant.hours(now) / 24,
                    worst.name,
                    *(values[worst.name][m] for m in DEFAULT_MEASURES),
                )
            if deadline is not None and loop.time() >= deadline:
                break
            timeout = args.tick if deadline is None else min(args.tick, max(0.0, deadline - loop.time()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout)
    finally:
        for task in background:
            task.cancel()
        for server in reversed(servers):
            try:
                await server.stop()
            except Exception as exc:  # shutting down anyway
                _log.debug("stopping %s: %r", type(server).__name__, exc)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mro-bridge-sim",
        description="Serve a small plant whose machines wear out, over Modbus TCP, OPC-UA and MQTT.",
    )
    p.add_argument("--assets", type=int, default=5, help="number of machines (1-200, default 5)")
    p.add_argument("--plant", metavar="FILE", help="serve the sensors of this JSON file (Odoo's get_bridge_config)")
    p.add_argument("--seed", type=int, default=1, help="random seed: same seed, same wear history")
    p.add_argument("--speedup", type=float, default=3600.0, help="simulated seconds per real second (3600)")
    p.add_argument("--start-hours", type=float, default=0.0, help="simulated hours already elapsed at start")
    p.add_argument("--first-asset", default="", help="name of the asset that wears first (default: the first one)")
    p.add_argument(
        "--first-failure-in",
        type=float,
        metavar="HOURS",
        help="start this many simulated hours before the first asset fails (overrides --start-hours)",
    )
    p.add_argument("--backfill-days", type=float, default=0.0, help="publish this many days of history over MQTT")
    p.add_argument("--backfill-step", type=float, default=600.0, help="seconds between backfilled values (600)")
    p.add_argument("--backfill-delay", type=float, default=15.0, help="seconds to wait before the backfill (15)")
    p.add_argument("--backfill-rate", type=float, default=2000.0, help="backfill messages per second (2000)")
    p.add_argument("--tick", type=float, default=1.0, help="real seconds between value updates (1)")
    p.add_argument("--listen", default="0.0.0.0", help="address the Modbus and OPC-UA servers bind to (0.0.0.0)")
    p.add_argument("--public-host", default="", help="host name the bridge uses for them in --write-config")
    p.add_argument("--modbus-port", type=int, default=5020, help="Modbus TCP port (0: no Modbus)")
    p.add_argument("--opcua-port", type=int, default=4840, help="OPC-UA port (0: no OPC-UA)")
    p.add_argument("--opcua-secure", action="store_true", help="OPC-UA only with Basic256Sha256 Sign/SignAndEncrypt")
    p.add_argument("--pki", default="simulator-pki", help="directory for the OPC-UA server certificate")
    p.add_argument("--mqtt-host", default="127.0.0.1", help="MQTT broker to publish to ('': no MQTT)")
    p.add_argument("--mqtt-port", type=int, default=1883)
    p.add_argument("--mqtt-username", default="", help="MQTT user name (default: none, an anonymous client)")
    p.add_argument(
        "--mqtt-password-env",
        default="MRO_MQTT_PASSWORD",
        metavar="NAME",
        help="environment variable holding the password of --mqtt-username (MRO_MQTT_PASSWORD)",
    )
    p.add_argument("--topic-prefix", default="mro-sim", help="MQTT topics: <prefix>/<asset>/telemetry")
    p.add_argument("--code-prefix", default="SIM-", help="sensor codes: <prefix><asset>-VIB|TEMP|CUR")
    p.add_argument("--write-config", metavar="FILE", help="write the bridge's source tables (TOML) for this plant")
    p.add_argument(
        "--config-protocols", default="", help="protocols to use in --write-config, e.g. 'modbus,mqtt' (all served)"
    )
    p.add_argument("--sensors-json", metavar="FILE", help="write the sensor list as JSON ('-': stdout)")
    p.add_argument(
        "--duration", type=float, default=0.0, help="stop after this many real seconds (0: run until killed)"
    )
    p.add_argument("--report-every", type=float, default=30.0, help="real seconds between progress log lines")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mro-bridge-sim`` and ``mro-bridge simulate`` (``argv`` without the sub-command);
    returns the exit status."""
    args = parser().parse_args(argv)
    problems = []
    if not 1 <= args.assets <= 200:
        problems.append("--assets must be between 1 and 200")
    if min(args.speedup, args.tick, args.report_every, args.backfill_step, args.backfill_rate) <= 0:
        problems.append("--speedup, --tick, --report-every, --backfill-step and --backfill-rate must be positive")
    if not (args.modbus_port or args.opcua_port or args.mqtt_host):
        problems.append("nothing to serve: enable at least one of Modbus, OPC-UA, MQTT")
    if args.mqtt_username and args.mqtt_password_env not in os.environ:
        problems.append(f"--mqtt-username: the environment variable {args.mqtt_password_env} (its password) is not set")
    if problems:
        print("mro-bridge-sim: " + "; ".join(problems), file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for noisy in ("asyncua", "pymodbus"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(serve(args))
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # a port in use, an unusable --plant file
        print(f"mro-bridge-sim: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
