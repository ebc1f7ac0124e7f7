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


# ---------------------------------------------------------------------- episodes from the plant's records
def _d(day):
    """Day ``day`` of a plant year (2026-01-01 is day 0)."""
    from datetime import date, timedelta

    return date(2026, 1, 1) + timedelta(days=day)


def test_an_episode_that_ends_in_a_failure_is_an_interval():
    from mro_planning import warning_episodes

    # an anomaly seen from day 10 to 15, a short-RUL warning from day 18 (within 7 quiet days: the same
    # episode), still seen when the machine fails on day 30: 20 days from the onset
    e = warning_episodes([(_d(10), _d(15)), (_d(18), None)], [(_d(30), True)], _d(40), 7)
    assert e.intervals == (20.0,)
    assert e.censored == ()
    assert e.onset is None


def test_planned_replacements_and_quiet_episodes_are_censored():
    from mro_planning import warning_episodes

    warnings = [(_d(0), _d(4)), (_d(20), _d(22)), (_d(50), _d(60))]
    # day 0-4: quiet from day 12 on, closed without a renewal: censored at 4 days
    # day 20-22: a planned replacement on day 25 (within its quiet days): censored at 5 days
    # day 50-60: quiet more than 7 days when the failure comes on day 70: censored at 10 days, no interval
    e = warning_episodes(warnings, [(_d(25), False), (_d(70), True)], _d(80), 7)
    assert e.intervals == ()
    assert e.censored == (4.0, 5.0, 10.0)
    assert e.onset is None
    assert e.warned == ((5.0, 0.0), (0.0, 0.0))


def test_the_open_episode_gives_its_onset_and_age():
    from mro_planning import warning_episodes

    # a failure on day 10 ended the first episode; the next began on day 12 and was last seen on day 14;
    # today (day 18) it is within its quiet days: still open, 6 days old
    e = warning_episodes([(_d(3), None), (_d(12), _d(14))], [(_d(10), True)], _d(18), 7)
    assert e.intervals == (7.0,)
    assert e.censored == (6.0,)
    assert e.onset == _d(12)
    # later than its quiet days: closed, censored at its length, nothing open
    e = warning_episodes([(_d(3), None), (_d(12), _d(14))], [(_d(10), True)], _d(30), 7)
    assert (e.censored, e.onset) == ((2.0,), None)


def test_a_renewal_before_any_warning_and_renewals_to_come_change_nothing():
    from mro_planning import warning_episodes

    e = warning_episodes([(_d(20), None)], [(_d(5), True), (_d(40), True)], _d(30), 7)
    alone = warning_episodes([(_d(20), None)], [], _d(30), 7)
    assert (e.intervals, e.censored, e.onset) == (alone.intervals, alone.censored, alone.onset) == ((), (10.0,), _d(20))
    assert e.warned == ((0.0, 0.0),)  # the renewal of day 5, warned by nothing


def test_records_dated_after_today_are_not_known_yet():
    from mro_planning import warning_episodes

    # planning on day 20 (a clock behind the records): the warning of day 25 and the failure of day 24 are not
    # seen; the one seen from day 18 to day 22 is still open, two days old
    e = warning_episodes([(_d(18), _d(22)), (_d(25), None)], [(_d(24), True)], _d(20), 7)
    assert (e.intervals, e.censored, e.onset) == ((), (2.0,), _d(18))
    # a warning that begins after today opens nothing (its age would be negative)
    assert warning_episodes([(_d(25), None)], [], _d(20), 7) == warning_episodes([], [], _d(20), 7)


def test_episodes_refuse_bad_records():
    from mro_planning import warning_episodes

    with pytest.raises(ValueError, match="before it began"):
        warning_episodes([(_d(5), _d(4))], [], _d(10), 7)
    with pytest.raises(ValueError, match="quiet days"):
        warning_episodes([], [], _d(10), float("nan"))


def test_each_renewal_is_warned_by_the_episode_it_ended():
    from mro_planning import warning_episodes

    # an alert from day 10 (seen to day 15); confident RULs from day 14 to 16 then from day 20: failure on day 30,
    # warned 20 days ahead by the episode and 16 by its first RUL; an alert from day 40 to 42 closed quietly;
    # a planned replacement on day 60 with no episode open: warned by nothing
    e = warning_episodes(
        [(_d(10), _d(15)), (_d(40), _d(42))],
        [(_d(30), True), (_d(60), False)],
        _d(70),
        7,
        ruls=[(_d(14), _d(16)), (_d(20), None)],
    )
    assert e.warned == ((20.0, 16.0), (0.0, 0.0))
    assert (e.intervals, e.censored, e.onset) == ((20.0,), (2.0,), None)


def test_quiet_days_as_the_release_counts_them():
    from mro_planning import warning_episodes

    # last seen on day 10: a warning again on day 17 (7 days later) continues the episode, on day 18 opens a new
    # one; today, the episode last seen 7 days ago is over (a need would be released that day), 6 days ago not
    assert warning_episodes([(_d(0), _d(10)), (_d(17), _d(17))], [], _d(17), 7).censored == (17.0,)
    assert warning_episodes([(_d(0), _d(10)), (_d(18), _d(18))], [], _d(18), 7).censored == (10.0, 0.0)
    assert warning_episodes([(_d(0), _d(10))], [], _d(17), 7).onset is None
    assert warning_episodes([(_d(0), _d(10))], [], _d(16), 7).onset == _d(0)
    # a failure 7 days after the last sight ends the episode (its machine failed within the quiet days)
    assert warning_episodes([(_d(0), _d(10))], [(_d(17), True)], _d(20), 7).intervals == (17.0,)


def test_a_warning_seen_first_on_a_renewals_day_belongs_to_the_renewed_machine():
    from mro_planning import warning_episodes

    e = warning_episodes([(_d(5), _d(9)), (_d(10), None)], [(_d(10), True)], _d(12), 7)
    assert (e.intervals, e.censored, e.onset, e.warned) == ((5.0,), (2.0,), _d(10), ((5.0, 0.0),))


def test_an_episode_begun_before_the_machine_was_known_healthy_is_left_out():
    from mro_planning import warning_episodes

    # watched from day 0, known healthy after 7 days: the episode seen from day 2 ended in a failure on day 20
    # of unknown length (it may have begun long before); the machine was back on day 25 and its next episode,
    # from day 35, is counted (and open); one from day 27 would not be
    e = warning_episodes([(2, 15), (35, None)], [(20, True, 25)], 40, 7, watched_from=0, settle_days=7)
    assert (e.intervals, e.censored, e.onset, e.warned) == ((), (5.0,), 35, ())
    e = warning_episodes([(2, 15), (27, None)], [(20, True, 25)], 40, 7, watched_from=0, settle_days=7)
    assert (e.intervals, e.censored, e.onset, e.warned) == ((), (), 27, ())
    # without a watch start, the first life counts as seen
    assert warning_episodes([(2, 15)], [(20, True)], 40, 7).intervals == (18.0,)


def test_day_numbers_work_as_dates():
    from mro_planning import warning_episodes

    as_dates = warning_episodes([(_d(3), _d(9))], [(_d(12), True)], _d(20), 7, ruls=[(_d(5), _d(5))])
    as_days = warning_episodes([(3, 9)], [(12, True)], 20, 7, ruls=[(5, 5)])
    assert as_days == as_dates
    assert as_days.warned == ((9.0, 7.0),)
