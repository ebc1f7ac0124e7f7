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
    DecodeError,
    ReadRequest,
    RegisterField,
    Span,
    plan_reads,
    wire_address,
)
from mro_bridge.model import ConfigError, Emit, Reading, Source, TagCommon, common_from_dict
from mro_bridge.sources._common import (
    COMMON_TAG_KEYS,
    TagProblems,
    check_keys,
    integer,
    next_due,
    real,
    run_all,
    show_values,
    tables,
    text,
    unique_codes,
)

_log = logging.getLogger(__name__)

DEVICE_KEYS = (
    "name",
    "host",
    "port",
    "unit_id",
    "timeout",
    "retries",
    "address_base",
    "byte_order",
    "poll_interval",
    "max_registers",
    "max_bits",
    "max_gap",
    "tags",
)
TAG_KEYS = (
    *COMMON_TAG_KEYS,
    "register_type",
    "address",
    "address_base",
    "data_type",
    "byte_order",
    "bit",
    "scale",
    "offset",
    "poll_interval",
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


class ModbusSource(Source):
    """One Modbus TCP server (or gateway) and one unit id on it."""

    kind = "modbus"

    def __init__(
        self,
        name: str,
        host: str,
        tags: list[ModbusTag],
        port: int = 502,
        unit_id: int = 1,
        timeout: float = 3.0,
        retries: int = 1,
        max_registers: int = MAX_REGISTERS,
        max_bits: int = MAX_BITS,
        max_gap: int = DEFAULT_MAX_GAP,
    ):
        super().__init__(name)
        if not tags:
            raise ValueError("a Modbus source needs at least one tag")
        self.host, self.port, self.unit_id = host, port, unit_id
        self.timeout, self.retries = timeout, retries
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
                    max_registers=max_registers,
                    max_bits=max_bits,
                    max_gap=max_gap,
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
        while True:
            readings = await self.poll(client, group)
            if readings:
                await emit(readings)
            now = loop.time()
            due = next_due(due, group.interval, now)
            try:
                await asyncio.wait_for(lost.wait(), due - now)
            except asyncio.TimeoutError:
                continue
            raise ConnectionError(f"connection to Modbus server {self.host}:{self.port} lost")

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
        for request in group.requests:
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
            for index in request.members:
                tag = group.tags[index]
                part = values[request.slice(Span(tag.spec.table, tag.spec.address, tag.spec.count))]
                try:
                    value = tag.spec.decode(part)
                except DecodeError as exc:
                    self.problems.failed(tag.code, str(exc))
                    continue
                self.problems.ok(tag.code)
                readings.append(Reading(tag.code, ts, value))
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


def _tag_from_dict(data: dict[str, Any], path: str, defaults: dict[str, Any]) -> ModbusTag:
    check_keys(data, TAG_KEYS, path)
    common = common_from_dict(data, path)
    table = text(data, "register_type", path, "holding", choices=TABLES)
    bits = table in BIT_TABLES
    data_type = text(data, "data_type", path, "bool" if bits else "float32", choices=tuple(DATA_TYPES))
    if bits and data_type != "bool":
        raise ConfigError(f"{path}.data_type", f"a {table} holds one bit: use 'bool' (or leave it out)")
    if not bits and data_type == "bool":
        raise ConfigError(
            f"{path}.data_type",
            "'bool' is for coils and discrete inputs; for one bit of a register give an integer type and 'bit'",
        )
    byte_order = text(data, "byte_order", path, defaults["byte_order"], choices=BYTE_ORDERS)
    bit = integer(data, "bit", path, -1, minimum=-1, maximum=63)
    if bit == -1:
        bit = None
    elif bits or data_type not in INTEGER_TYPES:
        raise ConfigError(f"{path}.bit", f"needs an integer register type (uint16, int16, ...), not {data_type}")
    elif bit >= 16 * DATA_TYPES[data_type][0]:
        raise ConfigError(f"{path}.bit", f"{data_type} has bits 0..{16 * DATA_TYPES[data_type][0] - 1}, not {bit}")
    base = integer(data, "address_base", path, defaults["address_base"], minimum=0, maximum=1)
    address = integer(data, "address", path, minimum=0)
    try:
        wire = wire_address(address, base)
    except ValueError as exc:
        raise ConfigError(f"{path}.address", str(exc)) from None
    count = DATA_TYPES[data_type][0]
    if wire + count - 1 > 0xFFFF:
        raise ConfigError(f"{path}.address", f"a {data_type} at {address} runs past the last address 65535")
    limit = defaults["max_bits"] if bits else defaults["max_registers"]
    if count > limit:
        raise ConfigError(f"{path}.data_type", f"{data_type} needs {count} registers, the device reads {limit} at most")
    scale = real(data, "scale", path, 1.0)
    if scale == 0:
        raise ConfigError(f"{path}.scale", "must not be 0")
    return ModbusTag(
        **common,
        spec=RegisterField(table, wire, data_type, byte_order, bit, scale, real(data, "offset", path, 0.0)),
        poll_interval=real(data, "poll_interval", path, defaults["poll_interval"], positive=True),
    )


def from_dict(data: dict[str, Any], path: str) -> ModbusSource:
    """A ModbusSource from one ``[[modbus]]`` table; raises ConfigError naming the offending key."""
    check_keys(data, DEVICE_KEYS, path)
    host = text(data, "host", path)
    port = integer(data, "port", path, 502, minimum=1, maximum=65535)
    defaults = {
        "address_base": integer(data, "address_base", path, 0, minimum=0, maximum=1),
        "byte_order": text(data, "byte_order", path, "ABCD", choices=BYTE_ORDERS),
        "poll_interval": real(data, "poll_interval", path, 1.0, positive=True),
        "max_registers": integer(data, "max_registers", path, MAX_REGISTERS, minimum=1, maximum=MAX_REGISTERS),
        "max_bits": integer(data, "max_bits", path, MAX_BITS, minimum=1, maximum=MAX_BITS),
    }
    tags = [_tag_from_dict(tag, tag_path, defaults) for tag, tag_path in tables(data, "tags", path)]
    unique_codes([(t.code, f"{path}.tags[{i}]") for i, t in enumerate(tags)], path)
    return ModbusSource(
        name=text(data, "name", path, f"{host}:{port}"),
        host=host,
        tags=tags,
        port=port,
        unit_id=integer(data, "unit_id", path, 1, minimum=0, maximum=255),
        timeout=real(data, "timeout", path, 3.0, positive=True),
        retries=integer(data, "retries", path, 1, minimum=0, maximum=10),
        max_registers=defaults["max_registers"],
        max_bits=defaults["max_bits"],
        max_gap=integer(data, "max_gap", path, DEFAULT_MAX_GAP, minimum=0, maximum=MAX_REGISTERS),
    )
