"""``mro-bridge``: run | check | pull-config | simulate.

    mro-bridge run --config bridge.toml          read the devices, write to Odoo through the spool
    mro-bridge check --config bridge.toml        validate the file, then try Odoo and every device
    mro-bridge pull-config --config bridge.toml [--output FILE]
                                                 fill the devices' tags from Odoo's gateway record
    mro-bridge simulate ...                      the plant simulator, when installed (mro-bridge-sim, see --help)

Exit codes: 0 fine, 1 a connection failed (check) or the bridge stopped on an error, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
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
from mro_bridge.schema import tag_from_odoo

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
#: Young collections between two full ones (CPython's default is 10). At tens of thousands of readings a
#: second, the readings on their way (in a poll, a commit, a call to Odoo) outlive the young generations,
#: so with the default a full collection ran one and a half times a second, each holding the event loop
#: 12-114 ms (measured at 40,000 readings/s), long enough to skip Modbus poll slots. A hundred makes them
#: ten times rarer; the readings are freed by reference counting, not by the collector, so nothing grows.
FULL_COLLECTION_EVERY = 100


def tune_gc() -> None:
    """The garbage collector's thresholds for a long-running bridge (see FULL_COLLECTION_EVERY)."""
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


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
        spool,
        odoo,
        tags,
        config.batch.size,
        config.batch.flush_interval,
        retry_initial=config.odoo.retry_initial,
        retry_max=config.odoo.retry_max,
        in_flight=config.batch.in_flight,
        commit_interval=config.spool.commit_interval,
        commit_max=config.spool.commit_max,
    )
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
    problem: list[str] = []
    if config.odoo.gateway:
        tasks.append(asyncio.create_task(watch_gateway(config, odoo, stop, problem), name="gateway"))
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
    if problem:
        print(f"configuration error: {problem[0]}", file=sys.stderr)
        return 2
    return 0


# ---------------------------------------------------------------------- check
async def check(config: Config, timeout: float = 20.0) -> int:
    failed = 0
    odoo = _transport(config)
    try:
        print(f"OK    odoo: {await asyncio.wait_for(odoo.check(), timeout)}")
        if config.odoo.gateway:
            check_gateway(config, await asyncio.wait_for(odoo.get_bridge_config(), timeout))
            print(f"OK    odoo: the API key belongs to gateway {config.odoo.gateway}")
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
def tag_classes() -> dict[str, type]:
    """The tag table dataclass of each protocol (mro_bridge.schema options)."""
    from mro_bridge.sources.modbus import ModbusTagOptions
    from mro_bridge.sources.mqtt import MqttTag
    from mro_bridge.sources.opcua import OpcUaTag

    return {"modbus": ModbusTagOptions, "opcua": OpcUaTag, "mqtt": MqttTag}


def _register_number(value: Any, sensor: dict[str, Any]) -> int:
    address = str(value)
    if not address.isdigit():
        raise ConfigError(sensor["code"], f"Modbus address {address!r} in Odoo is not a register number")
    return int(address)


def tags_from_odoo(sensor: dict[str, Any]) -> dict[str, Any]:
    """One Odoo sensor (``get_bridge_config()``) as a tag table of its protocol: the keys whose options name
    an Odoo field (mro_bridge.schema), the README's mapping table lists them."""
    if sensor.get("protocol") == "modbus":
        _register_number(sensor.get("address") or "", sensor)  # refused with its code, even when empty
    return tag_from_odoo(sensor, tag_classes(), convert={"address": _register_number})


def check_gateway(config: Config, answer: dict[str, Any]) -> None:
    """ConfigError when ``[odoo] gateway`` names another gateway than the one Odoo says the API key belongs to
    (``get_bridge_config()``'s answer)."""
    expected = config.odoo.gateway
    actual = (answer.get("gateway") or {}).get("code")
    if expected and actual != expected:
        raise ConfigError(
            "odoo.gateway",
            f"is {expected!r} but the API key of user {config.odoo.user!r} belongs to gateway {actual!r}: use that "
            "gateway's credentials (Create bridge credentials on it), or correct or remove odoo.gateway",
        )


async def watch_gateway(config: Config, odoo: Any, stop: asyncio.Event, problem: list[str]) -> None:
    """``run``: once Odoo answers, check ``[odoo] gateway`` against the key's gateway; a mismatch stops the
    bridge (``problem`` gets the message). Odoo being down only delays the check (retried as the sender
    retries), the readings meanwhile go to the spool."""
    from mro_bridge.odoo import PermanentError, TransientError

    delay = config.odoo.retry_initial
    while True:
        try:
            check_gateway(config, await odoo.get_bridge_config())
            return
        except (TransientError, PermanentError, OSError) as exc:  # Odoo down, or the key refused: as the sender
            _log.warning("cannot check the gateway yet", extra={"event": "gateway_unchecked", "error": str(exc)})
            await asyncio.sleep(config.odoo.retry_max if isinstance(exc, PermanentError) else delay)
            delay = min(config.odoo.retry_max, delay * 2)
        except Exception as exc:  # a mismatch, or Odoo finds no gateway for this user: stop, saying which
            message = str(exc) if isinstance(exc, ConfigError) else f"odoo.gateway: Odoo could not tell it: {exc}"
            problem.append(message)
            _log.error("wrong gateway: stopping", extra={"event": "wrong_gateway", "error": message})
            stop.set()
            return


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
    check_gateway(config, answer)
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
def simulate(argv: list[str]) -> int:
    """``mro-bridge simulate``: the plant simulator, a separate package (mro-bridge-sim, command
    ``mro-bridge-sim``) that production installs leave out."""
    try:
        from mro_bridge_sim.simulate import main as simulate_main
    except ImportError:
        print(
            "mro-bridge simulate: the simulator is not installed (it is not part of the production package): "
            "pip install ./bridge/sim, then run mro-bridge-sim",
            file=sys.stderr,
        )
        return 2
    return simulate_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:
        return simulate(argv[1:])
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
    sub.add_parser("simulate", help="the plant simulator, a separate package (mro-bridge-sim --help)")
    args = parser.parse_args(argv)
    try:
        config = load(args.config, require_sources=args.command != "pull-config")
    except ConfigError as exc:
        print(f"{args.config}: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log.level, config.log.format)
    try:
        if args.command == "run":
            tune_gc()
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
