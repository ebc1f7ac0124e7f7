"""Data-quality faults stay apart from machine faults; poor data never yields a fabricated date."""

import math

import numpy as np
import pytest
from mro_analytics import SensorInput, assess_equipment, estimate_rul
from mro_analytics.fleet import FleetModel

HOURS = np.arange(30 * 24) / 24.0  # 30 days, hourly, in days


def calm(seed: int) -> np.ndarray:
    return 1.2 + np.random.default_rng(seed).normal(0, 0.05, HOURS.size)


def with_spikes(y):
    y = y.copy()
    y[[200, 450, 700]] = 25.0
    return HOURS, y


def with_gap(y):
    keep = (HOURS < 10) | (HOURS > 12)  # two days without a value
    return HOURS[keep], y[keep]


def out_of_range(y):
    y = y.copy()
    y[-5:] = -3.0  # a broken wire: below the physical minimum, right at the end
    return HOURS, y


@pytest.mark.parametrize(("fault", "code"), [(with_spikes, "spike"), (with_gap, "gap"), (out_of_range, "out_of_range")])
def test_data_quality_fault_is_not_a_machine_anomaly(fault, code):
    t, y = fault(calm(11))
    sensor = SensorInput(1, t, y, warning=2.8, alarm=4.5, physical_min=0.0, physical_max=50.0, step=1 / 24)
    result = assess_equipment([sensor], now=HOURS[-1])
    reading = result.sensors[0]
    assert code in reading.quality
    assert not reading.anomaly and not result.anomaly
    assert result.state == "good", result.reasons
    assert any("data quality" in r for r in result.reasons)
    assert reading.value is not None and 1.0 < reading.value < 1.4  # the faulty values were not used


def test_same_values_without_a_fault_are_a_machine_anomaly():
    """The counterpart: a real level shift on a clean series is reported (the tests above can fail)."""
    y = calm(11)
    y[-12:] += 1.0
    result = assess_equipment([SensorInput(1, HOURS, y, warning=2.8, alarm=4.5, step=1 / 24)], now=HOURS[-1])
    assert result.anomaly and result.sensors[0].quality == []
    assert result.state == "watch"


def exponential(seed=1):
    rng = np.random.default_rng(seed)
    return 1.0 + 0.05 * np.exp(0.1 * HOURS) + rng.normal(0, 0.02, HOURS.size)


def test_stale_data_gives_no_prediction():
    result = estimate_rul(HOURS, exponential(), threshold=4.5, now=HOURS[-1] + 20.0)
    assert not result.ok and "stale" in result.reason
    assert result.rul is None and result.lower is None


def test_long_gap_keeps_only_recent_data_or_refuses():
    y = exponential()
    keep = (HOURS < 5) | (HOURS[-1] - 0.25 < HOURS)  # five days, then 24 days of nothing, then 6 hours
    result = estimate_rul(HOURS[keep], y[keep], threshold=4.5)
    assert not result.ok and "gap" in result.reason


def test_mostly_nan_says_so():
    y = np.full(HOURS.size, np.nan)
    y[::100] = 2.0
    result = estimate_rul(HOURS, y, threshold=4.5)
    assert not result.ok and "NaN dropped" in result.reason


def test_past_threshold_is_critical_not_a_date():
    y = calm(12)
    y[-6:] = 4.8
    result = assess_equipment([SensorInput(1, HOURS, y, warning=2.8, alarm=4.5, step=1 / 24)], now=HOURS[-1])
    assert result.state == "critical" and result.score < 40
    assert result.rul.ok and result.rul.rul == 0.0 and "reached" in result.rul.reason
    assert result.rul.p_fail_within(1.0) == 1.0


def test_bayesian_prior_narrows_the_interval_and_keeps_the_truth():
    """Gebraeel's prior (theta, beta at the input's time origin, phi known) from a fleet of similar
    units: with few recent points the posterior is much tighter than the data alone."""
    y = exponential(seed=21)
    short = slice(HOURS.size - 24 * 4, HOURS.size)  # only the last four days were recorded
    truth = math.log(70) / 0.1 - HOURS[-1]
    alone = estimate_rul(HOURS[short], y[short], threshold=4.5)
    prior = {"mean": [math.log(0.05), 0.1], "cov": [[0.05, 0.0], [0.0, 0.0001]], "phi": 1.0}
    informed = estimate_rul(HOURS[short], y[short], threshold=4.5, prior=prior)
    assert informed.ok and informed.model == "exponential"
    assert "Bayesian" in informed.reason
    assert informed.lower <= truth <= informed.upper
    assert alone.ok and (informed.upper - informed.lower) < (alone.upper - alone.lower)


def test_fleet_model_drops_uninformative_measures():
    rng = np.random.default_rng(3)
    histories = []
    for _ in range(12):
        life = int(rng.uniform(80, 160))
        t = np.arange(1.0, life + 1)
        wear = (t / life) ** 2
        informative = 10 * wear + rng.normal(0, 0.3, life)
        noise = rng.normal(0, 1.0, life)
        constant = np.full(life, 7.0)
        histories.append(np.column_stack([t, informative, noise, constant]))
    model = FleetModel().fit(histories)
    assert list(model.keep) == [0, 1]  # the constant column is gone
    assert list(model.keep[model.use]) == [0]  # the noise column is judged uninformative
    again = FleetModel.from_dict(model.to_dict())
    assert list(again.use) == [0]
