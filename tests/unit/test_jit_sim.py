"""bench/jit_sim.py in its quick mode: both policies on one world, stock and service invariants, RESULT line."""

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import jit_sim
from analytics.rul import no_prediction
from jit_sim import QUICK, Config, Simulation, World, simulate


@pytest.fixture(scope="module")
def quick():
    cfg = Config(seed=1, **QUICK)
    return cfg, simulate(cfg)


def _figures(run):
    return dataclasses.asdict(run.metrics), run.lives


def test_policies_share_one_world(quick):
    """Each policy on a fresh world of the same seed behaves exactly as on the shared one: no draw depends on
    what the other policy did or on the order of the calls."""
    cfg, runs = quick
    for policy in jit_sim.POLICIES:
        alone = Simulation(World(cfg), policy).run()
        assert _figures(alone) == _figures(runs[policy])


def test_failures_follow_the_true_degradation(quick):
    """Lives end by failure on the day the world's true level crosses the threshold, and planned replacements
    come before that day; life k of an asset is the same in both policies."""
    cfg, runs = quick
    world = World(cfg)
    seen = {"failure": 0, "preventive": 0}
    for run in runs.values():
        for asset, lives in enumerate(run.lives):
            assert [k for k, *_ in lives] == list(range(len(lives)))
            for k, start, end, how in lives:
                life = world.life(asset, k)
                fails_at = start + life.failure_age
                if how == "failure":
                    assert end <= fails_at < end + 1
                    before, after = world.level(asset, life, start, [fails_at - 1e-6, fails_at + 1e-6])
                    assert before < world.threshold[asset] <= after + 1e-9
                else:
                    assert end <= fails_at
                seen[how] += 1
    assert seen["failure"] and seen["preventive"]  # both kinds of renewal were exercised
    # Both policies start every asset at the same point of the same first life.
    base, suite = runs["minmax"].lives, runs["suite"].lives
    firsts = [(b[0][1], s[0][1]) for b, s in zip(base, suite, strict=True) if b and s]
    assert firsts and all(b == s for b, s in firsts)


def test_stock_never_negative_and_nobody_waits_for_nothing(quick):
    _cfg, runs = quick
    for run in runs.values():
        m = run.metrics
        assert m.min_on_hand >= 0
        assert m.max_unserved == 0  # every waiting asset always has its parts on their way: it gets served
    # The quick world does make someone wait, so the check above is not vacuous.
    assert sum(run.metrics.wait_hours for run in runs.values()) > 0


def test_same_seed_same_figures_other_seed_other_world(quick):
    cfg, runs = quick
    again = simulate(cfg)
    for policy in jit_sim.POLICIES:
        assert _figures(again[policy]) == _figures(runs[policy])
    other = Simulation(World(dataclasses.replace(cfg, seed=2)), "minmax").run()
    assert _figures(other) != _figures(runs["minmax"])


def test_suite_plans_only_from_the_engine(monkeypatch):
    """With the engine answering "no prediction", the suite plans nothing ahead: no needs, no planned stops;
    every life ends in a failure, as under min/max."""
    monkeypatch.setattr(jit_sim, "estimate_rul", lambda *a, **k: no_prediction("stub"))
    run = Simulation(World(Config(seed=1, **QUICK)), "suite").run()
    assert run.metrics.engine_calls > 0
    assert run.metrics.needs == 0 and run.metrics.preventive == 0
    assert all(how == "failure" for lives in run.lives for *_, how in lives)


def test_result_line(capsys, quick):
    _cfg, runs = quick
    assert jit_sim.main(["--quick", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    match = re.fullmatch(
        r"RESULT inventory_reduction=(-?\d+\.\d{3}) downtime_wait_reduction=(-?\d+\.\d{3}) "
        r"emergency_reduction=(-?\d+\.\d{3})",
        lines[-1],
    )
    assert match, lines[-1]
    base, suite = runs["minmax"].metrics, runs["suite"].metrics
    expected = [
        jit_sim.reduction(suite.inventory_value, base.inventory_value),
        jit_sim.reduction(suite.wait_hours, base.wait_hours),
        jit_sim.reduction(suite.emergency_orders, base.emergency_orders),
    ]
    assert np.allclose([float(v) for v in match.groups()], expected, atol=5e-4)
    assert any(line.startswith("average inventory value") for line in lines)


def test_reduction():
    assert jit_sim.reduction(65.0, 100.0) == pytest.approx(0.35)
    assert jit_sim.reduction(120.0, 100.0) == pytest.approx(-0.2)
    assert jit_sim.reduction(0.0, 0.0) == 0.0
    assert jit_sim.reduction(3.0, 0.0) == -1.0
