"""Modbus source against a real pymodbus TCP server started in the test."""

import asyncio
import math
import struct

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from source_helpers import Restarter, collect, free_port, latest, wait_for

from mro_bridge.decode import bytes_to_registers, encode_raw
from mro_bridge.model import ConfigError
from mro_bridge.sources import modbus
from mro_bridge.sources.modbus import ModbusDeviceError

FUNCTION_TABLES = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}
WRITE_CODES = {"coil": 5, "discrete": 2, "holding": 16, "input": 4}


class Plc:
    """A pymodbus server with separate coil / discrete / holding / input blocks (unit 1) that records the
    read requests it receives."""

    def __init__(self, port: int):
        self.port = port
        self.server = None
        self.requests: list[tuple[str, int, int]] = []

    async def start(self):
        device = SimDevice(
            1,
            simdata=(
                [SimData(0, values=[False] * 64, datatype=DataType.BITS)],
                [SimData(0, values=[False] * 64, datatype=DataType.BITS)],
                [SimData(0, count=400, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=100, values=0, datatype=DataType.REGISTERS)],
            ),
        )
        self.server = ModbusTcpServer(device, address=("127.0.0.1", self.port), trace_pdu=self._trace)
        await self.server.serve_forever(background=True)

    def _trace(self, sending, pdu):
        if not sending and pdu.function_code in FUNCTION_TABLES:
            self.requests.append((FUNCTION_TABLES[pdu.function_code], pdu.address, pdu.count))
        return pdu

    async def stop(self):
        await self.server.shutdown()
        self.server = None

    async def set(self, table, address, values):
        await self.server.async_setValues(1, WRITE_CODES[table], address, list(values))


def source(port, tags, **device):
    return modbus.from_dict({"host": "127.0.0.1", "port": port, "timeout": 2, "tags": tags, **device}, "modbus[0]")


def test_known_float_in_all_four_orders():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            orders = ("ABCD", "CDAB", "BADC", "DCBA")
            tags = []
            for i, order in enumerate(orders):
                await plc.set("holding", 10 + 2 * i, encode_raw(123.456, "float32", order))
                await plc.set("holding", 40 + 4 * i, encode_raw(-9876.54321, "float64", order))
                tags.append({"code": f"F32-{order}", "address": 10 + 2 * i, "byte_order": order})
                tags.append(
                    {"code": f"F64-{order}", "address": 40 + 4 * i, "byte_order": order, "data_type": "float64"}
                )
            # the raw registers of a float32 in each order, as a PLC manual would list them
            assert [await plc.server.async_getValues(1, 3, 10 + 2 * i, 2) for i in range(4)] == [
                [0x42F6, 0xE979],
                [0xE979, 0x42F6],
                [0xF642, 0x79E9],
                [0x79E9, 0xF642],
            ]
            values = latest(await collect(source(plc.port, tags), lambda r: len(r) >= 8))
            for order in orders:
                assert values[f"F32-{order}"] == pytest.approx(123.456, rel=1e-6)
                assert values[f"F64-{order}"] == pytest.approx(-9876.54321, rel=1e-12)
        finally:
            await plc.stop()

    asyncio.run(main())


def test_every_data_type_table_bit_and_scale():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            cases = [
                ("int16", -1234),
                ("uint16", 65000),
                ("int32", -123456789),
                ("uint32", 4_000_000_000),
                ("int64", -(2**40) - 3),
                ("uint64", 2**50 + 1),
                ("float32", 0.25),
                ("float64", 1e-3),
            ]
            tags = []
            address = 0
            for data_type, value in cases:
                await plc.set("holding", address, encode_raw(value, data_type, "CDAB"))
                await plc.set("input", address, encode_raw(value, data_type))
                tags.append(
                    {"code": f"H-{data_type}", "address": address, "data_type": data_type, "byte_order": "CDAB"}
                )
                tags.append(
                    {"code": f"I-{data_type}", "address": address, "data_type": data_type, "register_type": "input"}
                )
                address += len(encode_raw(value, data_type))
            await plc.set("holding", 100, [0b1000_0000_0000_0100])
            await plc.set("holding", 101, encode_raw(655, "int16"))
            await plc.set("coil", 7, [True])
            await plc.set("discrete", 9, [True])
            tags += [
                {"code": "BIT2", "address": 100, "data_type": "uint16", "bit": 2},
                {"code": "BIT3", "address": 100, "data_type": "uint16", "bit": 3},
                {"code": "BIT15", "address": 100, "data_type": "int16", "bit": 15},
                {"code": "TEMP", "address": 101, "data_type": "int16", "scale": 0.1, "offset": -40},
                {"code": "COIL7", "address": 7, "register_type": "coil"},
                {"code": "COIL6", "address": 6, "register_type": "coil"},
                {"code": "DI9", "address": 9, "register_type": "discrete"},
            ]
            values = latest(await collect(source(plc.port, tags), lambda r: len(r) >= len(tags)))
            for data_type, value in cases:
                assert values[f"H-{data_type}"] == pytest.approx(value, rel=1e-6), data_type
                assert values[f"I-{data_type}"] == pytest.approx(value, rel=1e-6), data_type
            assert (values["BIT2"], values["BIT3"], values["BIT15"]) == (1.0, 0.0, 1.0)
            assert values["TEMP"] == pytest.approx(25.5)
            assert (values["COIL7"], values["COIL6"], values["DI9"]) == (1.0, 0.0, 1.0)
        finally:
            await plc.stop()

    asyncio.run(main())


def test_address_base_one_reads_the_register_before():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            await plc.set("holding", 99, encode_raw(1.5, "float32"))  # reading one register off gives garbage
            await plc.set("coil", 0, [True])
            tags = [
                {"code": "ONE", "address": 100},  # device default: 1-based
                {"code": "ZERO", "address": 99, "address_base": 0},
                {"code": "COIL", "address": 1, "register_type": "coil"},
            ]
            src = source(plc.port, tags, address_base=1, max_gap=0)
            assert [t.spec.address for t in src.tags] == [99, 99, 0]
            plc.requests.clear()
            summary = await src.check()
            assert "3 tag(s) read" in summary
            values = latest(await collect(src, lambda r: len(r) >= 3))
            assert values["ZERO"] == values["ONE"] == 1.5
            assert values["COIL"] == 1.0
            # both float tags hit wire address 99: one request, starting at 99
            assert ("holding", 99, 2) in plc.requests
            assert ("coil", 0, 1) in plc.requests
        finally:
            await plc.stop()

    asyncio.run(main())


def test_coalescing_counts_the_requests_the_server_receives():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            # ten contiguous floats, one after a 2-register gap, one far away, two coils with a gap of 3
            tags = [{"code": f"V{i}", "address": 200 + 2 * i} for i in range(10)]
            tags += [{"code": "GAP", "address": 222}, {"code": "FAR", "address": 300}]
            tags += [{"code": f"C{a}", "address": a, "register_type": "coil"} for a in (1, 5)]
            src = source(plc.port, tags)
            await src.check()
            assert sorted(plc.requests) == [("coil", 1, 5), ("holding", 200, 24), ("holding", 300, 2)]
            # a device that reads at most 8 registers per request, and no gaps
            plc.requests.clear()
            await source(plc.port, tags, max_registers=8, max_gap=0).check()
            assert sorted(plc.requests) == [
                ("coil", 1, 1),
                ("coil", 5, 1),
                ("holding", 200, 8),
                ("holding", 208, 8),
                ("holding", 216, 4),
                ("holding", 222, 2),
                ("holding", 300, 2),
            ]
        finally:
            await plc.stop()

    asyncio.run(main())


def test_tags_are_polled_per_interval():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            tags = [
                {"code": "FAST", "address": 0, "poll_interval": 0.1},
                {"code": "FAST2", "address": 2, "poll_interval": 0.1},
                {"code": "SLOW", "address": 4, "poll_interval": 60},
            ]
            src = source(plc.port, tags)
            assert src.period == 0.1
            readings = await collect(src, lambda r: sum(x.code == "FAST" for x in r) >= 5)
            assert sum(r.code == "SLOW" for r in readings) == 1
            assert sum(r.code == "FAST2" for r in readings) >= 4
            # the fast group's request never includes the slow tag
            assert set(plc.requests) == {("holding", 0, 4), ("holding", 4, 2)}
            assert plc.requests.count(("holding", 4, 2)) == 1
        finally:
            await plc.stop()

    asyncio.run(main())


def test_nan_register_is_an_error_not_a_reading():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            await plc.set("holding", 0, bytes_to_registers(struct.pack(">f", math.nan)))
            await plc.set("holding", 2, encode_raw(4.0, "float32"))
            src = source(plc.port, [{"code": "NAN", "address": 0}, {"code": "OK", "address": 2}], poll_interval=0.1)
            readings = await collect(src, lambda r: len(r) >= 3)
            assert {r.code for r in readings} == {"OK"}
            assert src.stats.errors >= 3
            assert "NAN" in src.stats.last_error and "nan" in src.stats.last_error
            with pytest.raises(ValueError, match="NAN: float32 register"):
                await src.check()
            # the device repairs its value: readings resume
            await plc.set("holding", 0, encode_raw(7.0, "float32"))
            readings = await collect(src, lambda r: any(x.code == "NAN" for x in r))
            assert latest(readings)["NAN"] == 7.0
        finally:
            await plc.stop()

    asyncio.run(main())


def test_exception_response_and_unreachable_server_raise():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        try:
            src = source(
                plc.port, [{"code": "OK", "address": 0}, {"code": "BAD", "address": 398, "data_type": "int64"}]
            )
            with pytest.raises(ModbusDeviceError, match="exception code 2"):
                await collect(src, lambda r: False)
            with pytest.raises(ModbusDeviceError):
                await src.check()
        finally:
            await plc.stop()
        with pytest.raises(ConnectionError, match="cannot connect"):
            await source(plc.port, [{"code": "OK", "address": 0}]).check()

    asyncio.run(main())


def test_server_restart_values_resume():
    async def main():
        plc = Plc(free_port())
        await plc.start()
        await plc.set("holding", 0, encode_raw(1.0, "float32"))
        src = source(plc.port, [{"code": "P", "address": 0, "poll_interval": 0.2}], timeout=1)
        try:
            async with Restarter(src) as sup:
                await wait_for(lambda: any(r.value == 1.0 for r in sup.readings))
                await plc.stop()
                await wait_for(lambda: len(sup.failures) >= 2)  # the loss, then at least one refused reconnect
                assert isinstance(sup.failures[0], ConnectionError)
                await plc.start()
                await plc.set("holding", 0, encode_raw(2.0, "float32"))
                await wait_for(lambda: any(r.value == 2.0 for r in sup.readings), what="values after the restart")
        finally:
            if plc.server:
                await plc.stop()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"tags": [{"code": "A", "address": 0, "byte_order": "ABDC"}]},
            r"modbus\[0\].tags\[0\].byte_order: must be one of ABCD, CDAB, BADC, DCBA",
        ),
        (
            {"tags": [{"code": "A", "adress": 0}]},
            r"modbus\[0\].tags\[0\].adress: unknown key; did you mean 'address'\?",
        ),
        (
            {"tags": [{"code": "A", "address": 0}], "pol_interval": 1},
            r"modbus\[0\].pol_interval: unknown key; did you mean 'poll_interval'",
        ),
        ({"tags": [{"code": "A"}]}, r"modbus\[0\].tags\[0\].address: is required"),
        ({"tags": [{"code": "A", "address": 0, "bit": 3}]}, r"tags\[0\].bit: needs an integer register type"),
        (
            {"tags": [{"code": "A", "address": 0, "data_type": "uint16", "bit": 16}]},
            r"tags\[0\].bit: uint16 has bits 0..15",
        ),
        (
            {"tags": [{"code": "A", "address": 0, "register_type": "coil", "data_type": "float32"}]},
            r"tags\[0\].data_type: a coil holds one bit",
        ),
        ({"tags": [{"code": "A", "address": 0, "data_type": "bool"}]}, r"tags\[0\].data_type: 'bool' is for coils"),
        (
            {"tags": [{"code": "A", "address": 0}], "address_base": 1},
            r"tags\[0\].address: address 0 \(base 1\) is outside",
        ),
        ({"tags": [{"code": "A", "address": 65535}]}, r"tags\[0\].address: a float32 at 65535 runs past"),
        (
            {"tags": [{"code": "A", "address": 0, "data_type": "float64"}], "max_registers": 2},
            r"tags\[0\].data_type: float64 needs 4",
        ),
        ({"tags": [{"code": "A", "address": 0, "scale": 0}]}, r"tags\[0\].scale: must not be 0"),
        (
            {"tags": [{"code": "A", "address": 0, "poll_interval": 0}]},
            r"tags\[0\].poll_interval: must be greater than 0",
        ),
        (
            {"tags": [{"code": "A", "address": 0}, {"code": "A", "address": 2}]},
            r"tags\[1\].code: 'A' is already fed by modbus\[0\].tags\[0\]",
        ),
        (
            {"tags": [{"code": "A", "address": 0, "register_type": "holdings"}]},
            r"tags\[0\].register_type: must be one of holding, input, coil, discrete",
        ),
        ({"tags": []}, r"modbus\[0\].tags: needs at least one"),
        ({"tags": [{"code": "", "address": 0}]}, r"tags\[0\].code: a tag needs the Odoo sensor code"),
        ({"tags": [{"code": "A", "address": 0}], "unit_id": 300}, r"modbus\[0\].unit_id: must be at most 255"),
    ],
)
def test_config_errors_name_the_key(table, message):
    with pytest.raises(ConfigError, match=message):
        modbus.from_dict({"host": "plc", **table}, "modbus[0]")


def test_config_defaults():
    src = modbus.from_dict({"host": "plc", "tags": [{"code": "A", "address": 1, "bit": -1}]}, "modbus[0]")
    assert (src.name, src.port, src.unit_id, src.kind) == ("plc:502", 502, 1, "modbus")
    tag = src.tags[0]
    assert (tag.spec.table, tag.spec.address, tag.spec.data_type, tag.spec.byte_order, tag.spec.bit) == (
        "holding",
        1,
        "float32",
        "ABCD",
        None,
    )
    assert (tag.poll_interval, tag.deadband, tag.max_silence) == (1.0, 0.0, 0.0)
