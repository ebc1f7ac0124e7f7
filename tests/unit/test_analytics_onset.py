"""The single-equipment RUL leaning on the failure history of similar machines (time from the onset of wear to
failure): a slow drift that ends in a sudden failure, a rise that falls back before the failure, a sag that is
not wear. Synthetic data only."""

import numpy as np
import pytest
from mro_analytics import OnsetPrior, SensorInput, assess_equipment, learn_onset_prior, onset_to_failure
from mro_analytics.onset import MIN_LONGER, onset_index

STEP = 1 / 24  # hourly means, days
HEALTHY, NOISE, ALARM = 1.0, 0.02, 3.0


def drift_then_jump(seed: int, healthy_days: float = 12.0):
    """A healthy level, then a slow drift (a few noise sigmas a day, far from the alarm by its trend) that
    ends in a jump over the alarm after a random time (lognormal, median 2 days). Returns (t, y, onset,
    failure), times in days, the series ending one hour after the failure."""
    rng = np.random.default_rng(seed)
    duration = float(np.exp(np.log(2.0) + 0.5 * rng.normal()))
    failure = healthy_days + duration
    t = np.arange(0.0, failure + 2 * STEP, STEP)
    y = HEALTHY + np.where(t > healthy_days, 0.06 * (t - healthy_days), 0.0) + rng.normal(0, NOISE, t.size)
    y[t >= failure] = 1.2 * ALARM
    return t, y, healthy_days, float(t[np.flatnonzero(y >= ALARM)[0]])


def history_of(t, y, failure):
    keep = t <= failure
    return np.column_stack([t[keep], y[keep]])


def assess(t, y, now, prior):
    keep = (t <= now) & (t > now - 30)
    sensor = SensorInput(1, t[keep], y[keep], 2.0, ALARM, step=STEP)
    return assess_equipment([sensor], now=now, onset_prior=prior)


def test_a_slow_drift_that_ends_in_a_sudden_failure_is_told_by_the_failure_history():
    runs = [drift_then_jump(seed) for seed in range(24)]
    past, tested = runs[:12], runs[12:]
    prior = learn_onset_prior([history_of(t, y, failure) for t, y, _onset, failure in past])
    assert prior is not None and prior.durations.size == 12
    anomalies = held = held_alone = 0
    widths = []
    for t, y, _onset, failure in tested:
        for hours in (36, 24, 12):
            now = failure - hours / 24
            result = assess(t, y, now, prior)
            if not result.sensors[0].up:
                continue
            anomalies += 1
            rul, alone = result.rul, assess(t, y, now, None).rul
            assert rul.ok, rul.reason  # a RUL at every upward anomaly
            held += rul.lower <= failure - now <= rul.upper
            held_alone += alone.ok and alone.lower <= failure - now <= alone.upper
            widths.append(rul.upper - rul.lower)
    assert anomalies >= 12
    assert held / anomalies >= 0.6, (held, anomalies)
    assert np.median(widths) <= 7.0 and max(widths) < 10.0  # intervals a buyer can act on
    # The trend alone (no failure history) says "weeks" or nothing the day before the failure.
    assert held_alone <= 0.3 * held, (held_alone, held)


def test_a_rise_that_falls_back_still_gets_a_rul_from_the_history():
    """Bearing2_2-like: the vibration rose, fell back for two days (no trend toward the limit), then failed."""
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 16.0, STEP)
    bump = np.interp(t, [0, 4, 10, 13, 16], [0, 0, 1.5, 0.8, 0.8])
    y = HEALTHY + bump + rng.normal(0, NOISE, t.size)
    prior = OnsetPrior(np.array([11.0, 11.5, 12.0, 13.0, 14.0, 15.0]))
    now = float(t[-1])
    result = assess(t, y, now, prior)
    assert result.sensors[0].up
    assert result.rul.ok and result.rul.model == "history", result.rul.reason
    assert "no trend toward the limit" in result.rul.reason
    assert result.rul.upper - result.rul.lower <= 7.0
    # Without a history, no RUL at all: the trend does not point at the limit.
    assert not assess(t, y, now, None).rul.ok


def test_a_long_trend_outweighs_a_short_history():
    """Wear that has gone on longer than most past failures took: the trend carries the forecast."""
    rng = np.random.default_rng(4)
    t = np.arange(0.0, 30.0, STEP)
    y = HEALTHY + np.where(t > 10, 0.05 * np.exp(0.15 * (t - 10)), 0) + rng.normal(0, NOISE, t.size)
    prior = OnsetPrior(np.array([0.5, 1.0, 1.5, 2.0, 25.0, 30.0]))
    pooled = assess(t, y, 30.0, prior).rul
    trend = assess(t, y, 30.0, None).rul
    assert pooled.model == "exponential+history", pooled.reason
    weight = float(pooled.reason.split("% on the trend")[0].rsplit(", ", 1)[1])
    assert weight > 50  # four of six past failures came sooner than this wear has lasted
    assert pooled.rul == pytest.approx(trend.rul, rel=0.35)


def test_a_sag_below_the_baseline_that_comes_back_is_not_wear():
    """Bearing1_2-like: the level sagged for days (a downward drift), then came back toward the baseline;
    that rise is no trend toward the alarm, with or without a history."""
    rng = np.random.default_rng(5)
    t = np.arange(0.0, 12.0, STEP)
    level = np.interp(t, [0, 4, 5, 10.5, 12], [1.0, 1.0, 0.88, 0.88, 1.03])
    y = level + rng.normal(0, NOISE, t.size)
    for prior in (None, OnsetPrior(np.array([1.0, 2.0, 3.0, 4.0]))):
        result = assess(t, y, float(t[-1]), prior)
        assert result.anomaly and not result.sensors[0].up
        assert not result.rul.ok, result.rul.reason


def test_onset_prior_measures_and_conditions():
    z = np.concatenate([np.zeros(50), np.full(5, 1.5), np.zeros(10), np.linspace(3, 10, 20)])
    assert onset_index(z) == 65  # the last episode above the allowance, not the earlier bump below it
    assert onset_index(np.zeros(30)) is None
    t, y, onset, failure = drift_then_jump(7)
    measured = onset_to_failure(*history_of(t, y, failure).T)
    assert measured == pytest.approx(failure - onset, abs=0.75)
    prior = OnsetPrior(np.array([1.0, 2.0, 4.0, 8.0]))
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 100, 400)])
    cdf, survival, longer = prior.remaining_cdf(3.0, grid)
    assert (survival, longer) == (0.5, 2)  # two of four past failures lasted longer than 3 days
    assert np.interp(0.5, cdf, grid) == pytest.approx(np.sqrt(1.0 * 5.0), rel=0.2)  # between 1 and 5 days left
    assert prior.remaining_cdf(7.0, grid) is None  # fewer than MIN_LONGER lasted that long
    assert MIN_LONGER == 2
    assert OnsetPrior.from_dict(prior.to_dict()).durations.tolist() == [1.0, 2.0, 4.0, 8.0]
    assert OnsetPrior.from_dict(None) is None and OnsetPrior.from_dict({"durations": []}) is None
    two = np.column_stack([t, y, np.full(t.size, 5.0)])  # a second measure with no onset is ignored
    assert learn_onset_prior([history_of(t, y, failure)] * 2) is None  # fewer than three failures
    assert learn_onset_prior([two[t <= failure]] * 3).durations.tolist() == pytest.approx([measured] * 3, abs=1e-3)
