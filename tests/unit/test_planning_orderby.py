"""Order-by dates: the latest day to order so the part is kitted before the predicted failure, within the risk."""

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from mro_planning import (
    DEADLINE_RISK,
    PROBS,
    RISK_BY_CRITICALITY,
    LeadTimeStats,
    check_rul_quantiles,
    deadline_arrival,
    late_probability,
    lognormal_quantiles,
    order_by_date,
    order_by_offset,
    pull_forward,
    rul_cdf,
    rul_quantiles_now,
    shipping_delay,
)
from scipy.special import ndtri

# T with quantiles 100 + 100 p: uniform on [100, 200] between the 1% and 99% levels, F(t) = (t - 100) / 100.
UNIFORM = 100 + 100 * PROBS
# T normal with mean 60 and std 10: quantiles 60 + 10 z_p.
NORMAL = 60 + 10 * ndtri(PROBS)
CONSTANT_10 = LeadTimeStats(10.0, 0.0)
TODAY = date(2026, 9, 1)  # a Tuesday


# ---------------------------------------------------------------- RUL distribution
def test_probs_are_the_engines_levels():
    assert PROBS.size == 99
    assert (PROBS[0], PROBS[49], PROBS[-1]) == (0.01, 0.5, 0.99)


def test_rul_cdf_inside_and_tails_hand_computed():
    # inside: F(150) = 0.5; left of the 1% quantile (101): linear from 0 at t = 0, F(50) = 0.01 * 50 / 101
    # right of the 99% quantile (199): 0.99 + 0.01 * (300 - 199) / 199 = 0.9950754; 1 from 2 * 199 on
    got = rul_cdf(np.array([-5.0, 50.0, 150.0, 300.0, 400.0]), UNIFORM)
    assert got == pytest.approx([0.0, 0.01 * 50 / 101, 0.5, 0.99 + 0.01 * 101 / 199, 1.0], abs=1e-7)


def test_lognormal_quantiles_match_the_interval_hand_computed():
    # median 100, 80% interval 70 .. 130: z = 1.28155; below s = ln(100/70)/z = 0.27831, above ln(1.3)/z = 0.20472
    # q(0.01) = 100 exp(-2.32635 * 0.27831) = 52.337; q(0.99) = 100 exp(2.32635 * 0.20472) = 161.004
    q = lognormal_quantiles(100, 70, 130, confidence=0.8)
    assert (q[9], q[49], q[89]) == pytest.approx((70, 100, 130))
    assert (q[0], q[-1]) == pytest.approx((52.337, 161.004), abs=1e-3)
    assert np.all(np.diff(q) > 0)
    assert np.all(lognormal_quantiles(0, 0, 0) == 0)
    assert lognormal_quantiles(10, 0, 20)[0] >= 0  # a lower bound of 0 is floored, not log(0)


@pytest.mark.parametrize(
    ("quantiles", "message"),
    [
        (np.arange(50.0), "expected 99 RUL quantiles"),
        (UNIFORM[::-1], "must not decrease"),
        (np.where(PROBS == 0.5, np.nan, UNIFORM), "finite"),
        (UNIFORM - 150, ">= 0"),
    ],
)
def test_bad_rul_quantiles_are_refused(quantiles, message):
    with pytest.raises(ValueError, match=message):
        check_rul_quantiles(quantiles)


def test_bad_interval_and_risk_are_refused():
    with pytest.raises(ValueError, match="lower <= median <= upper"):
        lognormal_quantiles(100, 120, 130)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        order_by_offset(UNIFORM, CONSTANT_10, 1.5)
    with pytest.raises(ValueError, match="receiving and kitting"):
        order_by_offset(UNIFORM, CONSTANT_10, 0.05, receiving_days=-1)


# ---------------------------------------------------------------- order-by offset
def test_offset_uniform_rul_constant_lead_hand_computed():
    # P_late(x) = F(x + 10 + 2) = (x + 12 - 100) / 100 <= 0.055  ->  x <= 93.5  ->  93 (risk 5%), day 94 is 6%
    plan = order_by_offset(UNIFORM, CONSTANT_10, 0.055, receiving_days=1, kitting_days=1)
    assert plan.offset_days == 93
    assert plan.risk_at_offset == pytest.approx(0.05, abs=1e-6)
    assert late_probability(94, UNIFORM, CONSTANT_10, 1, 1) == pytest.approx(0.06, abs=1e-6)


def test_offset_uniform_rul_uncertain_lead_depends_on_the_mean_only():
    # While every arrival falls inside [101, 199] F is linear, so P_late(x) = (x + 2 + E[L] - 100) / 100:
    # risk 0.305 -> x <= 118.5 -> 118 with E[L] = 10, whatever L's spread (here 10 ± 3, arrivals 123 .. 147).
    plan = order_by_offset(UNIFORM, LeadTimeStats(10.0, 3.0), 0.305, receiving_days=2)
    assert plan.offset_days == 118
    assert plan.risk_at_offset == pytest.approx(0.30, abs=1e-3)


def test_offset_normal_rul_hand_computed():
    # T ~ N(60, 10), lead 10 days: x + 10 <= q(0.05) = 60 - 16.449 = 43.551 -> x = 33;
    # P_late(33) = F(43) = 0.04 + 0.01 (43 - 42.493) / (43.551 - 42.493) = 0.04479 (linear between the quantiles)
    plan = order_by_offset(NORMAL, CONSTANT_10, 0.05)
    assert plan.offset_days == 33
    assert plan.risk_at_offset == pytest.approx(0.04479, abs=1e-5)
    # risk 1%: x + 10 <= q(0.01) = 36.737 -> 26; F(36) in the left tail = 0.01 * 36 / 36.737 = 0.0097995
    plan = order_by_offset(NORMAL, CONSTANT_10, 0.01)
    assert plan.offset_days == 26
    assert plan.risk_at_offset == pytest.approx(0.01 * 36 / 36.7365, abs=1e-6)


def test_offset_for_a_machine_failing_now_is_in_the_past():
    # every quantile 0: F(0) = 0.01, F(t > 0) = 1. Lead 5 + receiving 1: x + 6 <= 0 -> x = -6 (order 6 days ago)
    plan = order_by_offset(np.zeros(99), LeadTimeStats(5.0, 0.0), 0.05, receiving_days=1)
    assert plan.offset_days == -6


def test_run_to_failure_orders_nothing_ahead():
    assert RISK_BY_CRITICALITY["C"] is None
    plan = order_by_offset(UNIFORM, CONSTANT_10, None)
    assert (plan.offset_days, plan.risk_at_offset) == (None, None)
    assert "run to failure" in plan.reason


@pytest.mark.parametrize(
    ("rul", "lead", "risk"),
    [
        (lognormal_quantiles(60, 45, 80), LeadTimeStats(9.0, 4.0), 0.01),
        (lognormal_quantiles(60, 45, 80), LeadTimeStats(9.0, 4.0), 0.05),
        (lognormal_quantiles(200, 50, 400), LeadTimeStats(30.0, 15.0), 0.05),
        (NORMAL, LeadTimeStats(20.0, 2.0), 0.2),
    ],
)
def test_offset_is_the_latest_safe_whole_day(rul, lead, risk):
    plan = order_by_offset(rul, lead, risk, receiving_days=1, kitting_days=0.5)
    assert plan.risk_at_offset == pytest.approx(late_probability(plan.offset_days, rul, lead, 1, 0.5))
    assert plan.risk_at_offset <= risk < late_probability(plan.offset_days + 1, rul, lead, 1, 0.5)


def test_late_probability_matches_a_monte_carlo_simulation():
    # simulate T by inverting the same CDF (quantiles inside, linear tails) and L lognormal(9, 4); seed fixed
    rul = lognormal_quantiles(40, 28, 55)
    lead = LeadTimeStats(9.0, 4.0)
    rng = np.random.default_rng(7)
    n = 400_000
    u = rng.random(n)
    t = np.where(
        u < 0.01,
        u / 0.01 * rul[0],
        np.where(u > 0.99, rul[-1] * (1 + (u - 0.99) / 0.01), np.interp(u, PROBS, rul)),
    )
    sigma2 = np.log1p((4.0 / 9.0) ** 2)
    lead_days = rng.lognormal(np.log(9.0) - sigma2 / 2, np.sqrt(sigma2), n)
    for offset in (5, 15, 25):
        simulated = np.mean(offset + lead_days + 2 > t)
        assert late_probability(offset, rul, lead, 1, 1) == pytest.approx(simulated, abs=3e-3)


# ---------------------------------------------------------------- monotone in what the buyer would expect
def test_more_risk_allowed_orders_later():
    rul, lead = lognormal_quantiles(90, 60, 120), LeadTimeStats(9.0, 4.0)
    offsets = [order_by_offset(rul, lead, r).offset_days for r in (0.001, 0.01, 0.05, 0.2, 0.5)]
    assert offsets == sorted(offsets)
    assert offsets[0] < offsets[2] < offsets[-1]


def test_longer_lead_time_orders_earlier():
    rul = lognormal_quantiles(90, 60, 120)
    offsets = [order_by_offset(rul, LeadTimeStats(m, 0.4 * m), 0.05).offset_days for m in (5, 10, 20, 40)]
    assert offsets == sorted(offsets, reverse=True)
    assert len(set(offsets)) == 4
    # the same mean with more spread also orders earlier; so does risk mode (lead time x1.5)
    steady = order_by_offset(rul, LeadTimeStats(10.0, 1.0), 0.05).offset_days
    erratic = order_by_offset(rul, LeadTimeStats(10.0, 6.0), 0.05).offset_days
    assert erratic < steady
    assert order_by_offset(rul, LeadTimeStats(10.0, 3.0).scaled(1.5), 0.05).offset_days < steady


def test_wider_rul_interval_orders_earlier():
    lead = LeadTimeStats(9.0, 4.0)
    offsets = [order_by_offset(lognormal_quantiles(90, 90 - w, 90 + w), lead, 0.05).offset_days for w in (5, 20, 40)]
    assert offsets[0] > offsets[1] > offsets[2]


def test_receiving_and_kitting_days_come_off_the_date():
    rul = lognormal_quantiles(90, 60, 120)
    base = order_by_offset(rul, CONSTANT_10, 0.05).offset_days
    assert order_by_offset(rul, CONSTANT_10, 0.05, receiving_days=2, kitting_days=3).offset_days == base - 5


# ---------------------------------------------------------------- calendars
def test_pull_forward_skips_closed_days():
    sat, sun = date(2026, 12, 5), date(2026, 12, 6)
    assert pull_forward(sun, {sat, sun}) == date(2026, 12, 4)
    assert pull_forward(date(2026, 12, 3), {sat, sun}) == date(2026, 12, 3)  # a working day stays
    weekdays = lambda d: d.weekday() < 5  # noqa: E731
    assert pull_forward(sun, weekdays) == date(2026, 12, 4)
    assert pull_forward(date(2026, 12, 7), weekdays) == date(2026, 12, 7)


def test_pull_forward_gives_up_after_a_year():
    with pytest.raises(ValueError, match="no working day within 366 days on or before 2026-12-06"):
        pull_forward(date(2026, 12, 6), lambda d: False)
    # exactly a year of closure still finds the day before it
    start = date(2026, 12, 6)
    closed = {start - timedelta(days=i) for i in range(366)}
    assert pull_forward(start, closed) == start - timedelta(days=366)


def test_shipping_delay_counts_vendor_closures_under_way():
    mon = date(2026, 12, 7)
    closed = {mon - timedelta(days=1), mon + timedelta(days=2), mon + timedelta(days=3), mon + timedelta(days=20)}
    # 5 working days from Monday: Mon, Tue, (Wed, Thu closed), Fri, Sat, Sun -> 2 extra days;
    # the Sunday before and the closure three weeks later are not under way
    assert shipping_delay(mon, 5, closed.__contains__) == 2
    assert shipping_delay(mon, 0, closed.__contains__) == 0


# ---------------------------------------------------------------- order-by date
def test_order_by_date_hand_computed_reason():
    # offset 93 (see the uniform case): 2026-09-01 + 93 days = 2026-12-03; median RUL 150 d -> 2027-01-29;
    # 80% interval: q(0.1) = 110 -> 2026-12-20, q(0.9) = 190 -> 2027-03-10
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, criticality="A")
    assert r.day == date(2026, 12, 3)
    assert not r.late
    assert r.reason == (
        "order by 2026-12-03: failure expected ~2027-01-29 (80% 2026-12-20 – 2027-03-10), "
        "vendor lead time 10.0 ± 0.0 d, receiving 1 d + kitting 1 d, risk 5.5% (criticality A)"
    )
    # ordering today: F(0 + 12) = 0.01 * 12 / 101
    assert r.risk_if_today == pytest.approx(0.01 * 12 / 101, abs=1e-9)


def test_order_by_date_moves_before_a_plant_shutdown():
    shutdown = {date(2026, 12, 2), date(2026, 12, 3)}
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, plant_closed=shutdown)
    assert r.day == date(2026, 12, 1)
    assert "moved 2 d earlier (plant closed 2 d)" in r.reason


def test_order_by_date_moves_before_vendor_closures_during_shipping():
    # ordering on 12-03, the 10 shipping days would meet the vendor's 12-07 holiday: one day late.
    # From 12-02 the shipment also meets 12-07: 12-02 + 1 = 12-03 <= 12-03, so 12-02.
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, vendor_closed={date(2026, 12, 7)})
    assert r.day == date(2026, 12, 2)
    assert "vendor closed 1 d during shipping" in r.reason
    # a vendor closure after the shipment has arrived changes nothing
    later = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, vendor_closed={date(2026, 12, 20)})
    assert later.day == date(2026, 12, 3)


def test_order_by_date_plant_and_vendor_closures_together():
    # 12-03: vendor holiday 12-07 makes it 12-04 > 12-03; 12-02 the plant is closed -> 12-01, + 1 -> 12-02: fits
    r = order_by_date(
        TODAY,
        UNIFORM,
        CONSTANT_10,
        0.055,
        1,
        1,
        plant_closed=lambda d: d == date(2026, 12, 2),
        vendor_closed=lambda d: d == date(2026, 12, 7),
    )
    assert r.day == date(2026, 12, 1)
    assert "moved 2 d earlier (plant closed 1 d, vendor closed 1 d during shipping)" in r.reason


def test_order_by_date_on_weekends_goes_to_friday():
    # 2026-12-05 is a Saturday: with offset 95 (risk 7.5%: x + 12 <= 107.5) the safe day is Saturday -> Friday
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.075, 1, 1, plant_closed=lambda d: d.weekday() >= 5)
    assert r.plan.offset_days == 95
    assert r.day == date(2026, 12, 4)


def test_order_by_date_already_late():
    # RUL ~N(60, 10) seen 40 days later: x + 10 <= q(0.05) - 40 = 3.551 -> x = -7: 2026-08-25, 7 days late
    r = order_by_date(TODAY, np.maximum(NORMAL - 40, 0), CONSTANT_10, 0.05, criticality="B")
    assert r.late
    assert r.day == date(2026, 8, 25)
    assert r.reason.startswith("order now, 7 d late (order-by date was 2026-08-25); ordering today: ")
    assert r.risk_if_today > 0.05


def test_order_by_date_run_to_failure():
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, RISK_BY_CRITICALITY["C"], criticality="C")
    assert r.day is None
    assert not r.late
    assert r.reason.startswith("run to failure (criticality C): no order ahead")


# ---------------------------------------------------------------- a scheduled job as a hard deadline
def test_deadline_earlier_than_the_failure_sets_the_date():
    # failure alone: 2026-12-03 (see the uniform case). Job on Thu 2026-12-10, receiving 1 + kitting 1 without a
    # calendar: the part must arrive by 12-08; 10 days of lead time: order by 11-28
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, deadline=date(2026, 12, 10))
    assert (r.day, r.driver, r.arrive_by) == (date(2026, 11, 28), "deadline", date(2026, 12, 8))
    assert r.reason.startswith("order by 2026-11-28: job scheduled 2026-12-10: part needed by 2026-12-08")
    assert "the failure alone would allow 2026-12-03" in r.reason
    # a datetime is taken at its date
    at_eight = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, deadline=datetime(2026, 12, 10, 8, 0))
    assert at_eight.day == r.day


def test_deadline_later_than_the_failure_changes_nothing():
    r = order_by_date(TODAY, UNIFORM, CONSTANT_10, 0.055, 1, 1, deadline=date(2027, 3, 1))
    assert (r.day, r.driver) == (date(2026, 12, 3), "failure")
    assert "the deadline alone would allow" in r.reason


def test_deadline_counts_receiving_and_kitting_in_plant_working_days():
    # job on Monday 2026-12-07, plant closed at weekends: kitting Friday 12-04, receiving Thursday 12-03, so the
    # part arrives by Thursday; 10 days of lead time: Monday 11-23 (a working day, nothing to pull forward)
    weekends = lambda d: d.weekday() >= 5  # noqa: E731
    assert deadline_arrival(date(2026, 12, 7), 1, 1, weekends) == date(2026, 12, 3)
    assert deadline_arrival(date(2026, 12, 7), 0.5, 0, weekends) == date(2026, 12, 4)  # half a day: one day
    assert deadline_arrival(date(2026, 12, 7), 0, 0, weekends) == date(2026, 12, 7)
    r = order_by_date(TODAY, None, CONSTANT_10, 0.05, 1, 1, plant_closed=weekends, deadline=date(2026, 12, 7))
    assert (r.day, r.driver, r.plan.offset_days) == (date(2026, 11, 23), "deadline", None)
    # a vendor holiday under way (11-25) pushes the order one day earlier, to Friday 11-20 over the weekend
    held = order_by_date(
        TODAY, None, CONSTANT_10, 0.05, 1, 1, weekends, vendor_closed={date(2026, 11, 25)}, deadline=date(2026, 12, 7)
    )
    assert held.day == date(2026, 11, 20)
    assert "vendor closed 1 d during shipping" in held.reason


def test_deadline_uses_the_lead_time_quantile_at_the_risk():
    # lead 10 ± 3 d lognormal: sigma^2 = ln(1.09) = 0.086178, mu = ln 10 - sigma^2 / 2 = 2.259497;
    # 95% quantile exp(2.259497 + 1.644854 * 0.293561) = exp(2.742363) = 15.52 -> 16 days. Run to failure (risk
    # None) uses the deadline risk (5%). Arrival by 12-08 (no calendar) - 16 days = 11-22
    lead = LeadTimeStats(10.0, 3.0)
    assert float(lead.quantile(1 - DEADLINE_RISK)) == pytest.approx(15.52, abs=0.01)
    r = order_by_date(TODAY, UNIFORM, lead, None, 1, 1, deadline=date(2026, 12, 10))
    assert (r.day, r.driver) == (date(2026, 11, 22), "deadline")
    # ordering today (99 days before the arrival date) it is surely in time; 5 days before, rarely
    assert r.risk_if_today == pytest.approx(0.0, abs=1e-12)
    late = order_by_date(date(2026, 12, 3), None, lead, 0.05, 1, 1, deadline=date(2026, 12, 10))
    assert late.late and late.day == date(2026, 11, 22)
    assert late.risk_if_today == pytest.approx(1 - float(lead.cdf(5)))
    assert late.risk_if_today == pytest.approx(0.9866, abs=1e-4)  # z = (ln 5 - 2.259497) / 0.293561 = -2.2145
    assert late.reason.startswith("order now, 11 d late (order-by date was 2026-11-22); ordering today: ")
    assert "too late for the scheduled job" in late.reason


def test_order_by_date_needs_a_failure_or_a_deadline():
    with pytest.raises(ValueError, match="failure distribution .* or a deadline"):
        order_by_date(TODAY, None, CONSTANT_10, 0.05)


def test_rul_quantiles_now_takes_the_stated_ones_less_the_time_elapsed():
    stated = np.linspace(1.0, 30.0, PROBS.size)
    q = rul_quantiles_now(stated, rul_days=10.0, elapsed_days=0.5)
    np.testing.assert_allclose(q, stated - 0.5, atol=1e-6)
    # Past the lower quantiles: floored at 0, still never decreasing, checkable.
    late = rul_quantiles_now(stated, elapsed_days=5.0)
    assert late[0] == pytest.approx(0.0, abs=1e-6) and np.all(np.diff(late) > 0)
    check_rul_quantiles(late)


def test_rul_quantiles_now_from_the_interval_when_not_stated():
    q = rul_quantiles_now(None, rul_days=10.0, lower=6.0, upper=18.0, confidence=0.8)
    np.testing.assert_allclose(np.interp([0.1, 0.5, 0.9], PROBS, q), [6.0, 10.0, 18.0], rtol=1e-3)
    # Missing bounds and confidence: a point forecast, the 80% default; a stated list of the wrong size is ignored.
    point = rul_quantiles_now([1.0, 2.0], rul_days=4.0)
    assert np.interp(0.5, PROBS, point) == pytest.approx(4.0, rel=1e-3)
    assert np.all(np.diff(point) > 0)
    # A RUL of 0 (failure now) still gives valid quantiles.
    check_rul_quantiles(rul_quantiles_now(None, rul_days=0.0))
