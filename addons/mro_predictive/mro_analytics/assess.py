"""One equipment's health from its sensors: quality, baseline, anomaly, RUL, score and state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .anomaly import detect
from .baseline import Baseline, fast_median, learn_baseline, shrink_baseline
from .onset import OnsetPrior, onset_index
from .quality import check_quality
from .rul import RulResult, estimate_rul, no_prediction

STATES = ("good", "watch", "warning", "critical")
#: Score band of each state: a score always agrees with its state.
BANDS = {"good": (80.0, 100.0), "watch": (60.0, 79.0), "warning": (40.0, 59.0), "critical": (0.0, 39.0)}
#: Critical when the early end of the RUL interval (the date parts are ordered from) is below this many days.
CRITICAL_RUL = 7.0
#: Baselines are learned from the oldest third of the window, at least this many samples.
BASELINE_MIN = 24


@dataclass
class SensorInput:
    """One sensor's window: times in days (increasing), values, limits, and its stored baseline."""

    key: int
    t: np.ndarray
    y: np.ndarray
    warning: float | None = None
    alarm: float | None = None
    physical_min: float | None = None
    physical_max: float | None = None
    baseline: Baseline | None = None
    step: float | None = None
    #: How reasons name the sensor (e.g. "[P7-VIB] Pump vibration"); default "sensor <key>".
    label: str | None = None
    #: The healthy level of similar sensors (baseline.population_baseline), used, shrunk toward this sensor's
    #: own values, until its own baseline is learned; and what it rests on, for the reasons.
    population: Baseline | None = None
    population_note: str = ""
    #: The Bayesian exponential model's prior from the fleet's past failures (rul.learn_exponential_prior).
    prior: dict | None = None

    @property
    def title(self) -> str:
        return self.label or f"sensor {self.key}"


@dataclass
class SensorAssessment:
    key: int
    value: float | None
    z: float | None
    drift: bool
    anomaly: bool
    quality: list[str]
    reasons: list[str]
    baseline: Baseline | None
    rul: RulResult
    #: The anomaly is upward (the level above the baseline, or an upward drift).
    up: bool = False
    #: Which baseline judged the sensor: its own (stored in ``baseline``), or its population's (not stored).
    source: str = ""


@dataclass
class EquipmentAssessment:
    score: float
    state: str
    anomaly: bool
    reasons: list[str]
    rul: RulResult
    limiting_key: int | None
    sensors: list[SensorAssessment] = field(default_factory=list)


def assess_sensor(
    s: SensorInput, now: float | None, confidence: float, onset_prior: OnsetPrior | None = None
) -> SensorAssessment:
    """Quality first (a faulty sensor is not a faulty machine), then baseline, anomaly and RUL; with an upward
    anomaly, the RUL also leans on ``onset_prior`` (the time from the onset of wear to failure of similar
    machines) at the age of the current wear episode."""
    q = check_quality(s.t, s.y, s.step, s.physical_min, s.physical_max, now)
    if not q.y.size:
        return SensorAssessment(
            s.key, None, None, False, False, q.codes, q.reasons, s.baseline, no_prediction("no data")
        )
    value = fast_median(q.y[-3:])
    baseline, since, source = s.baseline, 0, f"own baseline ({s.baseline.n} values)" if s.baseline else ""
    if baseline is None:
        since = max(BASELINE_MIN, q.y.size // 3)
        baseline = learn_baseline(q.y[:since], min_samples=BASELINE_MIN) if q.y.size >= 2 * BASELINE_MIN else None
        source = f"own baseline, learned now ({baseline.n} values)" if baseline else ""
    own = baseline is not None
    if baseline is None and s.population is not None:
        # Useful from the first readings: judged against similar machines until it has a baseline of its own.
        baseline, since = shrink_baseline(s.population, q.y), 0
        source = f"{s.population_note or 'population baseline'}, shrunk toward {q.y.size} own values"
    if "stuck" in q.codes:
        rul = no_prediction("the sensor looks stuck: no prediction from it", confidence)
        return SensorAssessment(
            s.key, value, None, False, False, q.codes, q.reasons, baseline if own else None, rul, source=source
        )
    found = detect(q.y, baseline, since)
    if found.anomaly and source:
        found.reasons.append(f"against the {source}")
    elapsed = None
    if found.up and onset_prior is not None:
        start = onset_index(baseline.z(q.y[since:]))
        # No wear episode under way by the onset's measure (a drift still inside the band): it begins now.
        elapsed = 0.0 if start is None else float((q.t[-1] if now is None else now) - q.t[since + start])
    if s.alarm:
        rul = estimate_rul(
            q.t,
            q.y,
            s.alarm,
            confidence=confidence,
            now=now,
            prior=s.prior,
            baseline=baseline,
            anomaly=found.up,
            onset_prior=onset_prior,
            onset_elapsed=elapsed,
        )
    else:
        rul = no_prediction("no alarm limit, so no failure threshold", confidence)
    return SensorAssessment(
        s.key,
        value,
        found.z,
        found.drift,
        found.anomaly,
        q.codes,
        q.reasons + found.reasons,
        baseline if own else None,
        rul,
        found.up,
        source,
    )


def assess_equipment(
    sensors: list[SensorInput],
    now: float | None = None,
    horizon: float = 30.0,
    confidence: float = 0.8,
    onset_prior: OnsetPrior | None = None,
) -> EquipmentAssessment:
    """Health of one equipment (``now`` and ``horizon`` in days): every sensor assessed, the earliest
    RUL against the alarm limits, a state (good/watch/warning/critical) and a 0-100 score in its band.
    ``onset_prior``: the time from the onset of wear to failure of similar machines (e.g. the asset model's
    past failures, ``onset.learn_onset_prior``), or None."""
    results = [assess_sensor(s, now, confidence, onset_prior) for s in sensors]
    by_key = {s.key: s for s in sensors}
    state, reasons = "good", []

    def worse(new: str, why: str) -> None:
        nonlocal state
        reasons.append(why)
        if STATES.index(new) > STATES.index(state):
            state = new

    scores = [100.0]
    for r in results:
        s = by_key[r.key]
        if r.value is None:
            continue
        if s.alarm and r.value >= s.alarm:
            worse("critical", f"{s.title}: {r.value:.3g} at or over the alarm limit {s.alarm:g}")
        elif s.warning and r.value >= s.warning:
            worse("warning", f"{s.title}: {r.value:.3g} over the warning limit {s.warning:g}")
        if r.anomaly:
            worse("watch", f"{s.title}: " + "; ".join(r.reasons[len(r.quality) :]))
        if r.baseline is not None and s.alarm and s.alarm > r.baseline.median:
            frac = (r.value - r.baseline.median) / (s.alarm - r.baseline.median)
            scores.append(100.0 * (1.0 - min(max(frac, 0.0), 1.0)))
    ok = [r for r in results if r.rul.ok]
    limiting = min(ok, key=lambda r: r.rul.rul) if ok else None
    rul = limiting.rul if limiting else _why_no_rul(results, by_key, confidence)
    if limiting:
        if rul.lower < CRITICAL_RUL:
            worse("critical", f"remaining useful life {rul.rul:.1f} days, the interval from {rul.lower:.1f} days")
        elif rul.rul < horizon or rul.p_fail_within(horizon) >= 0.5:
            worse("warning", f"remaining useful life {rul.rul:.1f} days, within the {horizon:g}-day horizon")
        scores.append(100.0 * min(1.0, rul.rul / (4.0 * horizon)))
    for r in results:
        if r.quality:
            reasons.append(f"data quality, {by_key[r.key].title}: " + "; ".join(r.reasons[: len(r.quality)]))
    low, high = BANDS[state]
    score = float(np.clip(min(scores), low, high))
    return EquipmentAssessment(
        score=round(score, 1),
        state=state,
        anomaly=any(r.anomaly for r in results),
        reasons=reasons,
        rul=rul,
        limiting_key=limiting.key if limiting else None,
        sensors=results,
    )


def _why_no_rul(results: list[SensorAssessment], inputs: dict, confidence: float) -> RulResult:
    if not results:
        return no_prediction("no sensors", confidence)
    return no_prediction("; ".join(f"{inputs[r.key].title}: {r.rul.reason}" for r in results), confidence)
