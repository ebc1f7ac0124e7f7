"""The planner's decisions for one need: which warnings count, the order-by date, due, late, released, closed,
the claim on free stock and how to buy (normal, expedite, emergency)."""

import dataclasses
from datetime import date, timedelta

import numpy as np
import pytest
from mro_planning import (
    PROBS,
    ExpediteOption,
    LeadTimeStats,
    NeedInputs,
    Policy,
    Signal,
    WarningHistory,
    claim_until,
    claims_shortfall,
    cover_need,
    free_stock,
    lognormal_quantiles,
    order_by_date,
    plan_need,
    policy_settings,
    purchase_mode,
    usable_kinds,
)

TODAY = date(2026, 9, 1)
LEAD = LeadTimeStats(10.0, 0.0)  # constant: hand-computable dates
POLICY = Policy(review_days=0)
# The confident RUL warned 60 days ahead before 200 renewals: in time for any part here.
ON_TIME = WarningHistory([60.0] * 200)
# Half of the renewals were warned 2 days ahead only: too late for a 12-day cover.
TOO_LATE = WarningHistory([2.0] * 50 + [60.0] * 50)
RUL = Signal("rul", lognormal_quantiles(90, 60, 120))
# Uniform on [40, 80] days: F(t) = (t - 40) / 40. Risk 5%, lead 10 + 2: x + 12 <= 42 -> x = 30 (2026-10-01).
ONSET = Signal("onset", 40 + 40 * PROBS)


def need(**values):
    base = {"today": TODAY, "criticality": "B", "quantity": 1, "lead": LEAD, "rul_warnings": ON_TIME}
    return NeedInputs(**{**base, **values})


def test_no_warning_no_need():
    decision = plan_need(need(), POLICY)
    assert decision.action == "none"


def test_a_confident_rul_plans_the_need_at_its_order_by_date():
    decision = plan_need(need(signals=(RUL,)), POLICY)
    expected = order_by_date(TODAY, RUL.quantiles, LEAD, 0.05, 1, 1, criticality="B")
    assert (decision.action, decision.signal, decision.order_by) == ("plan", "rul", expected.day)
    assert not decision.due and not decision.late
    assert decision.last_signal_on == TODAY
    assert decision.reason.startswith(expected.reason)
    assert "[from the confident RUL; the RUL warned 12 d ahead for 99.5% of past renewals]" in decision.reason


def test_earlier_warnings_count_only_where_the_rul_warns_too_late():
    # The RUL warns in time for a 12-day cover: the onset is ignored, the RUL's date stands.
    in_time = plan_need(need(signals=(RUL, ONSET)), POLICY)
    assert in_time.signal == "rul"
    assert usable_kinds(need(), POLICY)[0] == ("rul",)
    # Half of the renewals came 2 days after their first RUL: the onset counts, and its earlier date wins.
    early = plan_need(need(signals=(RUL, ONSET), rul_warnings=TOO_LATE), POLICY)
    assert (early.signal, early.order_by) == ("onset", date(2026, 10, 1))
    assert "the RUL warned less than 12 d ahead for 50% of past renewals" in early.reason
    assert usable_kinds(need(rul_warnings=TOO_LATE), POLICY)[0] == ("rul", "onset", "fleet")
    # Switched off, the confident RUL only.
    assert plan_need(need(signals=(RUL, ONSET), rul_warnings=TOO_LATE), Policy(early_signals=False)).signal == "rul"
    # Run to failure: no warning counts.
    assert usable_kinds(need(criticality="C"), POLICY)[0] == ()


def test_weibull_plans_needs_only_when_asked_and_every_warning_comes_too_late():
    weibull = Signal("weibull", 20 + 40 * PROBS)  # earlier than the onset
    x = need(criticality="A", signals=(ONSET, weibull), rul_warnings=TOO_LATE, early_warnings=TOO_LATE)
    assert plan_need(x, POLICY).signal == "onset"
    assert plan_need(x, dataclasses.replace(POLICY, weibull_needs=True)).signal == "weibull"
    on_time_early = dataclasses.replace(x, early_warnings=ON_TIME)
    assert plan_need(on_time_early, dataclasses.replace(POLICY, weibull_needs=True)).signal == "onset"


def test_review_days_buy_a_need_ahead_of_its_date():
    # F(t) = (t - 15.5) / 40: x + 12 <= 17.5 -> x = 5 (2026-09-06)
    soon = Signal("rul", 15.5 + 40 * PROBS)
    assert plan_need(need(signals=(soon,)), Policy(review_days=4)).due is False
    decision = plan_need(need(signals=(soon,)), Policy(review_days=5))
    assert (decision.order_by, decision.due, decision.late) == (date(2026, 9, 6), True, False)


def test_a_scheduled_job_before_the_failure_sets_the_date():
    # job 2026-09-20: arrive by 09-18 (receiving + kitting), 10 days of lead: order by 09-08
    decision = plan_need(need(signals=(RUL,), deadline=date(2026, 9, 20)), POLICY)
    assert (decision.signal, decision.order_by, decision.arrive_by) == ("deadline", date(2026, 9, 8), date(2026, 9, 18))
    assert "[from the scheduled job;" in decision.reason
    # a job without any warning still needs its kit; run to failure too, at the deadline risk
    assert plan_need(need(deadline=date(2026, 9, 20)), POLICY).order_by == date(2026, 9, 8)
    c = plan_need(need(criticality="C", deadline=date(2026, 9, 20)), POLICY)
    assert (c.action, c.signal) == ("plan", "deadline")


def test_an_ordered_need_is_never_planned_twice():
    decision = plan_need(need(signals=(RUL,), state="ordered", order_by=TODAY, planned_on=TODAY), POLICY)
    assert (decision.action, decision.order_by) == ("keep", TODAY)


def test_a_need_without_warning_waits_then_is_released():
    stored = {"state": "planned", "order_by": date(2026, 9, 3), "planned_on": date(2026, 8, 20)}
    quiet_3 = plan_need(need(**stored, last_signal_on=TODAY - timedelta(days=3)), Policy(review_days=5))
    # kept as stored, and due: its stored date is within the review days
    assert (quiet_3.action, quiet_3.order_by, quiet_3.due, quiet_3.late) == ("keep", date(2026, 9, 3), True, False)
    quiet_7 = plan_need(need(**stored, last_signal_on=TODAY - timedelta(days=7)), POLICY)
    assert (quiet_7.action, quiet_7.reason) == ("cancel", "released: no usable warning for 7 d")
    ordered = plan_need(need(**{**stored, "state": "ordered"}, last_signal_on=TODAY - timedelta(days=7)), POLICY)
    assert ordered.action == "cancel"
    assert "the purchase stays and its parts become free stock" in ordered.reason


def test_a_renewed_equipment_closes_its_needs():
    renewed = need(signals=(RUL,), state="stock", planned_on=date(2026, 8, 1), renewed_on=date(2026, 8, 20))
    assert plan_need(renewed, POLICY).action == "done"
    # a need planned after the renewal is the new life's
    after = dataclasses.replace(renewed, planned_on=date(2026, 8, 21))
    assert plan_need(after, POLICY).action == "plan"


def test_run_to_failure_cancels_what_was_planned():
    assert plan_need(need(criticality="C", signals=(RUL,)), POLICY).action == "none"
    planned = need(criticality="C", signals=(RUL,), state="planned", planned_on=TODAY, order_by=TODAY)
    assert plan_need(planned, POLICY).action == "cancel"


def test_late_needs_expedite_or_emergency_by_criticality():
    # F(t) = t / 8 inside [0.08, 7.92]: ordering today (x = 0) the kit is ready on day 12, F(12) = 0.99515;
    # on a 3-day expedite agreement on day 5: F(5) = 0.625
    failing = Signal("rul", 8 * PROBS)
    option = ExpediteOption(LeadTimeStats(3.0, 0.0), premium=0.2)
    for crit in ("A", "B"):
        late = plan_need(need(criticality=crit, signals=(failing,), expedite=option), POLICY)
        assert late.due and late.late
        assert late.risk_if_today == pytest.approx(0.99 + 0.01 * (12 - 7.92) / 7.92)
        assert late.risk_if_expedited == pytest.approx(5 / 8)
        assert purchase_mode(late, crit, POLICY, option).mode == "expedite"
    # Without an agreement: A (critical) buys it as an emergency, B orders normally, flagged late.
    bare = plan_need(need(criticality="A", signals=(failing,)), POLICY)
    assert bare.risk_if_expedited is None
    assert purchase_mode(bare, "A", POLICY).mode == "emergency"
    assert purchase_mode(bare, "B", POLICY).mode == "normal"
    # A merely late need (P 30% < 50%) is a normal order for A too. F(t) = t / 40: F(12) = 0.3
    mild = plan_need(need(criticality="A", signals=(Signal("rul", 40 * PROBS),)), POLICY)
    assert mild.late and mild.risk_if_today == pytest.approx(0.3)
    assert purchase_mode(mild, "A", POLICY).mode == "normal"
    # on time: normal; a machine that is down: emergency
    assert purchase_mode(plan_need(need(signals=(RUL,)), POLICY), "B", POLICY, option).mode == "normal"
    assert purchase_mode(None, "C", POLICY, machine_down=True).emergency


def test_free_stock_claim_and_shortfall():
    assert free_stock(on_hand=3, reserved=1, incoming=2, claimed=1.5) == pytest.approx(2.5)
    assert (cover_need(2, 2.5).claim, cover_need(2, 2.5).order) == (2.0, 0)
    assert cover_need(2, 0.5).order == 2  # 1.5 short: two whole units
    assert cover_need(2, -3).order == 2  # stock owed to others is not this need's to buy
    with pytest.raises(ValueError, match="positive number of units"):
        cover_need(0, 1)
    # claims a breakdown took from the shelf are bought again: 1.5 units short -> 2; none short -> 0
    assert (claims_shortfall(-1.5), claims_shortfall(0.0), claims_shortfall(2.0)) == (2, 0, 0)


def test_only_incoming_due_in_time_may_be_claimed():
    decision = plan_need(need(signals=(RUL,)), POLICY)  # arrive by = safe day + 10 shipping days
    assert claim_until(decision, TODAY, LEAD, POLICY) == decision.arrive_by
    late = plan_need(need(criticality="A", signals=(Signal("rul", 8 * PROBS),)), POLICY)
    # the arrival date has passed: what arrives no later than a new order would (10 + 1 receiving days)
    assert claim_until(late, TODAY, LEAD, POLICY) == TODAY + timedelta(days=11)


def test_risk_mode_stretches_lead_times_and_orders_earlier():
    calm = plan_need(need(signals=(RUL,), lead=LeadTimeStats(10.0, 3.0)), POLICY)
    shaky = plan_need(need(signals=(RUL,), lead=LeadTimeStats(10.0, 3.0)), Policy(review_days=0, risk_factor=1.5))
    assert shaky.order_by < calm.order_by


def test_policy_settings_are_declared_once_and_checked():
    names = [name for name, _default, _doc in policy_settings()]
    assert names[:3] == ["risk_a", "risk_b", "risk_c"]
    assert all(doc for _name, _default, doc in policy_settings())
    assert Policy().risk("C") is None and Policy().risk(None) == 0.05 and Policy().service("A") == 0.99
    with pytest.raises(ValueError, match="risk_b"):
        Policy(risk_b=1.2)
    with pytest.raises(ValueError, match="service_c"):
        Policy(service_c=1.0)
    with pytest.raises(ValueError, match="review_days"):
        Policy(review_days=-1)
    assert np.isfinite(Policy().fixed_days)
