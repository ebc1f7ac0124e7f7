"""The planner's decisions for one spare-part need, in one place: both the Odoo planner and the plant simulation
(bench/jit_sim.py) call these functions with the same inputs, so the simulation measures what plants run.

One need is one part of one equipment. Each planning day the caller gathers ``NeedInputs`` (the equipment's
criticality and warnings, the vendor's lead time and expedite option, the job's scheduled day, the need's
current state) and ``plan_need`` returns a ``NeedDecision``:

- which warnings count (``warning_kinds``): criticality A and B act on a confident RUL; when that RUL warned
  less than the part's cover (lead time at the allowed risk + receiving + kitting) ahead of a larger share of
  the plant's past renewals than the criticality's risk allows, they also act on the onset of the warning
  episode (``signals.residual_quantiles``) and on a fleet-model probability; with ``Policy.weibull_needs``,
  class A also on the Weibull hazard of its age when even those come too late. C runs to failure.
- the order-by date: the earliest of every usable warning's date (``order_by_date`` at the criticality's risk)
  and of the scheduled job's (a hard deadline), so a less certain but earlier warning is not ignored;
- due once that date is within ``review_days`` (a buyer's weekly review: estimates of a wearing machine move
  its date earlier as the wear accelerates), late when the date has passed;
- released (cancelled, its claim freed) when no usable warning was seen for ``release_after_days`` days; done
  when the equipment was renewed (repaired or replaced) since the need was planned; an ordered need is never
  planned twice.

When a need is due, it claims free stock (``free_stock``, with only the incoming purchases due by
``claim_until``), ``cover_need`` says what to order, and ``purchase_mode`` how: a normal order, the vendor's
expedite agreement (late, and the agreement makes it likelier in time; classes ``expedite_classes``), or an
emergency purchase (the machine is down; or, for ``emergency_classes``, ordering normally it would more likely
than not be kitted after the failure). The part's dynamic min/max lives in ``buffer``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from .leadtime import LeadTimeStats
from .orderby import _as_day, deadline_arrival, late_probability, lead_quantile, order_by_date
from .signals import EARLY_KINDS, Signal, WarningHistory
from .workdays import Closures

#: Warning kinds each criticality may plan needs from (in ``KINDS`` order); C runs to failure. Class A adds the
#: Weibull hazard only with ``Policy.weibull_needs``.
KINDS_BY_CRITICALITY = {"A": ("rul", "onset", "fleet", "weibull"), "B": ("rul", "onset", "fleet"), "C": ()}
#: Need states while it is open (as ``mro.part.need``'s): planned, due (to order, no vendor), covered by stock,
#: ordered.
OPEN_STATES = ("planned", "due", "stock", "ordered")
#: Purchase modes.
MODES = ("normal", "expedite", "emergency")
#: Tie-break between equal dates (the most specific warning explains the date) and the words for the reason.
KIND_ORDER = {"deadline": 0, "rul": 1, "onset": 2, "fleet": 3, "weibull": 4}
KIND_WORDS = {
    "deadline": "scheduled job",
    "rul": "confident RUL",
    "onset": "warning episode's onset",
    "fleet": "fleet model",
    "weibull": "Weibull hazard",
}


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass(frozen=True)
class Policy:
    """The company's planning settings, declared once (each with its default and meaning)."""

    risk_a: float = field(default=0.01, metadata=_doc("allowed P(part arrives after the failure), criticality A"))
    risk_b: float = field(default=0.05, metadata=_doc("allowed P(part arrives after the failure), criticality B"))
    risk_c: float = field(
        default=0.0, metadata=_doc("allowed risk, criticality C (0: run to failure, nothing ordered ahead)")
    )
    service_a: float = field(
        default=0.99, metadata=_doc("service level of a part's min/max when a class A machine uses it")
    )
    service_b: float = field(default=0.95, metadata=_doc("service level when the most critical user is class B"))
    service_c: float = field(
        default=0.90, metadata=_doc("service level when only class C machines use it (run to failure)")
    )
    receiving_days: float = field(
        default=1.0, metadata=_doc("days from the vendor's delivery to the part on the shelf")
    )
    kitting_days: float = field(default=1.0, metadata=_doc("days to put the part in the job's kit"))
    release_after_days: int = field(default=7, metadata=_doc("days without a usable warning before a need is released"))
    review_days: int = field(
        default=7,
        metadata=_doc("a need is bought once its order-by date is within this many days (the buyer's weekly review)"),
    )
    risk_factor: float = field(
        default=1.0, metadata=_doc("risk mode: lead times and safety stocks x this factor (1: off)")
    )
    order_cost: float = field(default=50.0, metadata=_doc("cost of one order line (currency), for the EOQ"))
    holding_rate: float = field(
        default=0.25, metadata=_doc("holding cost per year as a share of the part's cost, for the EOQ")
    )
    emergency_risk: float = field(
        default=0.5, metadata=_doc("a late need is bought as an emergency from this P(late) ordering today")
    )
    deadline_risk: float = field(
        default=0.05, metadata=_doc("allowed risk of missing a scheduled job when the class runs to failure")
    )
    emergency_classes: str = field(
        default="A", metadata=_doc("criticalities whose late needs are bought as emergencies (from emergency_risk)")
    )
    expedite_classes: str = field(
        default="AB", metadata=_doc("criticalities that use the vendor's expedite agreement when late")
    )
    spare_classes: str = field(
        default="A", metadata=_doc("criticalities kept covered by an on-site spare without predictive cover")
    )
    early_signals: bool = field(default=True, metadata=_doc("act on earlier warnings where the lead time demands it"))
    weibull_needs: bool = field(
        default=False,
        metadata=_doc("class A also plans needs from the Weibull hazard when every warning comes too late"),
    )

    def __post_init__(self):
        for name in ("risk_a", "risk_b", "risk_c"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value < 1):
                raise ValueError(f"{name} must lie in [0, 1) (0: run to failure), got {value!r}")
        for name in ("service_a", "service_b", "service_c", "emergency_risk", "deadline_risk"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value < 1):
                raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
        for name in ("receiving_days", "kitting_days", "order_cost", "holding_rate"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(self.risk_factor) and self.risk_factor > 0):
            raise ValueError(f"risk_factor must be a positive number, got {self.risk_factor!r}")
        if self.release_after_days < 1:
            raise ValueError(f"release_after_days must be >= 1, got {self.release_after_days!r}")
        if self.review_days < 0:
            raise ValueError(f"review_days must be >= 0, got {self.review_days!r}")

    @property
    def fixed_days(self) -> float:
        """Receiving + kitting (days)."""
        return self.receiving_days + self.kitting_days

    def risk(self, criticality: str | None) -> float | None:
        """Allowed P(part arrives after the failure) for a criticality (B when unset); None: run to failure."""
        value = {"A": self.risk_a, "B": self.risk_b, "C": self.risk_c}.get(criticality or "B")
        return value if value and value > 0 else None

    def service(self, criticality: str | None) -> float:
        """Service level of the buffer for a criticality (B when unset)."""
        return {"A": self.service_a, "B": self.service_b, "C": self.service_c}.get(criticality or "B")

    def effective_lead(self, lead: LeadTimeStats) -> LeadTimeStats:
        """The lead time (days) the planner uses: in risk mode, mean and std x ``risk_factor``."""
        return lead.scaled(self.risk_factor) if self.risk_factor != 1.0 else lead


def policy_settings() -> list[tuple[str, object, str]]:
    """(name, default, meaning) of every setting of ``Policy``, for the README's table."""
    return [(f.name, f.default, f.metadata["doc"]) for f in fields(Policy)]


@dataclass(frozen=True)
class ExpediteOption:
    """A vendor agreement to ship faster: its lead time (days) and its premium (share of the part's price)."""

    lead: LeadTimeStats
    premium: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.premium) and self.premium >= 0):
            raise ValueError(f"expedite premium must be a share >= 0 of the price, got {self.premium!r}")


@dataclass(frozen=True)
class NeedInputs:
    """What the planner knows of one part of one equipment on ``today`` (days, dates; see the module docstring).

    ``signals``: the equipment's warnings since its last renewal; ``rul_warnings`` / ``early_warnings``: the
    plant's warning history of confident RULs / of the earliest warning of any kind; ``deadline``: the day
    (or datetime) of the maintenance job the part is kitted for; ``state``, ``order_by``, ``planned_on``,
    ``last_signal_on``: the need's as stored (``None`` when there is none); ``renewed_on``: the equipment's
    last repair or replacement."""

    today: date
    criticality: str | None
    quantity: float
    lead: LeadTimeStats
    signals: tuple[Signal, ...] = ()
    rul_warnings: WarningHistory = field(default_factory=WarningHistory)
    early_warnings: WarningHistory = field(default_factory=WarningHistory)
    expedite: ExpediteOption | None = None
    deadline: date | datetime | None = None
    plant_closed: Closures = None
    vendor_closed: Closures = None
    state: str | None = None
    order_by: date | None = None
    planned_on: date | None = None
    last_signal_on: date | None = None
    renewed_on: date | None = None
    confidence: float = 0.8


@dataclass(frozen=True)
class NeedDecision:
    """What to do with the need: ``action`` "none" (no need), "plan" (create or update it with these values),
    "keep" (leave it as stored), "cancel" (release it and its claim) or "done" (the equipment was renewed).

    ``order_by``: the order-by date; ``due``: it is within the review days; ``late``: it had passed; ``risk_if_today``
    / ``risk_if_expedited``: P(part too late) ordering today normally / on the expedite agreement; ``signal``:
    the warning kind (or "deadline") that set the date; ``last_signal_on``: the last day a usable warning
    was seen."""

    action: str
    reason: str
    order_by: date | None = None
    due: bool = False
    late: bool = False
    risk_if_today: float | None = None
    risk_if_expedited: float | None = None
    signal: str = ""
    last_signal_on: date | None = None
    #: the day the part must arrive for the order-by date to hold (stock arriving later does not cover it)
    arrive_by: date | None = None


def cover_days(lead: LeadTimeStats, risk: float | None, policy: Policy) -> float:
    """Days from ordering to the part in the kit that hold with probability 1 - ``risk`` (the mean when run to
    failure): the lead time's quantile + receiving + kitting."""
    days = lead_quantile(lead, 1 - risk) if risk is not None and lead.std > 0 else lead.mean
    return days + policy.fixed_days


def usable_kinds(x: NeedInputs, policy: Policy) -> tuple[tuple[str, ...], str]:
    """The warning kinds this need may act on, and why in words (see the module docstring)."""
    return warning_kinds(x.criticality, x.lead, x.rul_warnings, x.early_warnings, policy)


def warning_kinds(
    criticality: str | None,
    lead: LeadTimeStats,
    rul_warnings: WarningHistory,
    early_warnings: WarningHistory,
    policy: Policy,
) -> tuple[tuple[str, ...], str]:
    """The warning kinds a part of an equipment of ``criticality`` may be planned from, given the vendor's lead
    time (days) and the plant's warning histories, and why in words: none for run to failure, the confident RUL,
    plus the onset and fleet kinds when the RUL warns too late for the part's cover more often than the risk
    allows, plus (class A) the Weibull hazard when even those do."""
    kinds = KINDS_BY_CRITICALITY.get(criticality or "B", ())
    risk = policy.risk(criticality)
    if not kinds or risk is None:
        return (), "run to failure"
    if not policy.early_signals:
        return ("rul",), "confident RUL only"
    cover = cover_days(policy.effective_lead(lead), risk, policy)
    late_share = rul_warnings.share_below(cover)
    if late_share <= risk:
        return ("rul",), f"the RUL warned {cover:.0f} d ahead for {1 - late_share:.1%} of past renewals"
    why = f"the RUL warned less than {cover:.0f} d ahead for {late_share:.0%} of past renewals"
    early = [k for k in kinds if k in EARLY_KINDS and k != "weibull"]
    early_share = early_warnings.share_below(cover)
    if "weibull" in kinds and policy.weibull_needs and early_share > risk:
        early.append("weibull")
        why += f", earlier warnings for {early_share:.0%}"
    return ("rul", *early), why


def plan_need(x: NeedInputs, policy: Policy) -> NeedDecision:
    """The decision for one need on ``x.today`` (see ``NeedDecision`` and the module docstring)."""
    state = x.state if x.state in OPEN_STATES else None
    if state and x.renewed_on and x.planned_on and x.renewed_on >= x.planned_on:
        return NeedDecision("done", f"equipment renewed on {x.renewed_on.isoformat()}")
    kinds, why = usable_kinds(x, policy)
    usable = [s for s in x.signals if s.kind in kinds]
    last_signal = x.today if usable else x.last_signal_on
    risk = policy.risk(x.criticality)
    if not usable and x.deadline is None:
        if state is None:
            return NeedDecision("none", f"no usable warning ({why})")
        quiet = (x.today - last_signal).days if last_signal else None
        if risk is None or quiet is None or quiet >= policy.release_after_days:
            what = "run to failure" if risk is None else f"no usable warning for {quiet} d"
            if state == "ordered":
                what += "; the purchase stays and its parts become free stock"
            return NeedDecision("cancel", f"released: {what}", last_signal_on=last_signal)
        if state == "ordered":
            return NeedDecision("keep", "already ordered: never twice", x.order_by, last_signal_on=last_signal)
        due = x.order_by is not None and (x.order_by - x.today).days <= policy.review_days
        late = x.order_by is not None and x.order_by < x.today
        return NeedDecision(
            "keep", f"no usable warning for {quiet} d: plan kept", x.order_by, due, late, last_signal_on=last_signal
        )
    if state == "ordered":
        return NeedDecision("keep", "already ordered: never twice", x.order_by, last_signal_on=last_signal)
    lead = policy.effective_lead(x.lead)
    plans = []
    deadline = x.deadline
    for signal in usable or [None]:
        plan = order_by_date(
            x.today,
            None if signal is None else signal.quantiles,
            lead,
            risk,
            policy.receiving_days,
            policy.kitting_days,
            x.plant_closed,
            x.vendor_closed,
            x.criticality,
            x.confidence,
            deadline=deadline,
            deadline_risk=None if risk is not None else policy.deadline_risk,
        )
        deadline = None  # once is enough
        if plan.day is not None:
            kind = "deadline" if plan.driver == "deadline" else signal.kind
            plans.append((plan.day, KIND_ORDER[kind], kind, plan, signal))
    if not plans:
        return NeedDecision("cancel" if state else "none", "run to failure: no order ahead", last_signal_on=last_signal)
    day, _rank, kind, plan, signal = min(plans, key=lambda p: (p[0], p[1]))
    risk_expedited = None
    if x.expedite is not None and plan.late:
        exp_lead = policy.effective_lead(x.expedite.lead)
        if kind == "deadline":
            arrival = deadline_arrival(_as_day(x.deadline), policy.receiving_days, policy.kitting_days, x.plant_closed)
            risk_expedited = 1.0 - float(exp_lead.cdf((arrival - x.today).days))
        else:
            risk_expedited = late_probability(0, signal.quantiles, exp_lead, policy.receiving_days, policy.kitting_days)
    reason = f"{plan.reason} [from the {KIND_WORDS[kind]}; {why}]"
    return NeedDecision(
        "plan",
        reason,
        day,
        (day - x.today).days <= policy.review_days,
        day < x.today,
        plan.risk_if_today,
        risk_expedited,
        kind,
        last_signal,
        plan.arrive_by,
    )


@dataclass(frozen=True)
class Cover:
    """A due need: units it claims (all of it) and units to order (whole, the shortfall of free stock)."""

    claim: float
    order: int


def free_stock(on_hand: float, reserved: float, incoming: float, claimed: float) -> float:
    """Free stock of a part (units): on hand - reserved (kits, waiting jobs) + incoming (purchases on the way,
    draft RFQs; for a need's claim only those due by ``claim_until``) - claimed by open needs."""
    return float(on_hand) - float(reserved) + float(incoming) - float(claimed)


def claim_until(decision: NeedDecision, today: date, lead: LeadTimeStats, policy: Policy) -> date:
    """The last planned arrival day of incoming purchases a due need may claim: the day the part must arrive
    (``decision.arrive_by``), or, when that has passed, the day a new order would arrive (today + the mean lead
    time + receiving, rounded up): a later delivery covers it no better than ordering."""
    fresh = today + timedelta(days=math.ceil(policy.effective_lead(lead).mean + policy.receiving_days - 1e-9))
    return max(decision.arrive_by or today, fresh)


def cover_need(quantity: float, free: float) -> Cover:
    """A due need of ``quantity`` units claims them all; what free stock (units) lacks is ordered, rounded up."""
    if not (math.isfinite(quantity) and quantity > 0):
        raise ValueError(f"a need's quantity must be a positive number of units, got {quantity!r}")
    return Cover(float(quantity), max(0, math.ceil(float(quantity) - max(float(free), 0.0) - 1e-9)))


def claims_shortfall(free: float) -> int:
    """Units to buy again for a part whose free stock (units, ``free_stock`` with all incoming) is negative: what
    open needs claimed and a breakdown or a kit has taken since (whole units, 0 when nothing is missing)."""
    return max(0, math.ceil(-float(free) - 1e-9))


@dataclass(frozen=True)
class Purchase:
    """How to buy a due need's shortfall: ``mode`` (see ``MODES``) and why."""

    mode: str
    reason: str

    @property
    def emergency(self) -> bool:
        return self.mode == "emergency"


def purchase_mode(
    decision: NeedDecision | None,
    criticality: str | None,
    policy: Policy,
    expedite: ExpediteOption | None = None,
    machine_down: bool = False,
) -> Purchase:
    """Normal, expedite or emergency purchase for a due need (``decision``) or a machine that is down
    (``machine_down``: always an emergency, ``decision`` may be None). A late need goes on the vendor's expedite
    agreement when its criticality uses one and it lowers the late risk; otherwise, for the criticalities of
    ``emergency_classes``, it is an emergency when ordering normally it would more likely than not
    (``emergency_risk``) be kitted after the failure; else a normal order, flagged late."""
    if machine_down:
        return Purchase("emergency", "the machine is down waiting for the part")
    if decision is None or not decision.late or decision.risk_if_today is None:
        return Purchase("normal", "ordered by its order-by date")
    risk_now = decision.risk_if_today
    if (
        expedite is not None
        and (criticality or "B") in policy.expedite_classes
        and decision.risk_if_expedited is not None
        and decision.risk_if_expedited < risk_now
    ):
        return Purchase(
            "expedite",
            f"late: expedited ({expedite.lead.mean:.1f} d, +{expedite.premium:.0%}) lowers the risk of arriving "
            f"too late from {risk_now:.1%} to {decision.risk_if_expedited:.1%}",
        )
    if risk_now >= policy.emergency_risk and (criticality or "B") in policy.emergency_classes:
        return Purchase("emergency", f"late: ordered normally it arrives too late with P {risk_now:.0%}")
    return Purchase("normal", f"late: ordered normally it arrives too late with P {risk_now:.1%}")
