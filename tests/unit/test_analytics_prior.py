"""Useful from the first readings: the population baseline of similar sensors, and the Bayesian exponential
prior learned from the fleet's past failures."""

import numpy as np
from mro_analytics import (
    Baseline,
    SensorInput,
    assess_sensor,
    estimate_rul,
    learn_exponential_prior,
    population_baseline,
    shrink_baseline,
)

NOW = 20_000.0


def hours(values):
    values = np.asarray(values, dtype=float)
    return NOW - (values.size - 1 - np.arange(values.size)) / 24.0, values


def test_population_baseline_covers_the_spread_between_sensors():
    similar = [Baseline(1.1, 0.03, 240), Baseline(1.2, 0.04, 240), Baseline(1.4, 0.03, 240)]
    pop = population_baseline(similar)
    assert pop.median == 1.2 and pop.n == 3
    assert pop.mad > 0.04  # the sensors' own noise and the spread between them
    assert population_baseline([]) is None


def test_shrinking_moves_from_the_population_to_the_sensor():
    pop = Baseline(1.2, 0.05, 3)
    few = shrink_baseline(pop, [2.0] * 6)
    many = shrink_baseline(pop, [2.0] * 240)
    assert abs(few.median - 1.2) < abs(few.median - 2.0)  # six hours: the population decides
    assert abs(many.median - 2.0) < 0.1  # ten days: the sensor does
    assert few.mad >= 0.025


def test_six_hours_of_data_are_judged_against_similar_machines():
    rng = np.random.default_rng(3)
    pop = population_baseline([Baseline(1.2 + 0.05 * k, 0.03, 240) for k in range(4)])
    t, worn = hours(3.0 + rng.normal(0, 0.03, 6))
    out = assess_sensor(
        SensorInput(
            key=1,
            t=t,
            y=worn,
            warning=2.8,
            alarm=4.5,
            step=1 / 24,
            population=pop,
            population_note="4 similar sensors of the asset model",
        ),  # fmt: skip
        NOW,
        0.8,
    )
    assert out.anomaly
    assert any("4 similar sensors of the asset model, shrunk toward 6 own values" in r for r in out.reasons)
    assert out.baseline is None  # the population's baseline is never stored as the sensor's own
    t, healthy = hours(1.25 + rng.normal(0, 0.03, 6))
    calm = assess_sensor(SensorInput(key=2, t=t, y=healthy, alarm=4.5, step=1 / 24, population=pop), NOW, 0.8)
    assert not calm.anomaly
    # Without a population, six hours say nothing (no baseline yet).
    alone = assess_sensor(SensorInput(key=3, t=t, y=worn, alarm=4.5, step=1 / 24), NOW, 0.8)
    assert not alone.anomaly


def test_the_fleet_prior_is_learned_and_narrows_a_short_history():
    rng = np.random.default_rng(7)
    histories = []
    for _unit in range(6):
        life = rng.uniform(50, 70)
        t = np.arange(0, life, 1 / 24)
        rate = rng.normal(0.15, 0.01)
        y = 1.0 + 0.05 * np.exp(rate * (t - (life - 30))) * (t > life - 30) + rng.normal(0, 0.02, t.size)
        histories.append((t, y))
    prior = learn_exponential_prior(histories)
    assert prior and prior["failures"] == 6
    assert 0.13 < prior["mean"][1] < 0.17  # the fleet's growth rate, per day
    assert learn_exponential_prior(histories[:2]) is None
    # A new unit a few days into its wear: the Bayesian exponential model leans on the fleet's rate, and its
    # forecast is tighter (4 days in) and closer to the truth (8 days in) than its own fit alone.
    for days in (4.0, 8.0):
        t = np.arange(30, 30 + days, 1 / 24)
        y = 1.0 + 0.05 * np.exp(0.15 * (t - 30)) + rng.normal(0, 0.02, t.size)
        truth = 30 + np.log(3.5 / 0.05) / 0.15 - t[-1]
        plain, fleet = estimate_rul(t, y, 4.5), estimate_rul(t, y, 4.5, prior=prior)
        assert plain.ok and fleet.ok
        assert "Bayesian exponential" in fleet.reason
        assert fleet.lower <= truth <= fleet.upper
        if days == 4.0:
            assert fleet.upper - fleet.lower < plain.upper - plain.lower
        else:
            assert abs(fleet.rul - truth) < abs(plain.rul - truth)
