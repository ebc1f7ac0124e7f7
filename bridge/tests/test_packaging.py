"""The plant simulator stays out of the bridge's production package and image."""

import re
import sys
from pathlib import Path

import yaml

from mro_bridge import cli

BRIDGE = Path(__file__).resolve().parent.parent
ROOT = BRIDGE.parent


def test_the_production_package_has_no_simulator():
    assert not (BRIDGE / "src" / "mro_bridge" / "simulate.py").exists()
    assert (BRIDGE / "sim" / "src" / "mro_bridge_sim" / "simulate.py").is_file()
    sim = (BRIDGE / "sim" / "pyproject.toml").read_text()
    assert 'mro-bridge-sim = "mro_bridge_sim.simulate:main"' in sim


def test_the_production_image_is_the_default_target_and_has_no_simulator():
    stages = re.split(r"^FROM ", (BRIDGE / "Dockerfile").read_text(), flags=re.M)[1:]
    names = [stage.split()[2] for stage in stages]
    assert names[-1] == "production"  # `docker build bridge/` builds the last stage
    parents = {name: stage.split()[0] for name, stage in zip(names, stages, strict=True)}
    chain, name = [], "production"
    while name in parents:
        chain.append(stages[names.index(name)])
        name = parents[name]
    assert not any("sim" in line for stage in chain for line in stage.splitlines() if line.startswith(("COPY", "RUN")))
    assert "./sim" in stages[names.index("simulator")]


def test_compose_runs_the_simulator_from_its_own_image_and_the_bridge_from_production():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["simulator"]["build"]["target"] == "simulator"
    assert services["bridge"]["build"]["target"] == "production"


def test_mro_bridge_simulate_without_the_simulator_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mro_bridge_sim.simulate", None)  # as if not installed
    assert cli.main(["simulate", "--help"]) == 2
    assert "pip install ./bridge/sim" in capsys.readouterr().err
