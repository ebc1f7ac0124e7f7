"""MQTT source: topic filters mapped to sensor codes, JSON payload paths, QoS 1 with a persistent session and
acknowledgements sent only once the readings are in the spool.

paho-mqtt runs its network loop in its own thread; messages cross into asyncio through a queue. The client
uses a fixed client id, ``clean_start = False`` (MQTT 5, with a session expiry) or ``clean_session = False``
(MQTT 3.1.1) and manual acknowledgements: a PUBACK goes to the broker only after ``emit()`` returned, so a
bridge that dies before its readings are durable gets the messages again from the broker when it comes back.

A payload that cannot be used (not JSON, nested too deep, a number too large for a float or with too many
digits, a value that is not a finite number, an unreadable timestamp, larger than ``max_payload``:
whatever the decoder raises) does not stop the flow: it is handed to :attr:`MqttSource.dead_letter` with
the reason, then acknowledged like any other message.

The queue between paho's thread and asyncio holds at most ``max_queue`` messages. With MQTT 5 the broker is
asked to keep at most half as many unacknowledged QoS 1 messages in flight (Receive Maximum; brokers may
overshoot it a little). A QoS 0 message that
finds the queue full is dropped, as QoS 0 allows, and counted (``queue_dropped``, in /metrics); a QoS 1 one
is counted too, left unacknowledged, and the connection is restarted so that the broker sends it again
(nothing acknowledged is ever lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mro_bridge.model import ConfigError, Emit, Reading, Source, TagCommon
from mro_bridge.schema import option, read
from mro_bridge.sources._common import show_values, tables, unique_codes

_log = logging.getLogger(__name__)

#: ``dead_letter(code_or_topic, ts, raw, reason)``: the sensor code when the problem is one tag's value or
#: timestamp, the topic when the whole payload is unusable; ``ts`` the receive time (UTC epoch seconds);
#: ``raw`` the payload as text (at most ``RAW_LIMIT`` characters); ``reason`` one human sentence. It returns
#: once the item is stored; if it raises, the message is not acknowledged (and comes again).
DeadLetter = Callable[[str, float, str, str], Awaitable[None]]


@dataclass
class MqttDevice:
    """An ``[[mqtt]]`` table: one broker connection (one client id)."""

    host: str = option(doc="the broker's host name or address")
    name: str | None = option(None, doc="label in logs and /metrics", shown_default='`"host:port"`')
    port: int | None = option(
        None, minimum=1, maximum=65535, shown_default="`1883`, or `8883` with TLS", doc="TCP port"
    )
    client_id: str | None = option(
        None,
        shown_default='`"mro-bridge-<host name>-<name>"`',
        doc="fixed: the broker keeps this client's session while the bridge is away",
    )
    protocol: str = option(
        "5", choices=("5", "3.1.1"), doc='"5" (clean_start = false + session_expiry) or "3.1.1" (clean_session = false)'
    )
    keepalive: int = option(30, minimum=5, maximum=65535, unit="s", doc="MQTT keepalive")
    session_expiry: int = option(
        7 * 86400,
        minimum=60,
        maximum=2**32 - 1,
        unit="s",
        doc="seconds the broker keeps the session (and queues messages) while the bridge is away (MQTT 5)",
    )
    timeout: float = option(10.0, positive=True, unit="s", doc="seconds to connect and subscribe")
    max_payload: int = option(
        65536, minimum=16, maximum=256 * 1024 * 1024, unit="bytes", doc="larger messages are dead-lettered"
    )
    max_queue: int = option(
        10_000,
        minimum=1,
        maximum=1_000_000,
        doc="messages waiting for the spool; QoS 0 ones over it are dropped and counted "
        "(`mro_bridge_mqtt_queue_dropped_total`), QoS 1 ones come again after a reconnection",
    )
    username: str | None = option(None, doc="omit for anonymous")
    password: str | None = option(None, secret=True, doc="with `username`")
    tls: bool = option(False, doc="TLS to the broker (implied by `tls_ca` / `tls_cert`)")
    tls_ca: str | None = option(
        None, shown_default="(the system's)", doc="file of the CA that signed the broker's certificate"
    )
    tls_cert: str | None = option(None, doc="client certificate file, if the broker requires one (with `tls_key`)")
    tls_key: str | None = option(None, doc="the client certificate's key file")
    tls_insecure: bool = option(
        False, doc="true: do not check that the certificate names the host (the chain is still checked)"
    )


RAW_LIMIT = 2048
BATCH_MAX = 1000
#: Longest reason for an unusable payload (characters): decoders quote what they choke on.
REASON_LIMIT = 300


@dataclass
class MqttTag(TagCommon):
    """An ``[[mqtt.tags]]`` table: the common settings plus the topic filter and where the value and the
    timestamp are in the JSON payload."""

    topic: str = option(
        "",
        required=True,
        doc="MQTT topic filter: `+` one level, `#` the rest",
        odoo="source_address",
        wire="address",
    )
    value_path: str = option(
        "",
        doc='dot path of the value in the JSON payload ("": the payload is the number itself; list items by '
        'index: "values.0")',
        odoo="mqtt_value_path",
    )
    timestamp_path: str = option(
        "",
        doc="dot path of the source timestamp: epoch s/ms/µs (told apart by size) or ISO 8601 (no offset = UTC); "
        '"", or missing in a message: the time the message arrived',
        odoo="mqtt_ts_path",
        wire="ts_path",
    )


@dataclass(frozen=True)
class _Lost:
    reason: str


class PayloadError(ValueError):
    """A payload, value or timestamp that cannot make a reading; the message says why."""


_MISSING = object()


def _at(document: Any, path: str) -> Any:
    """The item at dot ``path`` ("data.values.0.v") in a JSON document, or _MISSING."""
    if not path:
        return document
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and re.fullmatch(r"-?\d+", part) and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def extract_value(document: Any, path: str) -> float:
    """The finite number at ``path`` (booleans count as 0/1); raises PayloadError saying what is there."""
    where = f"at {path!r}" if path else "(the whole payload)"
    value = _at(document, path)
    if value is _MISSING:
        raise PayloadError(f"no value {where}")
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, (int, float)):
        raise PayloadError(f"value {where} is {type(value).__name__} {_short(value)}, not a number")
    try:
        number = float(value)
    except OverflowError:
        raise PayloadError(f"value {where} is an integer too large for a float") from None
    if not math.isfinite(number):
        raise PayloadError(f"value {where} is {number}, not a finite number")
    return number


def parse_timestamp(value: Any) -> float:
    """UTC epoch seconds from epoch seconds / milliseconds / microseconds (told apart by magnitude) or an ISO
    8601 string (no offset = UTC); raises PayloadError."""
    if isinstance(value, str):
        text_value = value.strip()
        try:
            value = float(text_value)
        except ValueError:
            try:
                parsed = dt.datetime.fromisoformat(text_value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise PayloadError(f"timestamp {_short(text_value)} is neither epoch time nor ISO 8601") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
            return parsed.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"timestamp {_short(value)} is neither epoch time nor ISO 8601")
    try:
        value = float(value)
    except OverflowError:
        raise PayloadError("timestamp is an integer too large for a float") from None
    if not math.isfinite(value):
        raise PayloadError(f"timestamp {_short(value)} is neither epoch time nor ISO 8601")
    magnitude = abs(value)
    if magnitude >= 1e14:
        return value / 1e6
    if magnitude >= 1e11:
        return value / 1e3
    return float(value)


def _short(value: Any) -> str:
    try:
        shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):  # an integer with too many digits, a document nested too deep
        shown = f"({type(value).__name__})"
    return shown if len(shown) <= 60 else shown[:57] + "..."


class MqttSource(Source):
    """One MQTT broker connection (one client id) and the topics it maps to sensors."""

    kind = "mqtt"

    def __init__(self, name: str, settings: MqttDevice, tags: list[MqttTag]):
        super().__init__(name, settings)
        self._tags = tags
        # Which tags a topic feeds: a dictionary for plain topics, a match against each wildcard filter.
        self._exact: dict[str, list[MqttTag]] = {}
        self._wild: list[MqttTag] = []
        for tag in tags:
            if "+" in tag.topic or "#" in tag.topic:
                self._wild.append(tag)
            else:
                self._exact.setdefault(tag.topic, []).append(tag)
        self.client_id = settings.client_id or f"mro-bridge-{socket.gethostname()}-{name}"
        self.tls = settings.tls or bool(settings.tls_ca or settings.tls_cert)
        self.port = settings.port or (8883 if self.tls else 1883)
        #: Set by the pipeline: where unusable messages go (see :data:`DeadLetter`). None: logged and dropped.
        self.dead_letter: DeadLetter | None = None
        self.stats.extra.update(subscribed=0, dead_letters=0, unmatched=0, queue_dropped=0)
        #: A QoS 1 message met a full queue: the connection is restarted (the broker sends it again).
        self._overflowed = False

    @property
    def period(self) -> float:
        # Publishers speak when they like: silence is no sign of a dead broker (the MQTT keepalive is), so 0
        # tells the supervisor not to judge this connection by silence.
        return 0.0

    @property
    def tags(self) -> list[TagCommon]:
        return list(self._tags)

    # -- connection -------------------------------------------------------------------------------------

    def _client(self, client_id: str, persistent: bool) -> paho.Client:
        v5 = self.protocol == "5"
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if v5 else not persistent,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            reconnect_on_failure=False,  # the supervisor reconnects, with backoff
            manual_ack=persistent,
        )
        client.connect_timeout = self.timeout
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls or self.tls_ca or self.tls_cert:
            client.tls_set(ca_certs=self.tls_ca, certfile=self.tls_cert, keyfile=self.tls_key)
            client.tls_insecure_set(self.tls_insecure)
        return client

    async def _open(self, queue: asyncio.Queue, persistent: bool = True) -> paho.Client:
        """Connect, start paho's thread and subscribe every tag's filter; messages and a connection loss
        arrive in ``queue`` as ``(message, receive time)`` and ``_Lost``."""
        loop = asyncio.get_running_loop()
        client_id = self.client_id if persistent else f"{self.client_id}-check-{int(time.time() * 1000) % 10**9}"
        client = self._client(client_id, persistent)
        connack: asyncio.Future = loop.create_future()
        suback: asyncio.Future = loop.create_future()

        def settle(future: asyncio.Future, value: Any) -> None:
            if not future.done():
                future.set_result(value)

        def on_connect(_c, _u, flags, reason_code, _p):
            loop.call_soon_threadsafe(settle, connack, (reason_code, flags))

        def on_subscribe(_c, _u, _mid, reason_codes, _p):
            loop.call_soon_threadsafe(settle, suback, reason_codes)

        def deliver(message: paho.MQTTMessage, received: float) -> None:  # in the event loop
            if not self._overflowed and queue.qsize() < self.max_queue:
                queue.put_nowait((message, received))
                return
            # Full, or draining before the restart an earlier QoS 1 drop asked for: dropped (a QoS 1 message, not
            # acknowledged, comes again after the restart).
            self.stats.extra["queue_dropped"] += 1
            if message.qos > 0 and not self._overflowed:
                self._overflowed = True
                _log.warning(
                    "%s: message queue full (%d): the connection restarts so that the broker sends again what "
                    "was not acknowledged",
                    self.name,
                    self.max_queue,
                )

        def on_message(_c, _u, message):
            loop.call_soon_threadsafe(deliver, message, time.time())

        def on_disconnect(_c, _u, _flags, reason_code, _p):
            loop.call_soon_threadsafe(queue.put_nowait, _Lost(f"disconnected ({reason_code})"))
            loop.call_soon_threadsafe(settle, connack, (reason_code, None))

        client.on_connect, client.on_subscribe = on_connect, on_subscribe
        client.on_message, client.on_disconnect = on_message, on_disconnect
        properties = None
        kwargs: dict[str, Any] = {}
        if self.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self.session_expiry if persistent else 0
            # Fewer unacknowledged QoS 1 messages in flight than the queue holds: half of it, as brokers may
            # overshoot (Mosquitto 2.0 sends a few more once acknowledgements come).
            properties.ReceiveMaximum = max(1, min(self.max_queue // 2, 65535))
            kwargs = {"clean_start": not persistent, "properties": properties}
        where = f"MQTT broker {self.host}:{self.port}"
        connecting = asyncio.ensure_future(
            asyncio.to_thread(client.connect, self.host, self.port, self.keepalive, **kwargs)
        )
        try:
            await asyncio.shield(connecting)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionError(f"cannot connect to {where}: {exc}") from exc
        except asyncio.CancelledError:
            # the thread cannot be interrupted: let it finish (within `timeout`), then drop its socket
            with contextlib.suppress(Exception):
                await connecting
            if (sock := client.socket()) is not None:
                sock.close()
            raise
        client.loop_start()
        try:
            reason_code, flags = await asyncio.wait_for(connack, self.timeout)
            if flags is None:
                raise ConnectionError(
                    f"{where} closed the connection before accepting it ({reason_code}); brokers do this e.g. when "
                    "they require a client certificate (tls_cert/tls_key) or another protocol version"
                )
            if reason_code.is_failure:
                raise ConnectionError(f"{where} refused the connection: {reason_code}")
            if persistent and not getattr(flags, "session_present", True):
                _log.info(
                    "%s: %s has no session for client id %s yet (first connection, or it expired: what was "
                    "published while the bridge was away is lost)",
                    self.name,
                    where,
                    client_id,
                )
            filters = list(dict.fromkeys(t.topic for t in self._tags))
            result, _mid = client.subscribe([(f, 1) for f in filters])
            if result != paho.MQTT_ERR_SUCCESS:
                raise ConnectionError(f"{where}: subscribe failed ({paho.error_string(result)})")
            codes = await asyncio.wait_for(suback, self.timeout)
            refused = [f"{f} ({c})" for f, c in zip(filters, codes, strict=False) if c.is_failure]
            if refused:
                raise ConnectionError(f"{where} refused the subscription to {', '.join(refused)}")
            downgraded = [f for f, c in zip(filters, codes, strict=False) if c.value == 0]
            if downgraded:
                _log.warning("%s: %s granted only QoS 0 for %s: no redelivery", self.name, where, ", ".join(downgraded))
        except BaseException:
            await self._close(client)
            raise
        self.stats.extra["subscribed"] = len(filters)
        return client

    async def _close(self, client: paho.Client) -> None:
        self.stats.extra["subscribed"] = 0
        try:
            client.disconnect()
        except Exception as exc:  # already gone
            _log.debug("%s: disconnect: %r", self.name, exc)
        await asyncio.to_thread(client.loop_stop)

    # -- messages ---------------------------------------------------------------------------------------

    async def _dead(self, key: str, ts: float, raw: str, reason: str) -> None:
        self.stats.errors += 1
        self.stats.extra["dead_letters"] += 1
        self.stats.last_error = f"{key}: {reason}"
        if self.dead_letter is not None:
            await self.dead_letter(key, ts, raw[:RAW_LIMIT], reason)
        else:
            _log.warning("%s: message on %s dropped: %s", self.name, key, reason)

    async def process(
        self, message: paho.MQTTMessage, received: float, dead: DeadLetter | None = None
    ) -> list[Reading]:
        """The readings in one message; what cannot be used goes to ``dead`` (default: the dead-letter hook)."""
        dead = dead or self._dead
        topic = message.topic
        tags = self._exact.get(topic, []) + [t for t in self._wild if paho.topic_matches_sub(t.topic, topic)]
        if not tags:
            self.stats.extra["unmatched"] += 1  # e.g. a filter a previous configuration left in the session
            return []
        payload = message.payload
        if len(payload) > self.max_payload:
            raw = payload[:RAW_LIMIT].decode("utf-8", "replace")
            await dead(topic, received, raw, f"payload of {len(payload)} bytes exceeds max_payload")
            return []
        raw = payload[: RAW_LIMIT * 4].decode("utf-8", "replace")
        try:
            document = json.loads(payload.decode("utf-8"))
        except UnicodeDecodeError:
            await dead(topic, received, raw, "payload is not UTF-8 text")
            return []
        except json.JSONDecodeError as exc:
            await dead(topic, received, raw, f"payload is not JSON ({exc.msg} at character {exc.pos})")
            return []
        except RecursionError:
            await dead(topic, received, raw, "payload is not usable JSON (nested too deep)")
            return []
        except Exception as exc:  # whatever the decoder raises (e.g. an integer with too many digits): dead letter
            await dead(topic, received, raw, _reason("payload is not usable JSON", exc))
            return []
        readings = []
        for tag in tags:
            try:
                value = extract_value(document, tag.value_path)
                ts = received
                if tag.timestamp_path:
                    stamp = _at(document, tag.timestamp_path)
                    if stamp is not _MISSING:
                        ts = parse_timestamp(stamp)
            except PayloadError as exc:
                await dead(tag.code, received, raw, str(exc))
                continue
            except Exception as exc:  # any other surprise in one message must not stop the source
                await dead(tag.code, received, raw, _reason("value or timestamp not usable", exc))
                continue
            readings.append(Reading(tag.code, ts, value))
        return readings

    async def run(self, emit: Emit) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        self._overflowed = False
        client = await self._open(queue)
        _log.info("%s: subscribed to %d filter(s) at %s:%d", self.name, len(self._tags), self.host, self.port)
        try:
            while True:
                batch = [await queue.get()]
                while not queue.empty() and len(batch) < BATCH_MAX:
                    batch.append(queue.get_nowait())
                readings: list[Reading] = []
                messages = []
                lost = None
                for item in batch:
                    if isinstance(item, _Lost):
                        lost = item
                        break
                    message, received = item
                    readings += await self.process(message, received)
                    messages.append(message)
                if readings:
                    await emit(readings)
                    self.stats.reads += len(readings)
                for message in messages:  # in arrival order, as MQTT 3.1.1 requires
                    if message.qos > 0:
                        client.ack(message.mid, message.qos)
                if lost is not None:
                    raise ConnectionError(f"MQTT broker {self.host}:{self.port}: {lost.reason}")
                if self._overflowed and queue.empty():
                    raise ConnectionError(
                        f"MQTT broker {self.host}:{self.port}: the message queue was full ({self.max_queue}); "
                        "reconnecting for the messages not acknowledged"
                    )
        finally:
            await self._close(client)

    async def check(self) -> str:
        """Connect with a separate, non-persistent client id (so the running bridge's session is left alone),
        subscribe, and report what arrives within ``timeout`` seconds (retained messages come at once)."""
        queue: asyncio.Queue = asyncio.Queue()
        client = await self._open(queue, persistent=False)
        values: dict[str, float] = {}
        problems: list[str] = []

        async def note(key: str, _ts: float, _raw: str, reason: str) -> None:
            problems.append(f"{key}: {reason}")

        loop = asyncio.get_running_loop()
        wait = min(self.timeout, 5.0)
        end = loop.time() + wait
        try:
            while len(values) < len(self._tags) and (left := end - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(queue.get(), left)
                except asyncio.TimeoutError:
                    break
                if isinstance(item, _Lost):
                    raise ConnectionError(f"MQTT broker {self.host}:{self.port}: {item.reason}")
                values.update((r.code, r.value) for r in await self.process(*item, dead=note))
        finally:
            await self._close(client)
        silent = len(self._tags) - len(values)
        summary = f"mqtt {self.name} ({self.host}:{self.port}): subscribed to {len(self._tags)} tag(s)"
        summary += f"; values: {show_values(values)}" if values else ""
        summary += f"; {silent} tag(s) sent nothing within {wait:g} s" if silent else ""
        if problems:
            raise PayloadError(f"{summary}; unusable messages: {'; '.join(problems[:5])}")
        return summary


def _tag_from_dict(data: dict[str, Any], path: str) -> MqttTag:
    tag = MqttTag(**read(MqttTag, data, path))
    levels = tag.topic.split("/")
    for i, level in enumerate(levels):
        if ("#" in level and (level != "#" or i != len(levels) - 1)) or ("+" in level and level != "+"):
            raise ConfigError(
                f"{path}.topic", f"{tag.topic!r} is not a valid filter ('+' takes a whole level, '#' only the last one)"
            )
    for key in ("value_path", "timestamp_path"):
        value = data.get(key, "")
        if not isinstance(value, str) or (value and any(not part for part in value.split("."))):
            raise ConfigError(f"{path}.{key}", f"must be a dot path like 'data.value' (or empty), not {value!r}")
    return tag


def from_dict(data: dict[str, Any], path: str) -> MqttSource:
    """An MqttSource from one ``[[mqtt]]`` table; raises ConfigError naming the offending key."""
    device = MqttDevice(**read(MqttDevice, data, path, extra=("tags",)))
    if (device.tls_cert is None) != (device.tls_key is None):
        key = "tls_key" if device.tls_key is None else "tls_cert"
        raise ConfigError(f"{path}.{key}", "tls_cert and tls_key go together")
    if device.password is not None and device.username is None:
        raise ConfigError(f"{path}.username", "is required when a password is given")
    tags = [_tag_from_dict(tag, tag_path) for tag, tag_path in tables(data, "tags", path)]
    unique_codes([(t.code, f"{path}.tags[{i}]") for i, t in enumerate(tags)], path)
    if device.client_id is not None and len(device.client_id.encode()) > 65535:
        raise ConfigError(f"{path}.client_id", "is too long")
    port = device.port or (8883 if device.tls or device.tls_ca or device.tls_cert else 1883)
    return MqttSource(device.name or f"{device.host}:{port}", device, tags)


def _reason(what: str, exc: BaseException) -> str:
    """``what (ExceptionType: message)``, at most REASON_LIMIT characters."""
    text = f"{what} ({type(exc).__name__}: {exc})"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 4] + "...)"
