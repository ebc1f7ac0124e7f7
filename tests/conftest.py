"""Fixtures for cross-component tests: a real Odoo server on a copy of the test database."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Pure modules of the addons (no Odoo import), importable on their own.
for addon in sorted((HERE.parent / "addons").glob("*/__manifest__.py")):
    sys.path.insert(0, str(addon.parent))

import odoo_server  # noqa: E402

ADMIN = ("admin", "admin")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A database with every addon and its demo data: `make test`'s, or one made here."""
    name = os.environ.get("MRO_TEMPLATE_DB")
    if name and odoo_server.db_exists(name):
        return name
    name = "mro_pytest_template"
    odoo_server.create_db(name, log=tmp_path_factory.mktemp("odoo") / "create.log")
    return name


@pytest.fixture
def odoo(template_db, tmp_path):
    """A running Odoo server on a fresh copy of the template database (named MRO_TEST_DB_PREFIX + a random suffix;
    dropped afterwards)."""
    db = f"{os.environ.get('MRO_TEST_DB_PREFIX', 'mro_pytest_')}{uuid.uuid4().hex[:8]}"
    odoo_server.copy_db(template_db, db)
    server = odoo_server.OdooServer(db=db, log_path=tmp_path / "odoo.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        odoo_server.drop_db(db)


@contextlib.contextmanager
def private_broker(workdir: Path):
    """A private Mosquitto on a free port, as a site would configure one for the bridge: the broker keeps
    every message of a persistent session while the bridge is away (Mosquitto's default keeps only 1,000 per
    client and silently drops the rest, which 50 tags at 10 Hz overflow in two seconds). Yields (host, port)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(binary, os.X_OK):
        raise RuntimeError("Mosquitto is not installed: `make test` installs it (scripts/lib.sh ensure_mosquitto)")
    port = odoo_server.free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 100\n"
    )
    log = workdir / "mosquitto.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen([binary, "-c", str(conf)], stderr=stderr)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"Mosquitto did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def broker(tmp_path):
    """A private Mosquitto for one test (see private_broker)."""
    with private_broker(tmp_path) as address:
        yield address
