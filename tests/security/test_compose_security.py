"""The demo stack is safe by default (issue 11, "Critical"): docker-compose.yml as `docker compose config`
resolves it, and the scripts that make its secrets, run here for real.

- Every published port is bound to 127.0.0.1 unless MRO_BIND_ADDRESS says otherwise; PostgreSQL and the
  simulator publish none.
- Odoo (scripts/demo_odoo_conf.py, used by the Odoo container and `make demo`): list_db off and a generated
  master password, hashed, as Odoo's own configuration parser reads them ("admin" is refused).
- Mosquitto: allow_anonymous false and a password file made by docker/mqtt-secrets.sh in the `secrets`
  service; a real Mosquitto with that file refuses anonymous clients and wrong passwords and lets the bridge
  and the simulator in, each with its own password.
- Every secret file is mode 0600: the MQTT passwords and the password file, Odoo's configuration and master
  password, the administrator's password (docker/odoo/demo-entrypoint.sh, run with stand-ins for Odoo and
  PostgreSQL), and the bridge's copy of its API key file (docker/bridge-entrypoint.sh, which then drops root).
"""

from __future__ import annotations

import getpass
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import odoo_server
import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from test_compose import compose_cmd

ROOT = Path(__file__).resolve().parent.parent.parent
LOOPBACK = "127.0.0.1"


def compose_config(**env: str) -> dict:
    """docker-compose.yml as Docker Compose resolves it, with ``env`` set (e.g. MRO_BIND_ADDRESS)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MRO_")}
    result = subprocess.run(
        [*compose_cmd(), "-f", str(ROOT / "docker-compose.yml"), "--project-directory", str(ROOT), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, **env},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def published(service: dict) -> list[tuple[str, int]]:
    """(host address, host port) of each published port; "" = every interface. Both forms `config` writes:
    "127.0.0.1:8069:8069/tcp" (docker-compose 1.x) and {host_ip, published, target} (Compose v2)."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), int(port["published"])))
        else:
            parts = str(port).split("/")[0].rsplit(":", 2)
            assert len(parts) == 3, f"{port!r}: published without a host address, i.e. on every interface"
            out.append((parts[0], int(parts[1])))
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def mounts(service: dict) -> dict[str, str]:
    """Container path -> source (a named volume, or a host path) of each volume of ``service``."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found[volume["target"]] = str(volume.get("source", ""))
        else:
            source, target = str(volume).split(":")[:2]
            found[target] = source
    return found


# ---------------------------------------------------------------- ports


def test_every_published_port_is_bound_to_loopback_by_default():
    services = compose_config()["services"]
    ports = {name: published(service) for name, service in services.items() if published(service)}
    assert set(ports) == {"odoo", "mosquitto", "bridge"}  # not PostgreSQL, not the simulator's Modbus/OPC-UA
    assert sorted(p for binding in ports.values() for _host, p in binding) == [1883, 8069, 9108]
    for name, binding in ports.items():
        assert all(host == LOOPBACK for host, _port in binding), (name, binding)


def test_MRO_BIND_ADDRESS_publishes_them_on_purpose():
    services = compose_config(MRO_BIND_ADDRESS="0.0.0.0")["services"]
    hosts = {host for service in services.values() for host, _port in published(service)}
    assert hosts == {"0.0.0.0"}


# ---------------------------------------------------------------- Mosquitto


def test_mosquitto_wants_a_password_from_a_file_the_secrets_service_makes():
    services = compose_config()["services"]
    broker = mounts(services["mosquitto"])
    settings = {}
    for line in Path(broker["/mosquitto/config/mosquitto.conf"]).read_text().splitlines():
        key, _, value = line.partition(" ")
        if key and not key.startswith("#"):
            settings.setdefault(key, []).append(value.strip())
    assert settings["allow_anonymous"] == ["false"]
    [password_file] = settings["password_file"]
    directory = str(Path(password_file).parent)
    assert directory in broker, f"{password_file} is not on a volume of the broker"
    volume = broker[directory]
    # The `secrets` service writes that volume with docker/mqtt-secrets.sh, owned by the broker's user, and
    # runs to completion before the broker and its clients start.
    secrets_service = services["secrets"]
    script = next(target for target, source in mounts(secrets_service).items() if source.endswith("mqtt-secrets.sh"))
    assert secrets_service["entrypoint"][1:] == [script, "/secrets", "mosquitto"]
    assert mounts(secrets_service)["/secrets/mosquitto"] == volume
    for name in ("mosquitto", "simulator", "bridge"):
        assert services[name]["depends_on"]["secrets"]["condition"] == "service_completed_successfully"
    # The simulator and the bridge log in with their own users; each reads only its own password.
    assert services["simulator"]["command"][services["simulator"]["command"].index("--mqtt-username") + 1] == (
        "simulator"
    )
    for name in ("simulator", "bridge"):
        service = services[name]
        password_file = Path(service["environment"]["MRO_MQTT_PASSWORD_FILE"])
        assert mounts(service)[str(password_file.parent)] == mounts(secrets_service)[f"/secrets/{name}"]
        assert mounts(service)[str(password_file.parent)] != volume
    # The Odoo container writes the bridge's user name into its file; the password stays out of it.
    entrypoint = (ROOT / "docker/odoo/demo-entrypoint.sh").read_text()
    assert "MRO_MQTT_USERNAME=bridge MRO_MQTT_PASSWORD_ENV=MRO_MQTT_PASSWORD" in entrypoint


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="Mosquitto is not installed")
def test_mqtt_secrets_are_private_and_the_broker_lets_in_only_their_users(tmp_path):
    secrets_dir = tmp_path / "secrets"
    subprocess.run(["sh", str(ROOT / "docker/mqtt-secrets.sh"), str(secrets_dir)], check=True, capture_output=True)
    passwords = {user: (secrets_dir / user / "mqtt-password").read_text() for user in ("bridge", "simulator")}
    passwd = secrets_dir / "mosquitto" / "passwd"
    for path in (*(secrets_dir / user / "mqtt-password" for user in passwords), passwd):
        assert mode(path) == 0o600, path
    assert len(set(passwords.values())) == 2 and all(len(p) >= 32 for p in passwords.values())
    assert all(p not in passwd.read_text() for p in passwords.values())  # hashed
    # Run again (every `docker compose up`): the passwords are kept.
    subprocess.run(["sh", str(ROOT / "docker/mqtt-secrets.sh"), str(secrets_dir)], check=True, capture_output=True)
    assert passwords == {user: (secrets_dir / user / "mqtt-password").read_text() for user in passwords}

    port = odoo_server.free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\npersistence false\n"
        f"user {getpass.getuser()}\n"
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        odoo_server.wait_for_port(port, broker)

        def connects(user: str | None, password: str | None = None) -> str:
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"mrotest-{uuid.uuid4().hex[:8]}")
            if user:
                client.username_pw_set(user, password)
            answer = []
            client.on_connect = lambda _c, _u, _f, reason_code, _p: answer.append(str(reason_code))
            client.connect("127.0.0.1", port)
            end = time.time() + 10
            while not answer and time.time() < end:
                client.loop(0.1)
            client.disconnect()
            return answer[0] if answer else "no answer"

        assert connects(None) == "Not authorized"
        assert connects("bridge", "wrong") == "Not authorized"
        assert connects("bridge", passwords["simulator"]) == "Not authorized"
        assert connects("bridge", passwords["bridge"]) == "Success"
        assert connects("simulator", passwords["simulator"]) == "Success"
    finally:
        broker.terminate()
        broker.wait(10)


# ---------------------------------------------------------------- Odoo


def odoo_reads(conf: Path, master: str) -> dict:
    """What Odoo's own configuration parser makes of ``conf``: list_db, and whether the master password and
    "admin" are accepted by the database manager's check."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(odoo_server.ODOO_SRC)!r})\n"
        "from odoo.tools import config\n"
        "config.parse_config(['-c', sys.argv[1]])\n"
        "print(json.dumps({'list_db': config['list_db'], 'master': bool(config.verify_admin_password(sys.argv[2])),"
        " 'admin': bool(config.verify_admin_password('admin'))}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(conf), master], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_odoo_gets_a_generated_master_password_and_no_database_manager(tmp_path):
    secrets_dir, conf = tmp_path / "secrets", tmp_path / "odoo.conf"
    command = [sys.executable, str(ROOT / "scripts/demo_odoo_conf.py"), str(secrets_dir), str(conf), "db_host=db"]
    subprocess.run(command, check=True)
    master = (secrets_dir / "master-password").read_text().strip()
    assert len(master) >= 32 and master != "admin"
    assert mode(secrets_dir / "master-password") == mode(conf) == 0o600
    text = conf.read_text()
    assert "db_host = db" in text and master not in text  # stored hashed
    assert odoo_reads(conf, master) == {"list_db": False, "master": True, "admin": False}
    # Run again (every start): the same master password, a configuration written anew.
    subprocess.run(command, check=True)
    assert (secrets_dir / "master-password").read_text().strip() == master
    assert odoo_reads(conf, master) == {"list_db": False, "master": True, "admin": False}


STAND_IN_ODOO = """#!/bin/sh
# Stand-in for odoo: logs its arguments; `odoo shell` plays demo_plant.py's part for the admin password.
echo "$*" >> "$STAND_IN_LOG"
if [ "$1" = shell ]; then
    cat > /dev/null
    if [ -n "${MRO_DEMO_ADMIN_PASSWORD_FILE:-}" ] && [ ! -e "$MRO_DEMO_ADMIN_PASSWORD_FILE" ]; then
        (umask 077 && echo "stand-in-admin-password-$$" > "$MRO_DEMO_ADMIN_PASSWORD_FILE")
    fi
fi
"""


def test_the_odoo_container_prints_the_admin_password_once_and_keeps_its_secrets_private(tmp_path):
    bin_dir, secrets_dir, log = tmp_path / "bin", tmp_path / "secrets", tmp_path / "odoo-calls.log"
    bin_dir.mkdir()
    for name, text in (
        ("odoo", STAND_IN_ODOO),
        ("pg_isready", "#!/bin/sh\nexit 0\n"),
        ("psql", "#!/bin/sh\necho 1\n"),  # the database exists
    ):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "MRO_SECRETS_DIR": str(secrets_dir),
        "MRO_SCRIPTS_DIR": str(ROOT / "scripts"),
        "STAND_IN_LOG": str(log),
    }

    def start() -> str:
        result = subprocess.run(
            ["bash", str(ROOT / "docker/odoo/demo-entrypoint.sh")], capture_output=True, text=True, env=env, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = start()
    admin_password = (secrets_dir / "admin-password").read_text().strip()
    assert f"login admin, password {admin_password}" in first
    for name in ("admin-password", "master-password", "odoo.conf"):
        assert mode(secrets_dir / name) == 0o600, name
    conf = secrets_dir / "odoo.conf"
    assert odoo_reads(conf, (secrets_dir / "master-password").read_text().strip())["list_db"] is False
    calls = log.read_text().splitlines()
    assert calls and all(f"-c {conf}" in call for call in calls), calls
    assert not any("password" in call for call in calls)  # no secret on a command line
    assert calls[-1].startswith(f"-c {conf} -d mro_demo")  # then it serves
    second = start()
    assert admin_password not in second and "password" not in second  # printed once
    assert (secrets_dir / "admin-password").read_text().strip() == admin_password


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root (a container's start)")
def test_the_bridge_container_copies_its_secrets_for_its_user_then_drops_root():
    with tempfile.TemporaryDirectory() as directory:  # pytest's own is closed to other users
        Path(directory).chmod(0o755)
        check_bridge_entrypoint(Path(directory))


def check_bridge_entrypoint(tmp_path: Path) -> None:
    password_file, odoo_file, copy = tmp_path / "mqtt-password", tmp_path / "bridge.toml", tmp_path / "own.toml"
    password_file.write_text("s3cret\n")
    password_file.chmod(0o600)
    odoo_file.write_text('api_key = "key"\n')
    odoo_file.chmod(0o600)
    os.chown(odoo_file, 4321, 4321)  # written by the Odoo container's user, another uid
    user = pwd.getpwnam("nobody")
    env = {
        "PATH": os.environ["PATH"],
        "MRO_RUN_AS": "nobody",
        "MRO_MQTT_PASSWORD_FILE": str(password_file),
        "MRO_BRIDGE_CONFIG_FROM": str(odoo_file),
        "MRO_BRIDGE_CONFIG_TO": str(copy),
    }
    probe = 'id -u; echo "$MRO_MQTT_PASSWORD"; umask; cat "$1"; cat "$2" 2>/dev/null || echo refused'
    result = subprocess.run(
        ["sh", str(ROOT / "docker/bridge-entrypoint.sh"), "sh", "-c", probe, "probe", str(copy), str(password_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    uid, password, umask, key, root_only = result.stdout.splitlines()
    assert int(uid) == user.pw_uid
    assert password == "s3cret" and umask == "0077" and key == 'api_key = "key"'
    assert root_only == "refused"  # the password file itself stays root's
    assert mode(copy) == 0o600 and copy.stat().st_uid == user.pw_uid
