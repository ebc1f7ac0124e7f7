"""bench/jit_sim.py in its quick mode: both policies on one world, stock and service invariants, the suite's
decisions coming from the planning functions only, the RESULT lines (plain and matrix)."""

import dataclasses
import re
from collections import Counter

import jit_sim
import numpy as np
import pytest
from jit_sim import QUICK, Config, Metrics, Simulation, World, simulate
from mro_analytics.anomaly import Anomaly
from mro_analytics.rul import no_prediction
from mro_planning import NeedDecision, warning_episodes


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
    """With the engine answering "no prediction" and seeing no anomaly, the suite plans nothing ahead: no needs,
    no planned stops; every life ends in a failure, as under min/max."""
    monkeypatch.setattr(jit_sim, "estimate_rul", lambda *a, **k: no_prediction("stub"))
    monkeypatch.setattr(jit_sim, "detect", lambda *a, **k: Anomaly())
    run = Simulation(World(Config(seed=1, **QUICK)), "suite").run()
    assert run.metrics.engine_calls > 0
    assert run.metrics.needs == 0 and run.metrics.preventive == 0 and run.metrics.onset_days == 0
    assert all(how == "failure" for lives in run.lives for *_, how in lives)


def test_anomalies_alone_open_episodes_and_plan_from_their_onset(monkeypatch):
    """Without a confident RUL, the anomalies still open warning episodes: needs come from their onset only."""
    monkeypatch.setattr(jit_sim, "estimate_rul", lambda *a, **k: no_prediction("stub"))
    run = Simulation(World(Config(seed=1, **QUICK)), "suite").run()
    m = run.metrics
    assert m.onset_days > 0 and m.preventive == 0
    assert set(m.needs_by_signal) <= {"onset", ""}


def test_the_plants_history_is_the_addons_function_of_its_records():
    """The simulation keeps the plant's records as the addon reads them (anomaly and RUL spans, renewals) and
    builds its history with ``warning_episodes``: the episode it tracks day by day for each machine's onset
    warning is the open one the records give."""
    sim = Simulation(World(Config(seed=1, **QUICK)), "suite")
    run = sim.run()
    d = sim.day
    open_checked = 0
    for i in range(sim.cfg.assets):
        if sim.down[i] or sim.pm_day[i] > d:
            continue  # not observed on the last day
        quiet, settle = sim.rules.release_after_days, sim.cfg.baseline_days
        e = warning_episodes(sim.anomaly_spans[i], sim.renewals[i], d, quiet, sim.rul_spans[i], 0, settle)
        assert (e.onset if e.onset is not None else -1) == sim.onset[i], i
        open_checked += e.onset is not None
    assert open_checked > 0
    _day, intervals, censored, rul_h, early_h = sim.history()
    renewals = sum(len(lives) for lives in run.lives)
    # every renewal once, but those whose episode began before the machine was known healthy (the lives under
    # way at the start)
    assert 0 < len(rul_h) == len(early_h) < renewals
    assert intervals and censored.size
    # every interval is a failure's, which its episode warned that many days ahead
    failures = sum(1 for lives in run.lives for *_, how in lives if how == "failure")
    assert 0 < len(intervals) <= failures
    assert not Counter(intervals) - Counter(early_h.days.tolist())


def test_suite_decisions_come_from_the_planning_functions(monkeypatch):
    """Stub the planner's functions: without ``plan_need`` no need is planned; without ``part_buffer`` no
    orderpoint; the suite then buys nothing but emergencies for machines that are down."""
    monkeypatch.setattr(jit_sim, "plan_need", lambda x, policy: NeedDecision("none", "stub"))
    monkeypatch.setattr(jit_sim, "part_buffer", lambda x, policy: None)
    run = Simulation(World(Config(seed=1, **QUICK)), "suite").run()
    m = run.metrics
    assert m.needs == 0 and m.order_lines == 0 and m.expedited_orders == 0
    assert m.emergency_orders == m.emergencies_down > 0


def test_late_counts_nest(quick):
    """Needs first planned after their order-by date are late when they come due; the bought ones among them."""
    _cfg, runs = quick
    m = runs["suite"].metrics
    assert m.needs > 0
    assert 0 <= m.late_planned <= m.late_needs <= m.needs
    assert m.late_bought <= m.late_needs
    assert sum(m.needs_by_signal.values()) == m.needs
    assert sum(m.late_by_signal.values()) == m.late_needs


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


def _cell(world, seed, base, suite):
    """A matrix cell from (inventory, emergencies, wait hours, needs, late) of each policy."""

    def metrics(inv, emerg, wait, needs=0, late=0):
        return Metrics(inventory_value=inv, emergency_orders=emerg, wait_hours=wait, needs=needs, late_needs=late)

    return jit_sim.Cell(world, seed, metrics(*base), metrics(*suite), 0.0)


def test_matrix_result_is_the_worst_case_hand_computed():
    cells = [
        _cell("default", 1, (100.0, 10, 100.0), (60.0, 2, 50.0, 100, 30)),  # inventory -40%, emergencies -80%
        _cell("default", 2, (100.0, 5, 100.0), (50.0, 2, 100.0, 100, 50)),  # -50%, -60% (the worst), waits -0%
        _cell("small", 1, (10.0, 1, 10.0), (20.0, 4, 12.0, 10, 10)),  # other worlds: only the waiting counts
    ]
    lines = jit_sim.matrix_report(cells)
    # worst inventory 0.4, worst emergencies 0.6 (default world only), worst waiting 1 - 12 / 10 = -0.2 (all
    # worlds), late share of the default world (30 + 50) / 200 = 0.4
    assert lines[-1] == (
        "RESULT worst_inventory_reduction=0.400 worst_emergency_reduction=0.600 "
        "worst_downtime_wait_reduction=-0.200 late_planned_share=0.400"
    )
    assert "emergency orders -70% (default world, every seed) NOT met" in lines[-2]
    assert "late-planned share at most half of 297/369 = 40.2% (default world) met" in lines[-2]
    assert sum(line.startswith(("default", "small")) for line in lines) == 3


def test_matrix_runs_every_world_and_ends_with_its_result(capsys):
    assert jit_sim.main(["--matrix", "--quick", "--seeds", "1", "--jobs", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(
        r"RESULT worst_inventory_reduction=-?\d+\.\d{3} worst_emergency_reduction=-?\d+\.\d{3} "
        r"worst_downtime_wait_reduction=-?\d+\.\d{3} late_planned_share=\d\.\d{3}",
        lines[-1],
    ), lines[-1]
    assert [line.split()[0] for line in lines if line.split()[0] in jit_sim.WORLDS] == list(jit_sim.WORLDS)


def test_before_and_after_switches_reach_the_policy():
    cfg, _args = jit_sim.config_from_args(["--rul-only", "--review-days", "0", "--world", "small"])
    policy = cfg.policy()
    assert (policy.early_signals, policy.review_days) == (False, 0)
    assert (cfg.assets, cfg.vendors) == (30, 5)
    default = jit_sim.config_from_args([])[0].policy()
    assert (default.early_signals, default.review_days) == (True, 7)


def test_trace_holds_every_call_into_the_planner(quick):
    """The trace replays: each recorded decision is what the planning function answers to its recorded inputs."""
    cfg, runs = quick
    trace = []
    run = Simulation(World(cfg), "suite", trace=trace).run()
    assert dataclasses.asdict(run.metrics) == dataclasses.asdict(runs["suite"].metrics)  # tracing changes nothing
    plans = [(x, answer) for _d, _i, _p, x, answer in trace if isinstance(x, jit_sim.NeedInputs)]
    buffers = [(x, answer) for _d, _i, _p, x, answer in trace if isinstance(x, tuple) and len(x) == 2]
    buffers = [(x, answer) for x, answer in buffers if isinstance(x[0], jit_sim.BufferInputs)]
    assert any(answer.action == "plan" for _x, answer in plans) and buffers
    rules = cfg.policy()
    for inputs, answer in plans[:: max(1, len(plans) // 300)]:
        assert jit_sim.plan_need(inputs, rules) == answer
    for (inputs, claimed), answer in buffers[:: max(1, len(buffers) // 100)]:
        result = jit_sim.part_buffer(inputs, rules)
        assert (None if result is None else jit_sim.orderpoint_levels(result, claimed)) == answer
