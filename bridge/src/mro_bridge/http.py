"""``/healthz`` (JSON) and ``/metrics`` (Prometheus text format) on a small asyncio HTTP server.

The server is meant for a monitoring system on the plant network, and kept small accordingly: GET only, at
most ``max_connections`` clients at once (others are closed at once), ``request_timeout`` seconds for a
whole request, a bounded request head, and no error text in /healthz unless ``show_errors`` is set (errors
name hosts, paths and Odoo's messages).
"""

from __future__ import annotations

import asyncio
import json
import time

from mro_bridge import __version__
from mro_bridge.pipeline import Pipeline, quantile
from mro_bridge.supervise import DeviceState

#: Odoo unreachable for this long makes /healthz answer 503.
ODOO_DOWN_AFTER = 300.0
#: Largest request head (request line and headers, bytes) the server reads.
MAX_HEAD_BYTES = 16 * 1024


class Status:
    """What the endpoints report: the pipeline and every device's state."""

    def __init__(
        self, pipeline: Pipeline, devices: list[DeviceState], sources: list | None = None, show_errors: bool = False
    ):
        self.pipeline = pipeline
        self.devices = devices
        #: The sources, for their own counters (an MQTT source's queue drops).
        self.sources = sources or []
        self.show_errors = show_errors
        self.started = time.time()
        #: Connections refused because max_connections were open.
        self.refused = 0

    def health(self) -> tuple[int, dict]:
        m = self.pipeline.metrics
        spool = self.pipeline.spool
        up = [d for d in self.devices if d.state == "up"]
        odoo_ok = m.odoo_up or (time.time() - max(m.odoo_last_ok, self.started)) < ODOO_DOWN_AFTER
        status = "ok" if odoo_ok and len(up) == len(self.devices) else "degraded"
        code = 200 if odoo_ok and (up or not self.devices) else 503
        body = {
            "status": status if code == 200 else "down",
            "version": __version__,
            "odoo": {"up": m.odoo_up},
            "spool": {"depth": spool.depth(), "oldest_age_seconds": round(spool.oldest_age(), 1),
                      "dropped": spool.dropped(), "dead_letters": spool.dead_letters()},
            "devices": {d.name: {"kind": d.kind, "state": d.state, "reads": d.reads, "errors": d.errors}
                        for d in self.devices},
        }  # fmt: skip
        if self.show_errors:
            body["odoo"]["last_error"] = m.odoo_last_error
            for d in self.devices:
                body["devices"][d.name]["last_error"] = d.last_error
        return code, body

    def metrics(self) -> str:
        m = self.pipeline.metrics
        spool = self.pipeline.spool
        lines = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                lines.append(f"{name}{labels} {value}")

        def lab(d: DeviceState) -> str:
            return f'{{device="{d.name}",kind="{d.kind}"}}'

        metric("mro_bridge_device_up", "gauge", "1 when the device delivers readings",
               [(lab(d), 1 if d.state == "up" else 0) for d in self.devices])  # fmt: skip
        metric("mro_bridge_device_demoted", "gauge", "1 while the device is demoted after repeated failures",
               [(lab(d), 1 if d.state == "demoted" else 0) for d in self.devices])  # fmt: skip
        metric("mro_bridge_reads_total", "counter", "readings read from the device",
               [(lab(d), d.reads) for d in self.devices])  # fmt: skip
        metric("mro_bridge_errors_total", "counter", "connection or read failures of the device",
               [(lab(d), d.errors) for d in self.devices])  # fmt: skip
        metric("mro_bridge_spool_depth", "gauge", "readings waiting in the spool", [("", spool.depth())])
        metric("mro_bridge_spool_oldest_age_seconds", "gauge", "age of the oldest unsent reading",
               [("", round(spool.oldest_age(), 3))])  # fmt: skip
        metric("mro_bridge_spool_dropped_total", "counter", "readings dropped by the spool's overflow policy",
               [("", spool.dropped())])  # fmt: skip
        metric("mro_bridge_dead_letters_total", "counter", "items Odoo or the bridge refused, with a reason",
               [("", spool.dead_letters() + spool.dead_letters_dropped())])  # fmt: skip
        metric("mro_bridge_dead_letters", "gauge", "dead letters held (at most spool.max_dead_letters)",
               [("", spool.dead_letters())])  # fmt: skip
        metric("mro_bridge_dead_letters_dropped_total", "counter", "oldest dead letters deleted to stay within the cap",
               [("", spool.dead_letters_dropped())])  # fmt: skip
        queued = [(f'{{device="{s.name}",kind="{s.kind}"}}', int(s.stats.extra["queue_dropped"]))
                  for s in self.sources if "queue_dropped" in s.stats.extra]  # fmt: skip
        metric("mro_bridge_mqtt_queue_dropped_total", "counter",
               "MQTT messages dropped, the source's queue full (QoS 1 ones come again)", queued)  # fmt: skip
        metric("mro_bridge_odoo_bisections_total", "counter", "batches Odoo failed as a whole, split to find why",
               [("", m.bisections)])  # fmt: skip
        metric("mro_bridge_http_refused_total", "counter", "HTTP connections refused (max_connections open)",
               [("", self.refused)])  # fmt: skip
        metric("mro_bridge_received_total", "counter", "readings the sources delivered", [("", m.received)])
        metric("mro_bridge_filtered_total", "counter", "readings inside their deadband", [("", m.filtered)])
        metric("mro_bridge_sent_total", "counter", "readings Odoo acknowledged", [("", m.sent)])
        metric("mro_bridge_odoo_up", "gauge", "1 when the last call to Odoo succeeded", [("", int(m.odoo_up))])
        metric("mro_bridge_odoo_errors_total", "counter", "failed calls to Odoo", [("", m.odoo_errors)])
        w = m.write_seconds
        metric("mro_bridge_odoo_write_seconds", "summary", "duration of ingest calls to Odoo",
               [('{quantile="0.5"}', round(quantile(w, 0.5), 4)), ('{quantile="0.95"}', round(quantile(w, 0.95), 4)),
                ("_sum", round(m.write_seconds_sum, 3)), ("_count", m.batches + m.odoo_errors)])  # fmt: skip
        lat = m.latency_seconds
        metric("mro_bridge_latency_seconds", "summary", "source timestamp to committed in Odoo (recent readings)",
               [('{quantile="0.5"}', round(quantile(lat, 0.5), 4)),
                ('{quantile="0.95"}', round(quantile(lat, 0.95), 4))])  # fmt: skip
        return "\n".join(lines) + "\n"


async def serve(
    status: Status, host: str, port: int, max_connections: int = 16, request_timeout: float = 10.0
) -> asyncio.AbstractServer:
    """Start the HTTP server (GET /healthz, GET /metrics); see the module docstring for its limits."""
    open_connections = 0

    async def read_head(reader: asyncio.StreamReader) -> bytes:
        head = b""
        while not head.endswith((b"\r\n\r\n", b"\n\n")):
            line = await reader.readline()
            if not line:
                break
            head += line
            if len(head) > MAX_HEAD_BYTES:
                raise ValueError("request head too large")
        return head

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_connections
        if open_connections >= max_connections:
            status.refused += 1
            writer.close()
            return
        open_connections += 1
        try:
            try:
                head = await asyncio.wait_for(read_head(reader), timeout=request_timeout)
            except ValueError:
                head = None
            parts = head.decode("latin-1").split("\n", 1)[0].split() if head is not None else []
            path = parts[1].split("?")[0] if len(parts) > 1 else "/"
            if head is None:
                code, body, ctype = 431, "request head too large\n", "text/plain"
            elif parts[:1] != ["GET"]:
                code, body, ctype = 405, "only GET\n", "text/plain"
            elif path == "/healthz":
                code, data = status.health()
                body, ctype = json.dumps(data, indent=1) + "\n", "application/json"
            elif path == "/metrics":
                code, body, ctype = 200, status.metrics(), "text/plain; version=0.0.4"
            else:
                code, body, ctype = 404, "try /healthz or /metrics\n", "text/plain"
            payload = body.encode()
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
                      503: "Service Unavailable"}[code]  # fmt: skip
            writer.write(
                f"HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await asyncio.wait_for(writer.drain(), timeout=request_timeout)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            open_connections -= 1
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=MAX_HEAD_BYTES)
