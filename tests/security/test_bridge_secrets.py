"""The bridge's key on disk and on the wire, and the key's life in Odoo.

Before: `mro-bridge pull-config` wrote the API key with the default umask (world-readable), the bridge read
a key from a file anyone could read, sent it over plain http to any host, and /healthz told anyone who asked
the text of its internal errors; Odoo's credentials dialog stored the key in clear in a table, keys never
expired and a new key left the previous one working."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client

import odoo_server
import pytest
from odoo_server import ADMIN

from mro_bridge.config import load, to_toml, write_private

from .conftest import RpcError, admin


def bridge(*args: str, umask: int = 0o022, timeout: float = 120) -> subprocess.CompletedProcess:
    """`mro-bridge ...` as a process, with the umask a login shell has."""
    command = " ".join(["umask", f"{umask:03o};", "exec", sys.executable, "-m", "mro_bridge.cli", *args])
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout)


def base_file(tmp_path, url: str, login: str, key: str, database: str, **odoo) -> dict:
    """A bridge file with the demo gateway's devices (pull-config fills their tags)."""
    return {
        "odoo": {"url": url, "database": database, "user": login, "api_key": key, "timeout": 10, **odoo},
        "spool": {"path": str(tmp_path / "spool.db")},
        "http": {"listen": ""},
        "modbus": [{"name": "plc1", "host": "127.0.0.1", "port": odoo_server.free_port()}],
        "mqtt": [{"name": "broker", "host": "127.0.0.1"}],
        "opcua": [{"name": "fan-controller", "url": "opc.tcp://127.0.0.1:4840/"}],
    }


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_key_is_written_0600_and_a_readable_file_refused(odoo, gateway, tmp_path):
    source = tmp_path / "bridge.toml"
    write_private(source, to_toml(base_file(tmp_path, odoo.url, gateway.login, gateway.password, odoo.db)))
    output = tmp_path / "bridge-run.toml"
    done = bridge("pull-config", "--config", str(source), "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert mode(output) == 0o600
    assert gateway.password in output.read_text()
    output.chmod(0o644)  # as a careless copy would leave it
    refused = bridge("check", "--config", str(output))
    assert refused.returncode == 2
    assert f"{output} holds a secret and is readable by group and others (mode 0644)" in refused.stderr
    assert "chmod 600" in refused.stderr


@pytest.mark.parametrize(
    ("url", "allowed"),
    [("http://erp.plant.invalid:8069", False), ("http://192.0.2.10:8069", False), ("http://127.0.0.1:9", True)],
)
def test_plain_http_to_another_machine_is_refused(tmp_path, url, allowed):
    path = tmp_path / "bridge.toml"
    write_private(path, to_toml(base_file(tmp_path, url, "bridge", "key", "db")))
    done = bridge("pull-config", "--config", str(path), "--output", str(tmp_path / "out.toml"))
    if allowed:  # the file is taken; Odoo is just not there
        assert done.returncode == 1 and "plain http" not in done.stderr
        return
    assert done.returncode == 2
    assert "is plain http: the API key and the readings would cross the network in clear" in done.stderr
    data = base_file(tmp_path, url, "bridge", "key", "db", allow_insecure_http=True)
    write_private(path, to_toml(data))
    assert load(path, require_sources=False).odoo.url == url  # the site said the network is trusted


def issue(odoo, expiration_date=False) -> tuple[str, str]:
    boss = admin(odoo)
    [gateway_id] = boss.xmlrpc("mro.sensor.gateway", "search", [("code", "=", "LINE1")])
    action = boss.xmlrpc("mro.sensor.gateway", "action_create_bridge_credentials", [gateway_id])
    wizard = boss.xmlrpc(action["res_model"], "create", {"gateway_id": gateway_id, "expiration_date": expiration_date})
    shown = boss.xmlrpc(action["res_model"], "action_generate", [wizard])
    return shown["context"]["default_login"], shown["context"]["default_api_key"]


def can_log_in(odoo, login: str, key: str) -> bool:
    return bool(xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common").authenticate(odoo.db, login, key, {}))


def test_the_key_is_shown_once_stored_nowhere_rotated_and_may_expire(odoo, tmp_path):
    login, first = issue(odoo)
    assert can_log_in(odoo, login, first)
    boss = admin(odoo)
    assert boss.xmlrpc("mro.sensor.gateway.credentials", "search_read", [], fields=[]) == []
    dump = subprocess.run(["pg_dump", "--data-only", odoo.db], capture_output=True, text=True, check=True).stdout
    assert first not in dump  # Odoo keeps its hash only

    login, second = issue(odoo)
    assert can_log_in(odoo, login, second)
    assert not can_log_in(odoo, login, first)  # rotation revoked it

    with pytest.raises(RpcError, match="must be in the future"):
        issue(odoo, (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"))
    login, third = issue(odoo, (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S"))
    assert can_log_in(odoo, login, third) and not can_log_in(odoo, login, second)
    [gateway] = boss.xmlrpc("mro.sensor.gateway", "search_read", [("code", "=", "LINE1")],
                            fields=["api_key_expiration_date"])  # fmt: skip
    assert gateway["api_key_expiration_date"]
    odoo_server.psql(
        "UPDATE res_users_apikeys SET expiration_date = now() AT TIME ZONE 'UTC' - interval '1 minute' "
        f"WHERE user_id = (SELECT id FROM res_users WHERE login = '{login}')",
        db=odoo.db,
    )
    assert not can_log_in(odoo, login, third)  # expired
    assert odoo.call(odoo.login(*ADMIN), ADMIN[1], "res.users", "search_count", [("login", "=", login)]) == 1


def test_healthz_tells_no_internal_error_and_serves_a_few_clients_at_once(tmp_path):
    """A bridge whose PLC refuses it: /healthz says the device is down, not where or why (unless the site asks)."""
    port = odoo_server.free_port()
    plc_port = odoo_server.free_port()  # nothing listens there
    data = base_file(tmp_path, "http://127.0.0.1:9", "bridge", "key", "db")
    data["http"] = {"listen": f"127.0.0.1:{port}", "max_connections": 2}
    data["modbus"] = [{"name": "plc1", "host": "127.0.0.1", "port": plc_port, "timeout": 1,
                       "tags": [{"code": "X", "address": 0}]}]  # fmt: skip
    data["supervisor"] = {"backoff_initial": 0.1, "backoff_max": 0.5}
    del data["mqtt"], data["opcua"]
    path = tmp_path / "bridge.toml"

    def health(show_errors: bool) -> str:
        data["http"]["show_errors"] = show_errors
        write_private(path, to_toml(data))
        process = subprocess.Popen([sys.executable, "-m", "mro_bridge.cli", "run", "--config", str(path)],
                                   stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        try:
            deadline = time.time() + 60
            while True:
                assert time.time() < deadline, "the bridge did not report its device down"
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                        body = response.read().decode()
                except urllib.error.HTTPError as error:
                    body = error.read().decode()
                except OSError:
                    time.sleep(0.3)
                    continue
                if json.loads(body)["devices"]["plc1"]["errors"] >= 1:
                    break
                time.sleep(0.3)
            if not show_errors:
                idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
                time.sleep(0.3)
                extra = socket.create_connection(("127.0.0.1", port))
                extra.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                extra.settimeout(10)
                with contextlib.suppress(ConnectionResetError):
                    assert extra.recv(100) == b""  # refused: two clients are already served
                for sock in (*idle, extra):
                    sock.close()
                time.sleep(0.3)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    assert "mro_bridge_http_refused_total 1" in response.read().decode()
            return body
        finally:
            process.terminate()
            process.wait(30)

    hidden = health(False)
    assert str(plc_port) not in hidden and "last_error" not in hidden
    assert json.loads(hidden)["devices"]["plc1"]["state"] in ("down", "starting", "demoted")
    shown = health(True)
    assert str(plc_port) in json.loads(shown)["devices"]["plc1"]["last_error"]
