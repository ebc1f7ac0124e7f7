"""Start and stop a real Odoo 18 server process (and a private Mosquitto) for cross-component tests and benchmarks.

No Odoo import: the server runs as ``odoo-bin`` in its own process, exactly as in production,
and is reached over XML-RPC on a free local port.
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The demo administrator of the test databases (login, password).
ADMIN = ("admin", "admin")
ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/opt/odoo18"))
ADDONS = sorted(
    p.parent.name
    for p in (ROOT / "addons").glob("*/__manifest__.py")
    if ast.literal_eval(p.read_text()).get("installable", True)
)


def addons_path() -> str:
    # Odoo's, the OCA addons installed into this virtual environment (requirements-addons.txt), the suite's
    oca = Path(sysconfig.get_path("purelib")) / "odoo" / "addons"
    paths = [ODOO_SRC / "addons", ODOO_SRC / "odoo" / "addons", oca, ROOT / "addons"]
    return ",".join(str(p) for p in paths if p.is_dir())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_cmd(*args: str) -> list[str]:
    return [sys.executable, str(ODOO_SRC / "odoo-bin"), f"--addons-path={addons_path()}", *args]


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-d", db, "-c", sql], check=True, capture_output=True, text=True
    ).stdout.strip()


def db_exists(name: str) -> bool:
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def drop_db(name: str) -> None:
    subprocess.run(["dropdb", "--if-exists", "--force", name], check=True, capture_output=True)


def create_db(name: str, modules: list[str] | None = None, demo: bool = True, log: Path | None = None) -> None:
    """Create database ``name`` with ``modules`` installed (all of this repository's by default)."""
    drop_db(name)
    args = ["-d", name, "-i", ",".join(modules or ADDONS), "--stop-after-init", "--log-level=warn"]
    if not demo:
        args.append("--without-demo=all")
    with open(log or os.devnull, "ab") as out:
        subprocess.run(odoo_cmd(*args), check=True, stdout=out, stderr=subprocess.STDOUT)


def copy_db(template: str, name: str) -> None:
    drop_db(name)
    subprocess.run(["createdb", "-T", template, name], check=True, capture_output=True)
    # Filestore: a copied database shares nothing on disk that these tests need.


@dataclass
class OdooServer:
    """A running ``odoo-bin`` serving one database on a free port."""

    db: str
    port: int = field(default_factory=free_port)
    workers: int = 0
    log_path: Path | None = None
    extra_args: tuple[str, ...] = ()
    #: environment variables added to the server's (e.g. the job runner's ODOO_QUEUE_JOB_MAX_CAPACITY)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> OdooServer:
        args = [
            "-d",
            self.db,
            f"--db-filter=^{self.db}$",
            f"--http-port={self.port}",
            "--http-interface=127.0.0.1",
            f"--workers={self.workers}",
            # with workers, the longpolling process needs a port of its own (8072 may be another server's)
            *([f"--gevent-port={free_port()}"] if self.workers else []),
            "--max-cron-threads=0",
            "--log-level=warn",
            "--limit-time-real=600",
            "--limit-time-cpu=600",
            "--limit-request=100000",
            "--limit-memory-soft=4294967296",
            "--limit-memory-hard=6442450944",
            *self.extra_args,
        ]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            odoo_cmd(*args),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **self.env},
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"Odoo exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common").version()
                return
            except (OSError, xmlrpc.client.Error):
                time.sleep(0.3)
        raise TimeoutError(f"Odoo did not answer on {self.url} within {timeout}s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> OdooServer:
        return self.start() if not self.proc else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- XML-RPC helpers, the way the bridge and integrators call Odoo
    def login(self, login: str, password: str) -> int:
        uid = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common").authenticate(self.db, login, password, {})
        if not uid:
            raise PermissionError(f"Odoo refused {login!r}")
        return uid

    def models(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/object", allow_none=False)

    def call(self, uid: int, password: str, model: str, method: str, *args, **kwargs):
        return self.models().execute_kw(self.db, uid, password, model, method, list(args), kwargs)


def wait_for_port(port: int, process: subprocess.Popen, log: Path | None = None, timeout: float = 10.0) -> None:
    """Return once ``process`` (a server just started) accepts connections on 127.0.0.1:``port``; raise with
    its log when it exits or does not answer within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                text = log.read_text() if log and log.exists() else ""
                raise RuntimeError(f"{Path(process.args[0]).name} did not start on port {port}: {text}") from None
            time.sleep(0.1)


@contextlib.contextmanager
def private_broker(workdir: Path):
    """A private Mosquitto on a free port, as a site would configure one for the bridge: the broker keeps
    every message of a persistent session while the bridge is away (Mosquitto's default keeps only 1,000 per
    client and silently drops the rest, which 50 tags at 10 Hz overflow in two seconds). Yields (host, port)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(binary, os.X_OK):
        raise RuntimeError("Mosquitto is not installed: `make test` installs it (scripts/lib.sh ensure_mosquitto)")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 100\n"
    )
    log = workdir / "mosquitto.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen([binary, "-c", str(conf)], stderr=stderr)
    try:
        wait_for_port(port, process, log)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(10)


def bridge_credentials(odoo, gateway_code="LINE1"):
    """What an administrator does in the UI: 'Create bridge credentials' on the gateway, then 'Issue the key'
    (the key comes once, in the answer; the gateway's previous key stops working)."""
    admin_uid = odoo.login(*ADMIN)
    gw_ids = odoo.call(admin_uid, ADMIN[1], "mro.sensor.gateway", "search", [("code", "=", gateway_code)])
    assert gw_ids, "the demo gateway is missing"
    action = odoo.call(admin_uid, ADMIN[1], "mro.sensor.gateway", "action_create_bridge_credentials", gw_ids)
    wizard = odoo.call(admin_uid, ADMIN[1], action["res_model"], "create", {"gateway_id": gw_ids[0]})
    shown = odoo.call(admin_uid, ADMIN[1], action["res_model"], "action_generate", [wizard])
    return gw_ids[0], shown["context"]["default_login"], shown["context"]["default_api_key"]


def start_bridge(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mro_bridge.cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
        start_new_session=True,
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")}
