"""Helpers the protocol sources share: strict TOML table validation, running sibling tasks, and handing a poll's
readings on without waiting for their commit."""

from __future__ import annotations

import asyncio
import collections
import difflib
import os
from collections.abc import Collection, Coroutine
from typing import Any

from mro_bridge.model import ConfigError, Emit, Reading, number

_REQUIRED: Any = object()


def check_keys(data: Any, allowed: Collection[str], path: str) -> dict[str, Any]:
    """``data`` as a dict whose keys are all in ``allowed``; an unknown key is a ConfigError naming it and
    the closest allowed key."""
    if not isinstance(data, dict):
        raise ConfigError(path, f"must be a table, not {type(data).__name__}")
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(allowed))}"
            raise ConfigError(f"{path}.{key}", f"unknown key{hint}")
    return data


def text(
    data: dict[str, Any], key: str, path: str, default: Any = _REQUIRED, choices: Collection[str] | None = None
) -> str:
    """A non-empty string ``data[key]`` (one of ``choices`` if given), or ``default`` when missing."""
    if key not in data:
        if default is _REQUIRED:
            raise ConfigError(f"{path}.{key}", "is required")
        return default
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}.{key}", f"must be a non-empty string, not {value!r}")
    if choices is not None and value not in choices:
        raise ConfigError(f"{path}.{key}", f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def integer(
    data: dict[str, Any],
    key: str,
    path: str,
    default: Any = _REQUIRED,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """An integer ``data[key]`` within [minimum, maximum], or ``default`` when missing."""
    if key not in data:
        if default is _REQUIRED:
            raise ConfigError(f"{path}.{key}", "is required")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}.{key}", f"must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{path}.{key}", f"must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{path}.{key}", f"must be at most {maximum}, not {value}")
    return value


def real(
    data: dict[str, Any],
    key: str,
    path: str,
    default: Any = _REQUIRED,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> float:
    """A finite number ``data[key]`` within [minimum, maximum] (and > 0 if ``positive``), or ``default``."""
    if key not in data:
        if default is _REQUIRED:
            raise ConfigError(f"{path}.{key}", "is required")
        return default
    value = number(data[key], f"{path}.{key}", minimum=minimum, maximum=maximum)
    if positive and value <= 0:
        raise ConfigError(f"{path}.{key}", f"must be greater than 0, not {data[key]!r}")
    return value


def flag(data: dict[str, Any], key: str, path: str, default: bool) -> bool:
    """A boolean ``data[key]`` (TOML true/false), or ``default``."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}.{key}", f"must be true or false, not {value!r}")
    return value


def strings(data: dict[str, Any], key: str, path: str) -> list[str]:
    """A list of non-empty strings ``data[key]`` (empty list when missing)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{path}.{key}", f"must be a list of non-empty strings, not {value!r}")
    return list(value)


def tables(data: dict[str, Any], key: str, path: str) -> list[tuple[dict[str, Any], str]]:
    """The non-empty array of tables ``data[key]`` as (table, its path) pairs, e.g. ``modbus[0].tags[2]``."""
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}.{key}", "needs at least one [[...tags]] table")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}.{key}[{i}]", f"must be a table, not {type(item).__name__}")
        out.append((item, f"{path}.{key}[{i}]"))
    return out


def secret(data: dict[str, Any], key: str, path: str) -> str | None:
    """A secret given either inline (``key``) or by environment variable name (``key_env``); None if neither.
    The variable is read now, so a missing one is reported when the configuration is loaded."""
    env_key = f"{key}_env"
    if key in data and env_key in data:
        raise ConfigError(f"{path}.{key}", f"give either {key} or {env_key}, not both")
    if env_key in data:
        name = text(data, env_key, path)
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"{path}.{env_key}", f"environment variable {name} is not set")
        return value
    if key in data:
        value = data[key]
        if not isinstance(value, str):
            raise ConfigError(f"{path}.{key}", "must be a string")
        return value
    return None


def unique_codes(codes: list[tuple[str, str]], path: str) -> None:
    """ConfigError when two tags of one source feed the same sensor code; ``codes`` are (code, tag path)."""
    seen: dict[str, str] = {}
    for code, tag_path in codes:
        if code in seen:
            raise ConfigError(f"{tag_path}.code", f"{code!r} is already fed by {seen[code]}")
        seen[code] = tag_path


async def run_all(*coros: Coroutine[Any, Any, None]) -> None:
    """Run ``coros`` concurrently until the first one raises (the others are then cancelled and the error
    re-raised) or all return; cancelling the caller cancels them all."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Overlapped:
    """A poll loop's ``emit`` that does not wait for the commit: the loop polls again while the readings of its
    last polls are being committed to the spool, with at most ``depth`` emits under way (past that, it waits
    for the oldest), so a slow disk slows the polling down instead of filling memory. The readings reach
    ``emit`` in the order they were polled. A failed emit (the spool could not commit) raises at the next
    :meth:`submit`: the loop stops as it would have with a plain ``await emit()``.

    For polled devices only: nothing is acknowledged to them, so a crash loses at most the polls under way,
    as it always could lose the poll in hand. A source that acknowledges (MQTT) awaits ``emit`` itself.
    """

    def __init__(self, emit: Emit, depth: int = 3):
        self._emit = emit
        self.depth = max(1, depth)
        self._pending: collections.deque[asyncio.Future] = collections.deque()

    async def submit(self, readings: list[Reading]) -> None:
        # A task starts running in creation order, and emit takes its readings before its first await: order
        # is kept.
        self._pending.append(asyncio.ensure_future(self._emit(readings)))
        while self._pending and (self._pending[0].done() or len(self._pending) > self.depth):
            await self._pending.popleft()  # raises what the emit raised

    async def close(self) -> None:
        """On the loop's way out (an error or a cancellation): let the emits under way finish, so the readings
        already polled are committed rather than dropped, without raising their errors over the loop's own."""
        pending, self._pending = list(self._pending), collections.deque()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def next_due(due: float, interval: float, now: float) -> float:
    """The next poll time after one at ``due`` (loop clock): ``due + interval``. A poll that overran by less
    than half an interval (a slow answer, a busy moment) is followed by the next one at once, keeping the grid;
    when it overran by more (a slow device), the next slot on the same grid after ``now`` — missed polls are
    skipped, not made up in a burst."""
    due += interval
    if now - due > interval / 2:
        due = now + interval - (now - due) % interval
    return due


def show_values(values: dict[str, float], limit: int = 8) -> str:
    """``CODE=value, ...`` for a check() summary, the first ``limit`` of them."""
    shown = ", ".join(f"{code}={value:g}" for code, value in list(values.items())[:limit])
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")


class TagProblems:
    """Per-tag problems (a value that does not decode, a bad status): counted in the source's stats every
    time, logged once per new problem and once when the tag recovers."""

    def __init__(self, source: Any, logger: Any):
        self.source, self.logger = source, logger
        self.current: dict[str, str] = {}

    def failed(self, code: str, problem: str) -> None:
        stats = self.source.stats
        stats.errors += 1
        stats.last_error = f"{code}: {problem}"
        if self.current.get(code) != problem:
            self.logger.warning("%s: %s not reported: %s", self.source.name, code, problem)
        self.current[code] = problem

    def ok(self, code: str) -> None:
        if self.current.pop(code, None) is not None:
            self.logger.info("%s: %s reads valid values again", self.source.name, code)

    def summary(self) -> str:
        return "; ".join(f"{code}: {problem}" for code, problem in self.current.items())
