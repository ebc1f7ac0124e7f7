"""Lead-time statistics per vendor: shrinkage toward the quoted delay, on-time rate, lognormal quantiles, score."""

import math
from itertools import pairwise

import numpy as np
import pytest
from mro_planning import LeadTimeStats, lead_time_stats, variance_score


# ---------------------------------------------------------------- statistics
def test_history_and_prior_hand_computed():
    # samples 8, 10, 12, 14: n = 4, xbar = 11, ss = 9 + 1 + 1 + 9 = 20. Prior 9 ± 3 worth k0 = 2 receipts.
    # mean = (2*9 + 4*11) / 6 = 62/6 = 10.3333
    # var = (2*9 + 20 + 2*4/6 * (11-9)^2) / 6 = (18 + 20 + 5.3333) / 6 = 7.2222 -> std 2.6874
    # on time (promised 11): 8 and 10 yes, 12 and 14 no -> 0.5
    s = lead_time_stats([8, 10, 12, 14], promised=11, prior_mean=9, prior_std=3, prior_weight=2)
    assert s.mean == pytest.approx(62 / 6)
    assert s.std == pytest.approx(math.sqrt(43.3333333 / 6))
    assert s.std == pytest.approx(2.6874, abs=1e-4)
    assert (s.n, s.on_time_rate, s.source) == (4, 0.5, "history+prior")


def test_history_only_is_the_sample_mean_and_std():
    # no prior: mean 11, std sqrt(20 / 3) = 2.5820
    s = lead_time_stats([8, 10, 12, 14])
    assert (s.mean, s.source, s.on_time_rate) == (11.0, "history", None)
    assert s.std == pytest.approx(2.5820, abs=1e-4)
    # a single receipt and no prior: std = 25% of it (2.5 for 10 days)
    assert lead_time_stats([10]).std == pytest.approx(2.5)


def test_prior_only_is_the_quote():
    # quoted delay 10 days, default std 25% of it = 2.5
    s = lead_time_stats([], prior_mean=10)
    assert (s.mean, s.std, s.n, s.on_time_rate, s.source) == (10.0, 2.5, 0, None, "prior")


def test_no_history_and_no_prior_is_refused():
    with pytest.raises(ValueError, match="no lead-time history and no prior"):
        lead_time_stats([])


def test_short_history_shrinks_to_the_prior():
    # quote 10 ± 2.5, weight 3; the vendor really takes 20 days.
    # n = 1: mean = (3*10 + 20) / 4 = 12.5; var = (3*6.25 + 0 + 3*1/4 * 100) / 4 = 23.4375 -> std 4.8412
    one = lead_time_stats([20], prior_mean=10, prior_weight=3)
    assert one.mean == pytest.approx(12.5)
    assert one.std == pytest.approx(math.sqrt(23.4375))
    # n = 30: mean = (30 + 600) / 33 = 19.0909
    many = lead_time_stats([20] * 30, prior_mean=10, prior_weight=3)
    assert many.mean == pytest.approx(630 / 33)
    means = [lead_time_stats([20] * n, prior_mean=10).mean for n in (1, 2, 5, 10, 50)]
    assert all(a < b for a, b in pairwise(means))
    assert abs(means[0] - 10) < abs(means[0] - 20)  # one receipt: still nearer the quote
    assert abs(means[-1] - 20) < 1  # fifty receipts: the history speaks


def test_disagreement_with_the_quote_widens_the_spread():
    # same history, quote right (14) vs quote wrong (5): the wrong quote leaves more doubt
    hist = [13, 14, 15]
    assert lead_time_stats(hist, prior_mean=5).std > lead_time_stats(hist, prior_mean=14).std


def test_prior_weight_zero_means_history_only():
    s = lead_time_stats([8, 10, 12, 14], prior_mean=30, prior_weight=0)
    assert (s.mean, s.source) == (11.0, "history")


def test_on_time_rate_per_sample_promises_and_tolerance():
    # 5 <= 6 yes, 7 <= 6 no, 9 <= 9 yes -> 2/3; with one day of tolerance 7 <= 7 -> 3/3
    assert lead_time_stats([5, 7, 9], promised=[6, 6, 9]).on_time_rate == pytest.approx(2 / 3)
    assert lead_time_stats([5, 7, 9], promised=[6, 6, 9], on_time_tolerance=1).on_time_rate == 1.0
    # a promise dated before the order (planned date < approval date) counts the receipt late, not as bad data
    assert lead_time_stats([5, 7, 9], promised=[-1, 6, 9]).on_time_rate == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("samples", "kwargs", "message"),
    [
        ([5, -1, 7], {}, r"samples\[1\] = -1.0"),
        ([5, float("nan")], {}, r"samples\[1\]"),
        ([5, 7, 9], {"promised": [6, 6]}, "promised has 2 values for 3 samples"),
        ([5, 7, 9], {"promised": [6, float("nan"), 9]}, "promised lead times must be finite"),
        ([5, 7], {"prior_mean": -3}, "prior_mean"),
        ([5, 7], {"prior_mean": 3, "prior_weight": -1}, "prior_weight"),
    ],
)
def test_bad_inputs_are_refused_with_a_reason(samples, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lead_time_stats(samples, **kwargs)


def test_manual_override_is_checked():
    with pytest.raises(ValueError, match="mean"):
        LeadTimeStats(-1.0, 2.0)
    with pytest.raises(ValueError, match="std"):
        LeadTimeStats(10.0, float("inf"))


# ---------------------------------------------------------------- distribution
def test_lognormal_quantiles_hand_computed():
    # mean 10, std 5: cv 0.5, sigma^2 = ln(1.25) = 0.22314, sigma = 0.47238, mu = ln 10 - 0.11157 = 2.19101
    # median = e^mu = 10 / sqrt(1.25) = 8.9443; 95%: exp(2.19101 + 1.64485 * 0.47238) = 19.4532
    s = LeadTimeStats(10.0, 5.0)
    assert s.quantile(0.5) == pytest.approx(8.9443, abs=1e-4)
    assert s.quantile(0.95) == pytest.approx(19.4532, abs=1e-4)
    assert s.cdf(8.9443) == pytest.approx(0.5, abs=1e-5)
    assert s.cdf(0.0) == 0.0
    assert s.cdf(-3.0) == 0.0


def test_lognormal_keeps_mean_and_std_and_is_right_skewed():
    s = LeadTimeStats(9.0, 4.0)
    levels = (np.arange(200_000) + 0.5) / 200_000
    q = s.quantile(levels)
    assert q.mean() == pytest.approx(9.0, rel=2e-3)
    assert q.std() == pytest.approx(4.0, rel=2e-2)
    assert s.quantile(0.95) - s.quantile(0.5) > s.quantile(0.5) - s.quantile(0.05)
    assert np.all(q > 0)
    p = np.array([0.01, 0.3, 0.77, 0.99])
    assert np.allclose(s.cdf(s.quantile(p)), p)


def test_constant_lead_time():
    s = LeadTimeStats(7.0, 0.0)
    assert np.all(s.quantile(np.array([0.01, 0.5, 0.99])) == 7.0)
    assert (s.cdf(6.99), s.cdf(7.0)) == (0.0, 1.0)


def test_quantile_levels_outside_0_1_are_refused():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        LeadTimeStats(7.0, 1.0).quantile(1.0)


def test_scaled_for_risk_mode():
    s = LeadTimeStats(10.0, 2.0, 5, 0.8, "history").scaled(1.5)
    assert (s.mean, s.std, s.n, s.on_time_rate) == (15.0, 3.0, 5, 0.8)
    assert "x1.5" in s.source


# ---------------------------------------------------------------- variance score
def test_variance_score_hand_computed():
    # cv = 2/10 = 0.2 -> 20 points of the spread half; late 10% -> 10 points of the lateness half
    # score = 0.5 * 20 + 0.5 * 10 = 15
    assert variance_score(LeadTimeStats(10.0, 2.0, 10, 0.9)) == pytest.approx(15.0)
    # on-time rate unknown: all from the cv: 20
    assert variance_score(LeadTimeStats(10.0, 2.0)) == pytest.approx(20.0)
    assert variance_score(LeadTimeStats(10.0, 0.0, 10, 1.0)) == 0.0
    # cv 2 is capped at full marks; never on time: 100
    assert variance_score(LeadTimeStats(10.0, 20.0, 10, 0.0)) == 100.0


def test_variance_score_ranks_the_erratic_vendor_worse():
    steady = lead_time_stats([9, 10, 10, 11, 10], promised=11)
    erratic = lead_time_stats([4, 10, 25, 8, 16], promised=11)
    assert variance_score(erratic) > variance_score(steady) + 20
