"""One supervised task per device: reconnect with exponential backoff and full jitter, treat "connected but
silent for N periods" as down, demote a device that keeps failing for a while, and never let one device
stall the others (each runs in its own task)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

from mro_bridge.config import SupervisorConfig
from mro_bridge.model import Emit, Reading, Source

_log = logging.getLogger(__name__)


class SilentDevice(Exception):
    """Connected, but no reading for too long."""


@dataclass
class DeviceState:
    """Link state of one device, for /healthz and /metrics."""

    name: str
    kind: str
    state: str = "starting"  # starting, up, down, demoted
    reads: int = 0
    errors: int = 0
    failures_in_a_row: int = 0
    last_error: str = ""
    last_read: float = 0.0
    demoted_until: float = 0.0
    reconnects: int = 0


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Full jitter: a uniform delay in [0, min(maximum, initial * 2**attempt)] seconds."""
    rng = rng or random
    return rng.uniform(0.0, min(maximum, initial * (2**attempt)))


async def supervise(source: Source, emit: Emit, config: SupervisorConfig, state: DeviceState) -> None:
    """Run ``source`` forever (until cancelled), reconnecting as described in the module docstring."""
    attempt = 0
    while True:
        state.state = "starting" if state.reconnects == 0 else "down"
        emitted = False
        period = source.period
        # "Connected but silent": no reading for silent_periods periods (sources that only speak on change,
        # like MQTT, have no period and are never called silent).
        silence = config.silent_periods * period if period > 0 else 0.0

        async def counted(readings: list[Reading]) -> None:
            nonlocal emitted
            emitted = True
            state.state = "up"
            state.reads += len(readings)
            state.last_read = time.monotonic()
            state.failures_in_a_row = 0
            await emit(readings)

        started = time.monotonic()
        state.last_read = 0.0
        task = asyncio.create_task(source.run(counted), name=f"source {source.name}")
        error: BaseException | None = None
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=max(0.5, silence / 4) if silence else None)
                if task in done:
                    error = task.exception() or RuntimeError("the source stopped")
                    break
                last = state.last_read or started
                if silence and time.monotonic() - last > silence:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    error = SilentDevice(
                        f"no reading for {time.monotonic() - last:.0f} s ({config.silent_periods} periods)"
                    )
                    break
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        state.errors += 1
        state.failures_in_a_row += 1
        state.last_error = f"{type(error).__name__}: {error}"
        state.state = "down"
        state.reconnects += 1
        if emitted:
            attempt = 0
        _log.warning(
            "device down",
            extra={"event": "device_down", "device": source.name, "kind": source.kind, "error": state.last_error,
                   "failures_in_a_row": state.failures_in_a_row},
        )  # fmt: skip
        if state.failures_in_a_row >= config.demote_after:
            state.state = "demoted"
            state.demoted_until = time.time() + config.demote_for
            _log.error(
                "device demoted",
                extra={"event": "device_demoted", "device": source.name, "seconds": config.demote_for},
            )
            await asyncio.sleep(config.demote_for)
            state.failures_in_a_row = 0
            attempt = 0
            continue
        await asyncio.sleep(backoff_delay(attempt, config.backoff_initial, config.backoff_max))
        attempt += 1
