"""docker-compose.yml is valid for Docker Compose (`docker compose config`, or Debian's docker-compose)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose_cmd() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (make test installs docker-compose)")


def config(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*compose_cmd(), "-f", str(path), "--project-directory", str(ROOT), "config"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid_and_complete():
    result = config(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {"secrets", "db", "odoo", "mosquitto", "simulator", "bridge"}
    odoo = services["odoo"]
    assert any("/mnt/extra-addons" in str(v) for v in odoo["volumes"]), odoo["volumes"]
    assert "8069" in str(odoo["ports"]), odoo["ports"]
    assert "mro-bridge run" in " ".join(services["bridge"]["command"])
    assert services["simulator"]["command"][:2] == ["mro-bridge", "simulate"]
    scripts = ("docker/mqtt-secrets.sh", "docker/bridge-entrypoint.sh", "scripts/demo_odoo_conf.py")
    for path in ("docker/odoo/Dockerfile", "bridge/Dockerfile", *scripts):
        assert (ROOT / path).is_file(), path


def test_a_broken_compose_file_is_refused(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace("services:", "servics:", 1))
    result = config(broken)
    assert result.returncode != 0
