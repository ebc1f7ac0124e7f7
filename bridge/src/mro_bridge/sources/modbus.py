"""Modbus TCP source: polls holding/input registers, coils and discrete inputs with coalesced reads.

Tags are grouped by their poll interval; each group's reads are planned once (:func:`decode.plan_reads`) and
polled on a fixed schedule over one shared connection. Any exception, timeout or Modbus exception response
ends :meth:`ModbusSource.run` with an error so the supervisor reconnects; a value that does not decode (NaN
from a float register, say) is counted and logged but does not drop the connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from mro_bridge.decode import (
    BIT_TABLES,
    BYTE_ORDERS,
    DATA_TYPES,
    DEFAULT_MAX_GAP,
    INTEGER_TYPES,
    MAX_BITS,
    MAX_REGISTERS,
    TABLES,
    BlockDecoder,
    DecodeError,
    ReadRequest,
    RegisterField,
    Span,
    plan_reads,
    wire_address,
)
from mro_bridge.model import ConfigError, Emit, Reading, Source, TagCommon
from mro_bridge.schema import option, read
from mro_bridge.sources._common import Overlapped, TagProblems, next_due, run_all, show_values, tables, unique_codes

#: The value types of a poll whose readings are made in one go (see ModbusSource.poll).
_FLOATS = {float}

_log = logging.getLogger(__name__)


@dataclass
class ModbusDevice:
    """A ``[[modbus]]`` table: one Modbus TCP server (or gateway) and one unit id on it."""

    host: str = option(doc="the server's host name or address")
    name: str | None = option(None, doc="label in logs and /metrics", shown_default='`"host:port"`')
    port: int = option(502, minimum=1, maximum=65535, doc="TCP port")
    unit_id: int = option(1, minimum=0, maximum=255, doc="Modbus device / unit / slave id")
    timeout: float = option(3.0, positive=True, unit="s", doc="seconds per request")
    retries: int = option(
        1, minimum=0, maximum=10, doc="re-sends after a timeout before the connection is declared lost"
    )
    address_base: int = option(
        0, minimum=0, maximum=1, doc="0: addresses as on the wire; 1: as numbered in manuals (1 = wire 0)"
    )
    byte_order: str = option("ABCD", choices=BYTE_ORDERS, doc="the tags' default byte and word order")
    poll_interval: float = option(1.0, positive=True, unit="s", doc="the tags' default seconds between reads")
    max_registers: int = option(
        MAX_REGISTERS, minimum=1, maximum=MAX_REGISTERS, doc="most registers the device returns per request"
    )
    max_bits: int = option(MAX_BITS, minimum=1, maximum=MAX_BITS, doc="most coils / discrete inputs per request")
    max_gap: int = option(
        DEFAULT_MAX_GAP,
        minimum=0,
        maximum=MAX_REGISTERS,
        doc="unused registers (or bits) one request may read to join two tags (0 for devices that refuse holes)",
    )


@dataclass
class ModbusTagOptions(TagCommon):
    """A ``[[modbus.tags]]`` table (made into a :class:`ModbusTag`)."""

    register_type: str = option(
        "holding", choices=TABLES, doc="holding, input, coil or discrete", odoo="modbus_register_type"
    )
    address: int = option(
        0,
        required=True,
        minimum=0,
        doc="register (or coil) number, counted from `address_base`",
        odoo="source_address",
        odoo_note="a register number, sent as text",
    )
    address_base: int = option(
        0, minimum=0, maximum=1, inherited=True, doc="overrides the device's", odoo="modbus_address_base"
    )
    data_type: str = option(
        "float32",
        choices=tuple(DATA_TYPES),
        shown_default='`"float32"` (`"bool"` for coils and discrete inputs)',
        doc="int16 uint16 int32 uint32 int64 uint64 float32 float64, or bool for coils and discrete inputs",
        odoo="data_type",
    )
    byte_order: str = option(
        "ABCD", choices=BYTE_ORDERS, inherited=True, doc="overrides the device's", odoo="byte_order"
    )
    bit: int = option(
        -1,
        minimum=-1,
        maximum=63,
        shown_default="(none)",
        doc="integer types only: the value is this bit (0 = least significant) of the number, 0 or 1 "
        "(-1, as in Odoo: none)",
        odoo="bit_index",
        odoo_unset=(-1,),
        odoo_note="-1 in Odoo: no `bit` (the whole value)",
    )
    scale: float = option(1.0, nonzero=True, doc="value = raw × scale + offset", odoo="scale", odoo_unset=(0,))
    offset: float = option(0.0, doc="added after scaling", odoo="value_offset", wire="offset")
    poll_interval: float = option(
        1.0,
        positive=True,
        unit="s",
        inherited=True,
        doc="overrides the device's",
        odoo="poll_interval",
        odoo_unset=(0,),
    )


class ModbusDeviceError(ConnectionError):
    """The device answered a read with a Modbus exception response (illegal address, busy, ...)."""


@dataclass
class ModbusTag(TagCommon):
    """A Modbus tag: the common settings plus where its value lives (``spec``) and how often it is read."""

    spec: RegisterField = field(default_factory=lambda: RegisterField("holding", 0))
    poll_interval: float = 1.0


@dataclass
class PollGroup:
    """Tags read at the same interval, and the coalesced requests that read them."""

    interval: float
    tags: list[ModbusTag]
    requests: list[ReadRequest]
    #: One per request: its members' values from its response.
    decoders: list[BlockDecoder] = field(init=False)
    #: One per request: its members' sensor codes, in the order its decoder returns their values.
    codes: list[tuple[str, ...]] = field(init=False)

    def __post_init__(self) -> None:
        self.decoders = [
            BlockDecoder(request, [self.tags[index].spec for index in request.members]) for request in self.requests
        ]
        self.codes = [tuple(self.tags[index].code for index in request.members) for request in self.requests]


class ModbusSource(Source):
    """One Modbus TCP server (or gateway) and one unit id on it."""

    kind = "modbus"

    def __init__(self, name: str, settings: ModbusDevice, tags: list[ModbusTag]):
        super().__init__(name, settings)
        if not tags:
            raise ValueError("a Modbus source needs at least one tag")
        self._tags = tags
        by_interval: dict[float, list[ModbusTag]] = {}
        for tag in tags:
            by_interval.setdefault(tag.poll_interval, []).append(tag)
        self.groups = [
            PollGroup(
                interval,
                group,
                plan_reads(
                    [Span(t.spec.table, t.spec.address, t.spec.count) for t in group],
                    max_registers=settings.max_registers,
                    max_bits=settings.max_bits,
                    max_gap=settings.max_gap,
                ),
            )
            for interval, group in sorted(by_interval.items())
        ]
        self.problems = TagProblems(self, _log)

    @property
    def period(self) -> float:
        return self.groups[0].interval

    @property
    def tags(self) -> list[TagCommon]:
        return list(self._tags)

    async def _connect(self, lost: asyncio.Event | None = None) -> AsyncModbusTcpClient:
        def on_connect(connected: bool) -> None:
            if not connected and lost is not None:
                lost.set()

        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            name=self.name,
            timeout=self.timeout,
            retries=self.retries,
            reconnect_delay=0,  # no reconnection behind our back: the supervisor decides
            trace_connect=on_connect,
        )
        if not await client.connect():
            client.close()
            raise ConnectionError(f"cannot connect to Modbus server {self.host}:{self.port} within {self.timeout:g} s")
        return client

    async def run(self, emit: Emit) -> None:
        lost = asyncio.Event()
        client = await self._connect(lost)
        try:
            await run_all(*(self._poll_loop(client, group, emit, lost) for group in self.groups))
        finally:
            client.close()

    async def _poll_loop(self, client: AsyncModbusTcpClient, group: PollGroup, emit: Emit, lost: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        out = Overlapped(emit)
        try:
            while True:
                readings = await self.poll(client, group)
                if readings:
                    await out.submit(readings)
                now = loop.time()
                due = next_due(due, group.interval, now)
                try:
                    await asyncio.wait_for(lost.wait(), due - now)
                except asyncio.TimeoutError:
                    continue
                raise ConnectionError(f"connection to Modbus server {self.host}:{self.port} lost")
        finally:
            await out.close()

    async def poll(self, client: AsyncModbusTcpClient, group: PollGroup) -> list[Reading]:
        """Read one group once: one request per planned read; returns its readings (timestamped with the
        time each response arrived, UTC epoch seconds). Raises on transport errors and exception responses."""
        readers = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }
        readings: list[Reading] = []
        problems = self.problems
        for request, decoder, codes in zip(group.requests, group.decoders, group.codes, strict=True):
            if not client.connected:
                raise ConnectionError(f"connection to Modbus server {self.host}:{self.port} lost")
            response = await readers[request.table](request.address, count=request.count, device_id=self.unit_id)
            ts = time.time()
            if response.isError():
                raise ModbusDeviceError(
                    f"Modbus server {self.host}:{self.port} unit {self.unit_id} answered exception code "
                    f"{response.exception_code} to a read of {request.count} {request.table} value(s) at "
                    f"{request.address}"
                )
            values = response.bits if request.table in BIT_TABLES else response.registers
            self.stats.extra["requests"] = self.stats.extra.get("requests", 0) + 1
            decoded = decoder.decode(values)
            if not problems.current and set(map(type, decoded)) == _FLOATS:
                # Every value a float and no tag to clear of an error (the usual poll): the readings at once.
                rows = zip(codes, repeat(ts, len(codes)), decoded, strict=True)
                readings += map(tuple.__new__, repeat(Reading, len(codes)), rows)  # Reading._make, unchecked
                continue
            for code, value in zip(codes, decoded, strict=True):
                if isinstance(value, DecodeError):
                    problems.failed(code, str(value))
                    continue
                if problems.current:
                    problems.ok(code)
                readings.append(Reading(code, ts, value))
        self.stats.reads += len(readings)
        return readings

    async def check(self) -> str:
        client = await self._connect()
        try:
            values: dict[str, float] = {}
            requests = 0
            self.problems.current.clear()
            for group in self.groups:
                values.update((r.code, r.value) for r in await self.poll(client, group))
                requests += len(group.requests)
        finally:
            client.close()
        if self.problems.current:
            raise DecodeError(
                f"{self.name}: {len(self.problems.current)} tag(s) did not decode: {self.problems.summary()}"
            )
        return (
            f"modbus {self.name} ({self.host}:{self.port} unit {self.unit_id}): {len(values)} tag(s) read "
            f"in {requests} request(s): {show_values(values)}"
        )


def _tag_from_dict(data: dict[str, Any], path: str, device: ModbusDevice) -> ModbusTag:
    inherited = {"address_base": device.address_base, "byte_order": device.byte_order}
    inherited["poll_interval"] = device.poll_interval
    o = ModbusTagOptions(**read(ModbusTagOptions, data, path, inherited))
    bits = o.register_type in BIT_TABLES
    data_type = o.data_type if "data_type" in data else ("bool" if bits else o.data_type)
    if bits and data_type != "bool":
        raise ConfigError(f"{path}.data_type", f"a {o.register_type} holds one bit: use 'bool' (or leave it out)")
    if not bits and data_type == "bool":
        raise ConfigError(
            f"{path}.data_type",
            "'bool' is for coils and discrete inputs; for one bit of a register give an integer type and 'bit'",
        )
    bit = None if o.bit == -1 else o.bit
    if bit is not None and (bits or data_type not in INTEGER_TYPES):
        raise ConfigError(f"{path}.bit", f"needs an integer register type (uint16, int16, ...), not {data_type}")
    if bit is not None and bit >= 16 * DATA_TYPES[data_type][0]:
        raise ConfigError(f"{path}.bit", f"{data_type} has bits 0..{16 * DATA_TYPES[data_type][0] - 1}, not {bit}")
    try:
        wire = wire_address(o.address, o.address_base)
    except ValueError as exc:
        raise ConfigError(f"{path}.address", str(exc)) from None
    count = DATA_TYPES[data_type][0]
    if wire + count - 1 > 0xFFFF:
        raise ConfigError(f"{path}.address", f"a {data_type} at {o.address} runs past the last address 65535")
    limit = device.max_bits if bits else device.max_registers
    if count > limit:
        raise ConfigError(f"{path}.data_type", f"{data_type} needs {count} registers, the device reads {limit} at most")
    return ModbusTag(
        code=o.code,
        deadband=o.deadband,
        deadband_mode=o.deadband_mode,
        max_silence=o.max_silence,
        spec=RegisterField(o.register_type, wire, data_type, o.byte_order, bit, o.scale, o.offset),
        poll_interval=o.poll_interval,
    )


def from_dict(data: dict[str, Any], path: str) -> ModbusSource:
    """A ModbusSource from one ``[[modbus]]`` table; raises ConfigError naming the offending key."""
    device = ModbusDevice(**read(ModbusDevice, data, path, extra=("tags",)))
    tags = [_tag_from_dict(tag, tag_path, device) for tag, tag_path in tables(data, "tags", path)]
    unique_codes([(t.code, f"{path}.tags[{i}]") for i, t in enumerate(tags)], path)
    return ModbusSource(device.name or f"{device.host}:{device.port}", device, tags)
