"""What every part of the bridge shares: a reading, a tag's common settings, a source, and config errors."""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mro_bridge.schema import option


class Reading(NamedTuple):
    """One value of one sensor: Odoo's sensor ``code``, the source timestamp ``ts`` (seconds since the Unix
    epoch, UTC) and the ``value`` (float, scaled as Odoo expects). A named tuple: the sources make tens of
    thousands a second, and one is built three times faster than a frozen dataclass."""

    code: str
    ts: float
    value: float


class ConfigError(ValueError):
    """A configuration file problem, worded for the person editing the file: where (``path``, e.g.
    ``modbus[0].tags[3].type``) and what is wrong."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass
class TagCommon:
    """Settings every tag has, whatever its protocol (see each field's description)."""

    code: str = option(
        doc="the Odoo sensor code the value feeds; unique within a device",
        strip=True,
        missing="a tag needs the Odoo sensor code it feeds (a non-empty string)",
        odoo="code",
    )
    deadband: float = option(
        0.0,
        minimum=0.0,
        doc="report a value only when it moved by more than this (0: every value)",
        odoo="deadband",
    )
    deadband_mode: str = option(
        "absolute",
        choices=("absolute", "percent"),
        doc='`"absolute"` (in the value\'s unit) or `"percent"` (of the last reported value\'s magnitude)',
        odoo="deadband_mode",
    )
    max_silence: float = option(
        0.0,
        minimum=0.0,
        unit="s",
        doc="seconds after which a value is reported anyway, inside the deadband: a heartbeat, so Odoo sees "
        "the sensor alive (0: never)",
        odoo="max_silence",
    )


def common_from_dict(data: dict[str, Any], path: str) -> dict[str, Any]:
    """Validate and return the common tag keys (``code``, ``deadband``, ``deadband_mode``, ``max_silence``)
    of a tag table (its other keys are not looked at); raises ConfigError naming ``path``."""
    from mro_bridge.schema import keys, read_key

    return {key.name: read_key(key, data, path, key.default) for key in keys(TagCommon)}


def number(value: Any, path: str, minimum: float | None = None, maximum: float | None = None) -> float:
    """``value`` as a finite float within [minimum, maximum], else ConfigError naming ``path``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(path, f"must be a number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(path, f"must be at least {minimum:g}, not {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(path, f"must be at most {maximum:g}, not {value!r}")
    return float(value)


#: What a source hands its readings to: the pipeline, which returns once they are safe in the spool.
Emit = Callable[[list[Reading]], Awaitable[None]]


@dataclass
class SourceStats:
    """Counters a source keeps for /metrics."""

    reads: int = 0
    errors: int = 0
    last_error: str = ""
    extra: dict[str, float] = field(default_factory=dict)


class Source(abc.ABC):
    """One device (a Modbus server, an OPC-UA server, an MQTT broker connection).

    The supervisor calls :meth:`run` and restarts it with backoff when it raises; ``period`` (seconds) is
    how often the device normally yields readings, so that "connected but silent" can be told apart."""

    kind: str = ""

    def __init__(self, name: str, settings: Any = None):
        self.name = name
        self.stats = SourceStats()
        #: The device's table (a dataclass of mro_bridge.schema options); its keys are also attributes.
        self.settings = settings
        if settings is not None:
            for item in dataclasses.fields(settings):
                if item.name != "name":
                    setattr(self, item.name, getattr(settings, item.name))

    @property
    @abc.abstractmethod
    def period(self) -> float:
        """Seconds between readings in normal operation (the fastest tag's interval)."""

    @property
    @abc.abstractmethod
    def tags(self) -> list[TagCommon]:
        """The device's tags (their common settings are used by the pipeline's deadband)."""

    @abc.abstractmethod
    async def run(self, emit: Emit) -> None:
        """Connect, then produce readings through ``emit`` until cancelled. Raise on any connection loss or
        device error: the supervisor logs it, counts it and reconnects. Close connections on the way out
        (including on cancellation)."""

    @abc.abstractmethod
    async def check(self) -> str:
        """Connect once, read (or subscribe to) every tag once, disconnect; return a one-line summary.
        Raise with a clear message on failure (``mro-bridge check``)."""
