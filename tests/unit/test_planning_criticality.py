"""The criticality suggestion of the criticality audit (Predictive Setup)."""

from mro_planning.criticality import suggest_criticality


def test_high_impact_and_a_long_repair_is_a():
    s = suggest_criticality("high", failures=1, downtime_hours=60, repair_cost=0, long_lead_parts=0)
    assert (s.letter, s.points) == ("A", 5)
    assert "production impact high" in s.reasons


def test_history_alone_can_make_an_a():
    s = suggest_criticality(None, failures=4, downtime_hours=72, repair_cost=1500, long_lead_parts=2)
    assert s.letter == "A"


def test_nothing_known_is_b_not_run_to_failure():
    assert suggest_criticality(None, 0, 0.0, 0.0, 0).letter == "B"
    assert suggest_criticality("medium", 0, 0.0, 0.0, 0).letter == "B"


def test_low_impact_and_a_quiet_history_is_c():
    assert suggest_criticality("none", 0, 0.0, 0.0, 0).letter == "C"
    assert suggest_criticality("low", 1, 4.0, 10.0, 0).letter == "C"
    assert suggest_criticality("low", 0, 10.0, 0.0, 1).letter == "B"  # 1 + 1 + 1
