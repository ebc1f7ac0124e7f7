"""``mro-bridge``: run | check | pull-config | simulate.

    mro-bridge run --config bridge.toml          read the devices, write to Odoo through the spool
    mro-bridge check --config bridge.toml        validate the file, then try Odoo and every device
    mro-bridge pull-config --config bridge.toml [--output FILE]
                                                 fill the devices' tags from Odoo's gateway record
    mro-bridge simulate ...                      a small plant over Modbus, OPC-UA and MQTT (see --help)

Exit codes: 0 fine, 1 a connection failed (check) or the bridge stopped on an error, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mro_bridge import __version__
from mro_bridge.config import SOURCE_KINDS, Config, load, to_toml, write_private
from mro_bridge.model import ConfigError

_log = logging.getLogger("mro_bridge")
#: Seconds a stopping bridge keeps sending what its spool holds (the rest stays for the next start).
SHUTDOWN_GRACE = 10.0
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(_extra(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def _extra(record: logging.LogRecord) -> dict:
    """The ``extra`` fields of a record (device, event, error...)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    """One line for people: time, level, logger, message, then the ``extra`` fields as key=value."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in _extra(record).items())
        return f"{line} {fields}" if fields else line


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _transport(config: Config):
    from mro_bridge.odoo import XmlRpcOdoo

    o = config.odoo
    return XmlRpcOdoo(o.url, o.database, o.user, o.api_key, o.timeout, in_flight=config.batch.in_flight)


# ---------------------------------------------------------------------- run
async def run(config: Config, stop: asyncio.Event | None = None) -> int:
    """Run the bridge until ``stop`` is set (or SIGTERM/SIGINT)."""
    from mro_bridge.http import Status, serve
    from mro_bridge.pipeline import Pipeline
    from mro_bridge.spool import Spool
    from mro_bridge.supervise import DeviceState, supervise

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    spool = Spool(config.spool.path, config.spool.max_rows, config.spool.max_dead_letters)
    odoo = _transport(config)
    tags = {tag.code: tag for source in config.sources for tag in source.tags}
    pipeline = Pipeline(
        spool, odoo, tags, config.batch.size, config.batch.flush_interval, in_flight=config.batch.in_flight,
        commit_interval=config.spool.commit_interval, commit_max=config.spool.commit_max,
    )  # fmt: skip
    devices = [DeviceState(source.name, source.kind) for source in config.sources]
    for source in config.sources:
        if hasattr(source, "dead_letter"):
            source.dead_letter = pipeline.dead_letter
    _log.info(
        "starting",
        extra={"event": "start", "version": __version__, "devices": len(devices), "tags": len(tags),
               "spool_depth": spool.depth(), "odoo": config.odoo.url},
    )  # fmt: skip
    tasks = [
        asyncio.create_task(supervise(source, pipeline.emit, config.supervisor, state), name=source.name)
        for source, state in zip(config.sources, devices, strict=False)
    ]
    sender = asyncio.create_task(pipeline.sender(), name="sender")
    server = None
    if config.http.host_port:
        status = Status(pipeline, devices, config.sources, show_errors=config.http.show_errors)
        server = await serve(
            status,
            *config.http.host_port,
            max_connections=config.http.max_connections,
            request_timeout=config.http.request_timeout,
        )
    try:
        await stop.wait()
    finally:
        _log.info("stopping", extra={"event": "stop"})
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        empty = await pipeline.flush(SHUTDOWN_GRACE)
        if server:
            server.close()
        pipeline.close()
        odoo.close()
        _log.info("stopped", extra={"event": "stopped", "spool_depth": spool.depth(), "spool_empty": empty})
        spool.close()
    return 0


# ---------------------------------------------------------------------- check
async def check(config: Config, timeout: float = 20.0) -> int:
    failed = 0
    odoo = _transport(config)
    try:
        print(f"OK    odoo: {await asyncio.wait_for(odoo.check(), timeout)}")
    except Exception as exc:  # any failure is reported, the other targets are still tried
        failed += 1
        print(f"FAIL  odoo: {exc}")
    finally:
        odoo.close()
    for source in config.sources:
        try:
            print(f"OK    {source.kind} {source.name}: {await asyncio.wait_for(source.check(), timeout)}")
        except Exception as exc:  # idem
            failed += 1
            print(f"FAIL  {source.kind} {source.name}: {type(exc).__name__}: {exc}")
    return 1 if failed else 0


# ---------------------------------------------------------------------- pull-config
def tags_from_odoo(sensor: dict[str, Any]) -> dict[str, Any]:
    """One Odoo sensor (``get_bridge_config()``) as a tag table of its protocol."""
    tag: dict[str, Any] = {"code": sensor["code"]}
    protocol = sensor["protocol"]
    address = str(sensor.get("address") or "")
    if protocol == "modbus":
        if not address.isdigit():
            raise ConfigError(sensor["code"], f"Modbus address {address!r} in Odoo is not a register number")
        tag.update(
            register_type=sensor.get("register_type") or "holding",
            address=int(address),
            address_base=int(sensor.get("address_base") or 0),
            data_type=sensor.get("data_type") or "float32",
            byte_order=sensor.get("byte_order") or "ABCD",
            scale=float(sensor.get("scale") or 1.0),
            offset=float(sensor.get("offset") or 0.0),
            poll_interval=float(sensor.get("poll_interval") or 1.0),
        )
        if (sensor.get("bit") or -1) >= 0:
            tag["bit"] = int(sensor["bit"])
    elif protocol == "opcua":
        tag.update(node_id=address, scale=float(sensor.get("scale") or 1.0), offset=float(sensor.get("offset") or 0.0))
    elif protocol == "mqtt":
        tag.update(topic=address, value_path=sensor.get("value_path") or "value")
        if sensor.get("ts_path"):
            tag["timestamp_path"] = sensor["ts_path"]
    tag.update(
        deadband=float(sensor.get("deadband") or 0.0),
        deadband_mode=sensor.get("deadband_mode") or "absolute",
        max_silence=float(sensor.get("max_silence") or 0.0),
    )
    return tag


def merge_tags(raw: dict[str, Any], sensors: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The configuration ``raw`` with each device's tags replaced by Odoo's sensors of that device (matched on
    protocol and device name). Returns the new configuration and warnings; raises ConfigError when a sensor
    names a device the file does not define."""
    out = {k: v for k, v in raw.items() if k not in SOURCE_KINDS}
    warnings: list[str] = []
    by_device: dict[tuple[str, str], list[dict]] = {}
    for sensor in sensors:
        if sensor.get("protocol") not in SOURCE_KINDS:
            continue
        by_device.setdefault((sensor["protocol"], sensor.get("device") or ""), []).append(tags_from_odoo(sensor))
    for kind in SOURCE_KINDS:
        devices = []
        for device in raw.get(kind, []):
            device = {k: v for k, v in device.items() if k != "tags"}
            tags = by_device.pop((kind, device.get("name", "")), [])
            if not tags:
                warnings.append(f"{kind} device {device.get('name')!r} has no sensor in Odoo: left out")
                continue
            devices.append({**device, "tags": tags})
        if devices:
            out[kind] = devices
    if by_device:
        missing = ", ".join(
            f"{kind} {name!r} ({len(tags)} sensors)" for (kind, name), tags in sorted(by_device.items())
        )
        raise ConfigError(
            "",
            f"Odoo's sensors read devices this file does not define: {missing}; add a [[<protocol>]] table with "
            "that name (and its host/url) for each",
        )
    return out, warnings


async def pull_config(config: Config, output: Path) -> int:
    odoo = _transport(config)
    try:
        answer = await odoo.get_bridge_config()
    finally:
        odoo.close()
    merged, warnings = merge_tags(config.raw, answer.get("sensors") or [])
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    text = to_toml(merged)
    load_check = Path(str(output) + ".check")
    write_private(load_check, text)  # it holds the API key: 0600, as the file itself
    try:
        load(load_check)  # what we write must load
    finally:
        load_check.unlink()
    write_private(output, text)
    count = sum(len(d["tags"]) for kind in SOURCE_KINDS for d in merged.get(kind, []))
    print(f"wrote {output}: {count} tags of gateway {answer.get('gateway', {}).get('code', '?')}")
    return 0


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:
        from mro_bridge.simulate import main as simulate_main

        return simulate_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="mro-bridge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mro-bridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "check", "pull-config"):
        p = sub.add_parser(name)
        p.add_argument("--config", required=True, type=Path, help="the bridge's TOML file")
        if name == "pull-config":
            p.add_argument("--output", type=Path, help="where to write the completed file (default: --config)")
    sub.add_parser("simulate", help="a small plant over Modbus, OPC-UA and MQTT (mro-bridge simulate --help)")
    args = parser.parse_args(argv)
    try:
        config = load(args.config, require_sources=args.command != "pull-config")
    except ConfigError as exc:
        print(f"{args.config}: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log.level, config.log.format)
    try:
        if args.command == "run":
            return asyncio.run(run(config))
        if args.command == "check":
            return asyncio.run(check(config))
        return asyncio.run(pull_config(config, args.output or args.config))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # the last word, once, in the log
        _log.exception("stopped on an error", extra={"event": "fatal"})
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
