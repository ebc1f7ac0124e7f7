"""Dynamic min/max of a shared spare part: unwarned demand, lead-time variance, criticality, claims."""

import pytest
from mro_planning import (
    BufferInputs,
    BufferUser,
    LeadTimeStats,
    MinMax,
    Policy,
    Signal,
    WarningHistory,
    lognormal_quantiles,
    orderpoint_levels,
    part_buffer,
    unwarned_rate,
)

LEAD = LeadTimeStats(10.0, 0.0)
POLICY = Policy()
# Nine renewals warned less than 12 days ahead (none at all) over 900 machine-days, prior 100:
# (9 + 1) / (900 + 100) = 0.01 renewals per machine-day that no need can buy in time.
SURPRISES = WarningHistory([0.0] * 9, exposure_days=900, prior_days=100)


def buffer(users, lead=LEAD, history=SURPRISES, cost=100.0, policy=POLICY):
    return part_buffer(BufferInputs(tuple(users), lead, cost, history, history), policy)


def test_unwarned_rate_is_the_history_rate_below_the_cover():
    assert unwarned_rate(SURPRISES, 12.0) == pytest.approx(0.01)
    assert unwarned_rate(WarningHistory([30.0] * 9, 900, 100), 12.0) == pytest.approx(0.001)


def test_buffer_hand_computed_two_machines_without_warning():
    # each fails within the 12-day cover with p = 1 - exp(-0.12) = 0.113080; two machines: P(0) = 0.786627,
    # P(<= 1) = 0.987212 -> min 1 at 95% (B). EOQ: 365 x 0.01 x 2 = 7.3 a year, order 50, holding 25% of 100:
    # sqrt(2 x 7.3 x 50 / 25) = 5.40 -> 6; an order is max - min + 1 units: max = 1 + 5
    result = buffer([BufferUser("B", 1), BufferUser("B", 1)])
    assert (result.min_qty, result.max_qty) == (1, 6)
    assert "max 6 = min + EOQ 6 - 1" in result.reason
    # run to failure: 90% service, still 1 (P(0) = 0.79); with one machine P(0) = 0.887 < 0.9 -> 1 as well
    assert buffer([BufferUser("C", 1)]).min_qty == 1
    # a rare demand is not stocked: p = 1 - exp(-12 x 0.001) = 0.0119, the 95% quantile is 0
    rare = WarningHistory([30.0] * 9, 900, 100)
    assert buffer([BufferUser("B", 1)], history=rare).min_qty == 0


def test_machines_planned_by_their_needs_are_not_in_the_buffer():
    warned = (Signal("rul", lognormal_quantiles(5, 4, 7)),)  # failing within the cover: p close to 1
    alone = buffer([BufferUser("B", 1)], history=WarningHistory([30.0] * 9, 900, 100))
    with_need = buffer([BufferUser("B", 1), BufferUser("B", 1, warned)], history=WarningHistory([30.0] * 9, 900, 100))
    assert with_need.min_qty == alone.min_qty == 0
    assert "1 planned by them" in with_need.reason
    # a run-to-failure machine with the same warning has no need to buy for it: the buffer holds its part
    c = buffer([BufferUser("C", 1, warned)], history=WarningHistory([30.0] * 9, 900, 100))
    assert c.min_qty == 1


def test_class_a_keeps_a_spare_without_predictive_cover():
    # half of the renewals warned 2 days ahead: no predictive cover for a 12-day cover -> a spare of 2 units
    late = WarningHistory([2.0] * 50 + [60.0] * 50, exposure_days=1e7, prior_days=100)
    spare = buffer([BufferUser("A", 2)], history=late)
    assert spare.min_qty == 2
    assert "an on-site spare for class A without predictive cover" in spare.reason
    # warned 60 days ahead 200 times: covered by predictions, no spare (and almost no unwarned demand)
    covered = buffer([BufferUser("A", 2)], history=WarningHistory([60.0] * 200, exposure_days=1e7, prior_days=100))
    assert covered.min_qty == 0


def test_lead_time_variance_fattens_the_pooled_demand():
    # twenty machines, the same mean lead time: a wide lead time (all machines share it) needs a larger min
    users = [BufferUser("B", 1)] * 20
    history = WarningHistory([0.0] * 29, exposure_days=2900, prior_days=100)  # 0.01 per machine-day
    steady = buffer(users, LeadTimeStats(10.0, 0.0), history)
    erratic = buffer(users, LeadTimeStats(10.0, 8.0), history)
    assert (steady.min_qty, erratic.min_qty) == (5, 6)


def test_risk_mode_raises_the_buffer():
    users = [BufferUser("B", 1)] * 10
    history = WarningHistory([0.0] * 29, exposure_days=2900, prior_days=100)
    calm = buffer(users, LeadTimeStats(10.0, 3.0), history)
    shaky = buffer(users, LeadTimeStats(10.0, 3.0), history, policy=Policy(risk_factor=2.0))
    assert shaky.min_qty > calm.min_qty
    assert "risk mode x2" in shaky.reason


def test_no_machine_in_service_no_buffer():
    assert buffer([]) is None


def test_orderpoint_levels_add_what_needs_claim():
    levels = orderpoint_levels(MinMax(1, 3, 0.5, "buffer"), 2.0)
    assert (levels.min_qty, levels.max_qty) == (3, 5)
    assert levels.reason == "buffer; + 2 claimed by open needs"
    assert orderpoint_levels(MinMax(1, 3, 0.5, "buffer"), 0.0).min_qty == 1
    with pytest.raises(ValueError, match="claimed"):
        orderpoint_levels(MinMax(1, 3, 0.5, "buffer"), -1.0)
