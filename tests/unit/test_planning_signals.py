"""Warnings as RUL distributions (episode onset, failure probability) and the plant's warning history."""

import numpy as np
import pytest
from mro_planning import PROBS, Signal, WarningHistory, probability_quantiles, residual_quantiles, rul_cdf

INTERVALS = [10.0, 20.0, 30.0, 40.0, 50.0]


def test_residual_quantiles_without_censoring_are_the_empirical_ones():
    # five failures 10 .. 50 days after their onset: each takes 20% of the mass, quantile p = first interval
    # whose cumulative share reaches p (10 up to 20%, 20 up to 40%, ..., 50 from 80%)
    q = residual_quantiles(INTERVALS, 0.0)
    assert (q[0], q[19], q[20], q[39], q[49], q[-1]) == (10, 10, 20, 20, 30, 50)


def test_residual_quantiles_are_conditional_on_the_time_elapsed():
    # 15 days into the episode: 20, 30, 40, 50 remain (four, each 25%): residual 5, 15, 25, 35
    assert residual_quantiles(INTERVALS, 15.0) is None  # fewer than five failures that late: no distribution
    q = residual_quantiles(INTERVALS, 15.0, min_intervals=3)
    assert (q[0], q[24], q[25], q[-1]) == (5, 5, 15, 35)


def test_censored_episodes_lengthen_the_distribution_hand_computed():
    # two episodes still open at 25 days (or ended by a planned replacement then): Kaplan-Meier
    # S(10) = 6/7, S(20) = 6/7 * 5/6 = 5/7, S(30) = 5/7 * 2/3 = 10/21 (the censored left the risk set at 25)
    # 30% quantile: 1 - S(20) = 0.286 < 0.3 -> 30 days (without censoring 1 - S(20) = 0.4 -> 20 days)
    plain = residual_quantiles(INTERVALS, 0.0)
    censored = residual_quantiles(INTERVALS, 0.0, ongoing=[25.0, 25.0])
    i30 = int(np.flatnonzero(PROBS == 0.3)[0])
    assert plain[i30] == 20
    assert censored[i30] == 30
    assert np.all(censored >= plain)
    # 1 - S(10) = 1/7 = 0.1429: the 14% quantile is 10 days, the 15% one 20 days
    assert (censored[13], censored[14]) == (10, 20)


def test_residual_quantiles_refuse_bad_history():
    with pytest.raises(ValueError, match="finite numbers of days"):
        residual_quantiles([10.0, -1.0], 0.0)
    with pytest.raises(ValueError, match="elapsed"):
        residual_quantiles(INTERVALS, float("nan"))


def test_probability_quantiles_hand_computed():
    # P(failure within 30 d) = 0.5 as a constant hazard ln 2 / 30: the median is 30 d, the 75% quantile 60 d
    q = probability_quantiles(0.5, 30.0)
    assert q[49] == pytest.approx(30.0)
    assert q[74] == pytest.approx(60.0)
    assert rul_cdf(30.0, q) == pytest.approx(0.5, abs=1e-9)
    assert probability_quantiles(0.0, 30.0) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        probability_quantiles(1.5, 30.0)


def test_signal_checks_its_kind_and_quantiles():
    assert Signal("onset", residual_quantiles(INTERVALS, 0.0)).kind == "onset"
    with pytest.raises(ValueError, match="unknown signal kind"):
        Signal("hunch", residual_quantiles(INTERVALS, 0.0))
    with pytest.raises(ValueError, match="99 RUL quantiles"):
        Signal("rul", np.arange(10.0))


def test_warning_history_shares_and_rates_hand_computed():
    # renewals warned 0 (none), 3, 12, 40 and 60 days ahead, over 2000 machine-days, prior 1000 machine-days
    history = WarningHistory([60, 0, 3, 12, 40], exposure_days=2000, prior_days=1000)
    assert len(history) == 5
    # warned less than 10 days ahead: 0 and 3 -> (2 + 1) / (5 + 2); less than 50: four -> 5 / 7
    assert history.share_below(10) == pytest.approx(3 / 7)
    assert history.share_below(50) == pytest.approx(5 / 7)
    # per machine-day: (2 + 1) / (2000 + 1000)
    assert history.rate_below(10) == pytest.approx(0.001)
    # no history: the prior alone, one in two and one renewal per prior
    empty = WarningHistory(prior_days=400)
    assert empty.share_below(10) == 0.5
    assert empty.rate_below(10) == pytest.approx(1 / 400)
    with pytest.raises(ValueError, match="machine-days"):
        WarningHistory([1.0], exposure_days=-1)
