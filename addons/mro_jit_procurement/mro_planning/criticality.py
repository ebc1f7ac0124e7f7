"""A criticality suggestion (A/B/C) from what a database knows of an equipment (pure, no Odoo import)."""

from __future__ import annotations

from dataclasses import dataclass

#: Points of the production impact the user entered.
IMPACT_POINTS = {"high": 3, "medium": 2, "low": 1, "none": 0}


@dataclass(frozen=True)
class CriticalitySuggestion:
    letter: str
    points: int
    reasons: tuple[str, ...]


def suggest_criticality(
    impact: str | None,
    failures: int,
    downtime_hours: float,
    repair_cost: float,
    long_lead_parts: int,
) -> CriticalitySuggestion:
    """A (4 points or more), B (2-3) or C (0-1, and a production impact entered as low or none) from: the
    production impact the user entered (high 3, medium 2, low 1), the downtime of the last two years' corrective
    repairs (over 48 h: 2, over 8 h: 1), three or more failures (1), a repair cost over 1,000 in parts (1), and
    spare parts whose lead time exceeds 48 hours (1: a failure would wait for them). Without an impact entered
    and with nothing against it, B: run to failure is a choice someone makes, not a default."""
    points, reasons = 0, []
    if impact and IMPACT_POINTS.get(impact):
        points += IMPACT_POINTS[impact]
        reasons.append(f"production impact {impact}")
    if downtime_hours > 48:
        points += 2
        reasons.append(f"{downtime_hours:.0f} h of downtime in two years")
    elif downtime_hours > 8:
        points += 1
        reasons.append(f"{downtime_hours:.0f} h of downtime in two years")
    if failures >= 3:
        points += 1
        reasons.append(f"{failures} failures in two years")
    if repair_cost > 1000:
        points += 1
        reasons.append(f"{repair_cost:.0f} of parts in repairs")
    if long_lead_parts:
        points += 1
        reasons.append(f"{long_lead_parts} spare part(s) with a lead time over 48 h")
    if points >= 4:
        letter = "A"
    elif points >= 2 or impact not in ("low", "none"):
        # Nothing known is not "may run to failure": B until someone says the impact is low.
        letter = "B"
    else:
        letter = "C"
    return CriticalitySuggestion(letter, points, tuple(reasons) or ("nothing known against it",))
