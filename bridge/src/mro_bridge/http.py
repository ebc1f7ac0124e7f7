"""``/healthz`` (JSON) and ``/metrics`` (Prometheus text format) on a small asyncio HTTP server."""

from __future__ import annotations

import asyncio
import json
import time

from mro_bridge import __version__
from mro_bridge.pipeline import Pipeline, quantile
from mro_bridge.supervise import DeviceState

#: Odoo unreachable for this long makes /healthz answer 503.
ODOO_DOWN_AFTER = 300.0


class Status:
    """What the endpoints report: the pipeline and every device's state."""

    def __init__(self, pipeline: Pipeline, devices: list[DeviceState]):
        self.pipeline = pipeline
        self.devices = devices
        self.started = time.time()

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
            "odoo": {"up": m.odoo_up, "last_error": m.odoo_last_error},
            "spool": {"depth": spool.depth(), "oldest_age_seconds": round(spool.oldest_age(), 1),
                      "dropped": spool.dropped(), "dead_letters": spool.dead_letters()},
            "devices": {d.name: {"kind": d.kind, "state": d.state, "reads": d.reads, "errors": d.errors,
                                 "last_error": d.last_error} for d in self.devices},
        }  # fmt: skip
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
        metric("mro_bridge_dead_letters_total", "counter", "items Odoo or the bridge refused, kept with a reason",
               [("", spool.dead_letters())])  # fmt: skip
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


async def serve(status: Status, host: str, port: int) -> asyncio.AbstractServer:
    """Start the HTTP server (GET /healthz, GET /metrics)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=10)
            while (await asyncio.wait_for(reader.readline(), timeout=10)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) > 1 else "/"
            if parts[:1] != ["GET"]:
                code, body, ctype = 405, "only GET\n", "text/plain"
            elif path == "/healthz":
                code, data = status.health()
                body, ctype = json.dumps(data, indent=1) + "\n", "application/json"
            elif path == "/metrics":
                code, body, ctype = 200, status.metrics(), "text/plain; version=0.0.4"
            else:
                code, body, ctype = 404, "try /healthz or /metrics\n", "text/plain"
            payload = body.encode()
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[code]
            writer.write(
                f"HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
