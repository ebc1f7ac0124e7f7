"""Pure tests of the analytics engine on generated data with known truth (no Odoo)."""

import math

import numpy as np
import pytest
from mro_analytics import (
    PROBS,
    Baseline,
    RulResult,
    SensorInput,
    assess_equipment,
    check_quality,
    estimate_rul,
    fit_weibull,
    learn_baseline,
    weibull_p_fail_within,
    weibull_rul,
)
from mro_analytics.anomaly import detect
from mro_analytics.rul import _posterior

HOURS = np.arange(30 * 24) / 24.0  # 30 days, hourly, in days


def exponential(seed=1, rate=0.1, noise=0.02):
    """1 + 0.05 exp(rate t) + noise: reaches 4.5 at t = ln(70)/rate (42.5 days for rate 0.1)."""
    rng = np.random.default_rng(seed)
    return 1.0 + 0.05 * np.exp(rate * HOURS) + rng.normal(0, noise, HOURS.size)


# ---------------------------------------------------------------- baseline
def test_baseline_is_robust_to_outliers():
    rng = np.random.default_rng(0)
    values = rng.normal(2.0, 0.1, 500)
    values[:25] = 50.0  # 5% wild values
    base = learn_baseline(values)
    assert abs(base.median - 2.0) < 0.03
    assert abs(base.scale - 0.1) < 0.03
    assert base.n == 500
    assert learn_baseline(np.array([1.0, np.nan] * 5)) is None  # too few finite values
    assert Baseline.from_dict(base.to_dict()) == base


# ---------------------------------------------------------------- RUL
def test_exponential_degradation_truth_inside_the_interval():
    truth = math.log(70) / 0.1 - HOURS[-1]
    result = estimate_rul(HOURS, exponential(), threshold=4.5)
    assert result.ok and result.model == "exponential", result.reason
    assert result.lower <= truth <= result.upper
    assert abs(result.rul - truth) / truth < 0.15
    assert "exponential" in result.reason and "linear" in result.reason  # the choice is explained
    assert result.quantiles.shape == PROBS.shape
    assert np.all(np.diff(result.quantiles) >= 0)


def wear_after_onset(seed: int, onset: float, rate: float, noise: float = 0.04) -> np.ndarray:
    """Healthy at 2.3 mm/s until ``onset`` (days), then 2.3 exp(rate (t - onset)), with relative noise: the
    P-F curve of a machine that ran well for weeks."""
    rng = np.random.default_rng(seed)
    wear = np.exp(rate * np.clip(HOURS - onset, 0.0, None))
    return 2.3 * wear * (1 + rng.normal(0, noise, HOURS.size))


def test_a_late_onset_of_wear_after_weeks_of_health_is_forecast():
    """Weeks of a flat healthy signal must not hide the wear of the last days: the trend is taken from
    its onset on. Over 30 random machines, every one gets a forecast, the 80% intervals hold the truth about
    as often as they say, and the median error is small."""
    rng = np.random.default_rng(100)
    inside, errors = 0, []
    for seed in range(30):
        onset = HOURS[-1] - rng.uniform(3.0, 5.0)  # wear began 3-5 days ago ...
        to_alarm = rng.uniform(5.0, 7.0)  # ... and reaches 7.1 mm/s 5-7 days after it began
        truth = onset + to_alarm - HOURS[-1]
        result = estimate_rul(HOURS, wear_after_onset(seed, onset, math.log(7.1 / 2.3) / to_alarm), threshold=7.1)
        assert result.ok, result.reason
        inside += result.lower <= truth <= result.upper
        errors.append(abs(result.rul - truth) / truth)
    assert inside >= 0.6 * 30, inside
    assert float(np.median(errors)) < 0.2, errors


@pytest.mark.parametrize("seed", range(6))
def test_healthy_noise_and_a_level_shift_are_not_wear(seed):
    """The counterpart: the onset search must not find wear in noise, nor in a step to a new flat level."""
    calm = wear_after_onset(seed, onset=HOURS[-1] + 1, rate=0.0)
    assert not estimate_rul(HOURS, calm, threshold=7.1).ok
    shifted = calm.copy()
    shifted[-30 - 5 * seed :] += 1.5
    result = estimate_rul(HOURS, shifted, threshold=7.1)
    assert not result.ok, result


def test_linear_degradation_is_fitted_as_linear():
    rng = np.random.default_rng(3)
    y = 1.0 + 0.1 * HOURS + rng.normal(0, 0.05, HOURS.size)
    truth = (6.0 - 1.0) / 0.1 - HOURS[-1]
    result = estimate_rul(HOURS, y, threshold=6.0)
    assert result.ok and result.model == "linear", result.reason
    assert result.lower <= truth <= result.upper


def test_interval_coverage_on_many_units_is_near_nominal():
    covered = total = 0
    for seed in range(60):
        rng = np.random.default_rng(100 + seed)
        rate, limit = rng.uniform(0.06, 0.15), rng.uniform(3.0, 8.0)
        truth = math.log((limit - 1) / 0.05) / rate - HOURS[-1]
        if not 1 < truth < 150:
            continue
        result = estimate_rul(HOURS, exponential(seed=seed, rate=rate, noise=0.03), threshold=limit)
        total += 1
        covered += result.ok and result.lower <= truth <= result.upper
    assert total >= 30
    assert 0.6 <= covered / total <= 1.0  # nominal 0.8


def test_more_data_narrows_the_interval():
    y = exponential(seed=5)
    early = estimate_rul(HOURS[: 24 * 22], y[: 24 * 22], threshold=4.5, now=HOURS[-1])
    late = estimate_rul(HOURS, y, threshold=4.5)
    assert early.ok and late.ok
    assert (late.upper - late.lower) < (early.upper - early.lower)


def test_bayesian_prior_update_shrinks_uncertainty():
    mean, cov = np.array([0.0, 0.1]), np.diag([0.04, 0.0004])
    post_mean, post_cov = _posterior(mean, cov, {"mean": [0.0, 0.12], "cov": [[0.04, 0.0], [0.0, 0.0004]]})
    assert post_cov[1, 1] < cov[1, 1]
    assert 0.1 < post_mean[1] < 0.12


def test_probability_of_failure_is_monotone_and_matches_quantiles():
    result = estimate_rul(HOURS, exponential(), threshold=4.5)
    horizons = np.linspace(0, 60, 61)
    probabilities = [result.p_fail_within(h) for h in horizons]
    assert np.all(np.diff(probabilities) >= 0)
    assert abs(result.p_fail_within(result.rul) - 0.5) < 0.02
    assert result.p_fail_within(0) < 0.05
    assert RulResult.from_dict(result.to_dict()).p_fail_within(10) == pytest.approx(result.p_fail_within(10))


@pytest.mark.parametrize(
    ("t", "y", "fragment"),
    [
        (np.array([0.0]), np.array([2.0]), "too few points"),
        (HOURS, np.full(HOURS.size, 2.0), "constant"),
        (HOURS, 3.0 - 0.05 * HOURS + np.random.default_rng(1).normal(0, 0.02, HOURS.size), "falling"),
        (HOURS, 1.5 + np.random.default_rng(2).normal(0, 0.05, HOURS.size), "no significant rising trend"),
        (HOURS, np.full(HOURS.size, np.nan), "too few points"),
    ],
)
def test_poor_data_gives_no_prediction_with_a_reason(t, y, fragment):
    result = estimate_rul(t, y, threshold=4.5)
    assert not result.ok
    assert fragment in result.reason
    assert result.rul is None and result.p_fail_within(30) == 0.0


def test_gaps_and_nan_are_tolerated():
    y = exponential()
    y[100:400] = np.nan  # a long gap
    result = estimate_rul(HOURS, y, threshold=4.5)
    assert result.ok
    assert result.lower <= math.log(70) / 0.1 - HOURS[-1] <= result.upper


def test_over_the_threshold_means_now():
    y = exponential()
    result = estimate_rul(HOURS, y, threshold=float(np.median(y[-6:])) - 0.01)
    assert result.ok and result.rul == 0.0 and result.model == "threshold"
    assert result.p_fail_within(1) == 1.0


# ---------------------------------------------------------------- quality and anomalies
def test_quality_faults_are_found_and_cleaned():
    rng = np.random.default_rng(4)
    y = 2.0 + rng.normal(0, 0.05, HOURS.size)
    y[50] = 40.0  # spike
    y[60] = -5.0  # below the physical range
    t = HOURS.copy()
    t[300:] += 1.0  # a 24 h hole
    q = check_quality(t, y, step=1 / 24, physical_min=0.0, physical_max=100.0)
    assert set(q.codes) == {"spike", "out_of_range", "gap"}
    assert q.y.max() < 3 and q.y.min() > 1
    stuck = check_quality(HOURS[:48], np.r_[y[:24], np.full(24, 2.5)], step=1 / 24)
    assert stuck.codes == ["stuck"]
    assert check_quality(HOURS[:5], np.full(5, np.nan)).codes == ["no_data"]


def test_level_shift_and_slow_drift_are_machine_anomalies():
    rng = np.random.default_rng(6)
    base = Baseline(median=2.0, mad=0.05 / 1.4826, n=200)
    calm = 2.0 + rng.normal(0, 0.05, 300)
    assert not detect(calm, base).anomaly
    shifted = np.r_[calm, 2.6 + rng.normal(0, 0.05, 12)]
    found = detect(shifted, base)
    assert found.anomaly and found.z > 5
    drifting = calm + np.linspace(0, 0.15, calm.size)  # ends at +3 sigma: below the level test
    found = detect(drifting, base)
    assert found.drift and found.anomaly and abs(found.z) < 5


def test_stuck_sensor_is_data_quality_not_a_machine_fault():
    calm = 1.2 + np.random.default_rng(7).normal(0, 0.05, HOURS.size)
    healthy = SensorInput(1, HOURS, calm, 2.8, 4.5, step=1 / 24)
    stuck = SensorInput(2, HOURS[-72:], np.full(72, 9.87654), None, None, step=1 / 24)
    result = assess_equipment([healthy, stuck], now=HOURS[-1])
    assert result.state == "good" and not result.anomaly
    assert result.sensors[1].quality == ["stuck"]
    assert any("data quality" in r for r in result.reasons)


# ---------------------------------------------------------------- equipment health
def test_health_states_order_and_scores_agree():
    rng = np.random.default_rng(8)
    states = {}
    cases = {
        "good": 1.2 + rng.normal(0, 0.05, HOURS.size),
        "watch": np.r_[1.2 + rng.normal(0, 0.05, HOURS.size - 12), 2.0 + rng.normal(0, 0.05, 12)],
        "warning": np.r_[1.2 + rng.normal(0, 0.05, HOURS.size - 12), 3.0 + rng.normal(0, 0.05, 12)],
        "critical": np.r_[1.2 + rng.normal(0, 0.05, HOURS.size - 12), 5.0 + rng.normal(0, 0.05, 12)],
    }
    for name, y in cases.items():
        states[name] = assess_equipment([SensorInput(1, HOURS, y, 2.8, 4.5, step=1 / 24)], now=HOURS[-1])
        assert states[name].state == name, states[name].reasons
    scores = [states[n].score for n in ("good", "watch", "warning", "critical")]
    assert scores == sorted(scores, reverse=True)
    assert states["good"].score >= 80 and states["critical"].score < 40


def test_degrading_equipment_reports_the_limiting_sensor():
    rng = np.random.default_rng(9)
    calm = SensorInput(1, HOURS, 55 + rng.normal(0, 0.5, HOURS.size), 70, 85, step=1 / 24)
    failing = SensorInput(2, HOURS, exponential(), 2.8, 4.5, step=1 / 24)
    result = assess_equipment([calm, failing], now=HOURS[-1], horizon=30)
    assert result.limiting_key == 2
    assert result.rul.ok and 5 < result.rul.rul < 25
    assert result.state == "warning" and result.anomaly


# ---------------------------------------------------------------- Weibull
def test_weibull_recovers_its_parameters_with_censoring():
    rng = np.random.default_rng(10)
    times = 100.0 * rng.weibull(2.0, 400)
    exact = [(t, t) for t in times[:200]]
    # Failures found at weekly inspections: known to lie within a 7-day window.
    interval = [(7 * math.floor(t / 7), 7 * math.floor(t / 7) + 7) for t in times[200:300]]
    censored = [min(t, 60.0) for t in times[300:] if t > 60.0]  # still running at 60 days
    survivors_failed = [(t, t) for t in times[300:] if t <= 60.0]
    fit = fit_weibull(exact + interval + survivors_failed, censored)
    assert abs(fit.shape - 2.0) < 0.3
    assert abs(fit.scale - 100.0) < 10.0
    assert fit.n_censored == len(censored)
    young, old = weibull_p_fail_within(fit, 10, 30), weibull_p_fail_within(fit, 150, 30)
    assert 0 < young < old < 1  # wear-out: an old unit is likelier to fail
    rul = weibull_rul(fit, 50.0)
    assert rul.ok and rul.model == "weibull" and rul.lower < rul.rul < rul.upper
    assert rul.p_fail_within(30) == pytest.approx(weibull_p_fail_within(fit, 50, 30), abs=0.03)
    assert fit_weibull([(10.0, 10.0)]) is None


def test_long_histories_are_thinned_for_display_recent_days_kept():
    from mro_analytics import daily_before_recent

    ts = 1_700_006_400 + np.arange(30 * 24) * 3600.0  # 30 days hourly from a UTC midnight
    values = np.arange(ts.size, dtype=float)
    t2, v2 = daily_before_recent(ts, values, recent_days=14)
    recent = ts >= ts[-1] - 14 * 86400
    assert t2.size == 16 + recent.sum()  # 16 older days, one point each
    assert v2[0] == pytest.approx(values[:24].mean())
    assert np.array_equal(t2[-recent.sum() :], ts[recent])
    assert daily_before_recent(ts[:100], values[:100])[0].size == 100  # short series unchanged
