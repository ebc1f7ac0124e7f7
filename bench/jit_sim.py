"""One simulated plant year: static min/max reordering against the predictive just-in-time suite.

    .venv/bin/python bench/jit_sim.py [--seed 1] [--world default|unreliable|small] [--quick]
    .venv/bin/python bench/jit_sim.py --matrix [--seeds 1 2 3 4 5] [--worlds ...] [--jobs 2]
    (either with [--rul-only] [--review-days 7])

Plain: both policies on one world, a table of both and, last, ``RESULT inventory_reduction=<x>
downtime_wait_reduction=<x> emergency_reduction=<x>`` (fractions 1 - suite / min-max; negative when the suite
is worse). ``--matrix``: seeds 1-5 x the three worlds of ``WORLDS`` (today's plant; unreliable vendors with
long lead times; a small plant of 30 assets), a row per run with both policies and the suite's late-planned
shares, ending with ``RESULT worst_inventory_reduction=<x> worst_emergency_reduction=<x>
worst_downtime_wait_reduction=<x> late_planned_share=<x>``: the worst inventory and emergency reductions over
the seeds of the default world, the worst waiting reduction over every world and seed, and the share of the
default world's needs that came due after their order-by date. ``--rul-only``: the suite without its earlier
warnings (the confident RUL only); ``--review-days 0``: each need bought on its order-by date, not within the
week before it; together, the planner as it was, for the late-planned share before and after.

The suite's decisions are the addon's: each is a call into ``planning`` with the inputs the Odoo planner
gathers: ``plan_need`` (which warnings count, the order-by date, due, late, released, done), ``claim_until``,
``free_stock``, ``cover_need`` and ``claims_shortfall`` (the claim on free stock and the shortfall),
``purchase_mode`` (normal, expedite, emergency), ``part_buffer`` and ``orderpoint_levels`` (the dynamic
min/max), ``lead_time_stats``, ``residual_quantiles`` and ``WarningHistory`` (what the plant learned). This
script keeps the world, the stock, the books and what the predictive engine and the prescriptive rule do.

The world (each kind of draw from its own seeded stream, so both policies see identical worlds)
- Vendors: 9, quoted delays 3-30 days. Real lead times are lognormal per vendor, a little longer than
  quoted (x 0.95-1.15, CV 0.10-0.25); 3 vendors are unreliable (x 1.1-1.4, CV 0.4-0.6, and 15% of their
  shipments 7-21 days later still). One draw per vendor and day: whichever policy orders from a vendor on a
  day gets that day's lead time. Two vendors in three have an expedite agreement: that day's transit x
  0.3-0.5, at a premium of 15-35% of the price (quoted: the quote x the factor, rounded up).
- Parts: 60, unit cost lognormal around 300 (sigma 0.8, 20-5000), one vendor each.
- Assets: 200, criticality A/B/C = 20/50/30%, a kit of 1-3 parts (popular parts are shared by up to ~30
  assets; 15% of kit lines take 2 units). One degradation mode per asset; a renewal replaces the whole kit.
- Degradation (Gebraeel-like): vibration at the asset's healthy level h (1.5-3 mm/s) for a healthy period
  (Weibull, shape 1.5, mean ~300 days), then h + a (exp(b s) - 1), a = 0.05-0.2 mm/s, b lognormal around
  0.04/day: 1-4 months from onset to the failure threshold h + 4-6 mm/s (vibration's P-F interval). The
  asset fails when the true level crosses the threshold. A renewal starts the next life (life k of an asset
  is drawn once, the same in both policies). At the start each asset is at a random age of its first life.
- Sensors: a reading every 6 hours, true level + white noise (sd 0.1-0.3 mm/s per asset).
- Days: a normal order placed at the end of day d with transit L is on the shelf on day d + 2 + floor(L)
  (one receiving day), an expedited one likewise with its shorter transit. An emergency order ships in a
  third of that day's lead-time draw, straight to the machine, at least one day. Waiting needs take the shelf
  first come, first served.
- Needs the shelf cannot serve (both policies): wait for parts already on their way soon enough (an
  emergency order, or an order planned within the emergency lead time and not yet overdue), else an
  emergency order; re-checked daily, so an overdue order is expedited. Downtime waiting for parts = hours an
  asset is down for want of a part.
- Costs: holding 25% a year of the average inventory value; 50 per normal order line; an expedited line costs
  its premium + 50; an emergency line costs the parts' price again (2x) plus 150; downtime 1500 / 400 / 100
  per hour for criticality A / B / C; a corrective repair takes 8 h once the parts are there, a planned
  replacement 4 h. Total = holding + ordering + expedite and emergency premiums + downtime (parts consumed are
  shown apart: planned replacements use a little more).
- Both policies work through Odoo orderpoints: order up to max when the forecast (on hand + incoming -
  owed) falls *below* min. Each starts from its own max; 180 warm-up days run before the measured year (the
  suite learns lead times and its warning history there); only the year is reported.

(a) Min/max as plants configure Odoo today: a static orderpoint per part from the part's consumption
history (the long-run failure rate of the assets using it: the plant's own statistics) and the vendor's
quoted delay: min = the Poisson quantile of demand over quote + 1 receiving day at a service level set by
the most critical asset using the part (A 99%, B 95%, C 90%), at least 1; max = min + EOQ (order cost 50,
holding 25%). Every asset runs to failure and takes its kit from the shelf. A well-set statistical min/max,
not a straw man; what it lacks is the machines' condition and the vendors' real lead times.

(b) The suite. The engine: each day ``estimate_rul`` runs on each running asset's last 30 days of noisy
readings since its renewal (never the true failure time), and ``detect`` compares them with the baseline of
the life's first 7 days (anomaly); the first anomaly or confident RUL opens a warning episode (a health alert
in Odoo), closed after 7 days without either; every 30 days the plant's lives are refitted (``fit_weibull``:
failures, censored planned replacements and running ages) for each asset's Weibull residual life. The
planner, daily, for each kit part of each running asset (``plan_need``, ``Policy`` defaults with this world's
costs): warnings are the RUL, the episode's onset (``residual_quantiles`` of the plant's episodes: ended by a
failure, or censored by a planned replacement, a quiet close or still open: ``warning_episodes`` of the plant's
records, the addon's function; episodes begun before the machine was watched healthy for 7 days are left
out) and the Weibull residual life; lead times are learned from the
normal receipts so far (``lead_time_stats``, quote as prior; per vendor, as a vendor's lead time does not
depend on the part here, where the addon keeps one figure per vendor and part); the warning history is every
renewal's days from its episode's onset (and from its first RUL) since the start. A due need claims free stock
(on hand - owed + incoming planned by ``claim_until`` - claimed) and buys the shortfall as ``purchase_mode``
says. When P(failure within 7 days) >= 10% and the kit is on the shelf, an asset of class A or B is replaced in
a planned stop the next day (the prescriptive rule). Criticality C runs to failure. Each part also has its
orderpoint (``part_buffer`` over its running assets + what needs claim, ``orderpoint_levels``) against Odoo's
forecast, and claims the stock no longer covers (a breakdown took it) are bought again.

What it leaves out: plant and vendor calendars (every day is a working day), scheduled jobs as deadlines (a
planned stop is set for the next day only once its kit is on the shelf), fleet-model probabilities (one sensor
per asset, no fleet model), several failure modes per asset, parts shared across vendors, repairable spares,
price breaks and minimum order quantities, and people: every decision is taken on its day.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
from mro_analytics.anomaly import detect
from mro_analytics.baseline import learn_baseline
from mro_analytics.rul import estimate_rul
from mro_analytics.weibull import fit_weibull, weibull_rul
from mro_planning import (
    BufferInputs,
    BufferUser,
    ExpediteOption,
    LeadTimeStats,
    NeedInputs,
    Policy,
    Signal,
    WarningHistory,
    claim_until,
    claims_shortfall,
    cover_need,
    eoq,
    free_stock,
    lead_time_stats,
    orderpoint_levels,
    part_buffer,
    plan_need,
    purchase_mode,
    residual_quantiles,
    warning_episodes,
)
from scipy.stats import poisson

CRITICALITIES = ("A", "B", "C")


def _seen(spans: list[list[int]], d: int) -> None:
    """Record a warning seen on day ``d`` in a machine's spans of consecutive days (first, last)."""
    if spans and spans[-1][1] == d - 1:
        spans[-1][1] = d
    else:
        spans.append([d, d])


POLICIES = ("minmax", "suite")
#: Day 0 of the simulation as a date (the planner works in dates).
EPOCH = date(2026, 1, 5)


@dataclass(frozen=True)
class Config:
    """Size, horizon, vendors and the economic and planning parameters of one run (days, currency, hours)."""

    seed: int = 1
    assets: int = 200
    parts: int = 60
    days: int = 365
    warmup: int = 180
    vendors: int = 9
    unreliable: int = 3
    #: quoted delays of the vendors, spread geometrically between these (days)
    quote_min: float = 3.0
    quote_max: float = 30.0
    #: share of vendors with an expedite agreement (lead time x 0.3-0.5, premium 15-35% of the price)
    expedite_share: float = 0.67
    readings_per_day: int = 4
    window_days: int = 30
    #: days of readings after a renewal that make the sensor's baseline (for the anomaly onset)
    baseline_days: int = 7
    holding_rate: float = 0.25
    order_cost: float = 50.0
    emergency_fee: float = 150.0
    downtime_cost: tuple[float, float, float] = (1500.0, 400.0, 100.0)
    repair_hours: float = 8.0
    planned_hours: float = 4.0
    receiving_days: int = 1
    kitting_days: int = 1
    minmax_service: tuple[float, float, float] = (0.99, 0.95, 0.90)
    pm_horizon_days: float = 7.0
    pm_probability: float = 0.10
    #: the suite acts on earlier warnings where the lead time demands it (False: the confident RUL only)
    early_signals: bool = True
    #: the suite's review days (None: the policy's default)
    review_days: int | None = None

    @property
    def total_days(self) -> int:
        return self.warmup + self.days

    def policy(self) -> Policy:
        """The suite's planning settings: the addon's defaults with this world's costs and days."""
        policy = Policy(
            receiving_days=float(self.receiving_days),
            kitting_days=float(self.kitting_days),
            order_cost=self.order_cost,
            holding_rate=self.holding_rate,
            early_signals=self.early_signals,
        )
        return policy if self.review_days is None else replace(policy, review_days=self.review_days)


QUICK = {"assets": 40, "parts": 10, "days": 120, "warmup": 60}
#: The three worlds of the matrix: today's plant; unreliable vendors with long lead times; a small plant.
WORLDS = {
    "default": {},
    "unreliable": {"quote_min": 10.0, "quote_max": 60.0, "unreliable": 6},
    "small": {"assets": 30, "parts": 12, "vendors": 5, "unreliable": 1},
}
MATRIX_SEEDS = (1, 2, 3, 4, 5)
#: Days between two fits of the plant's Weibull model (as the analysis cron would refit it).
WEIBULL_REFIT_DAYS = 30


@dataclass(frozen=True)
class Life:
    """One life of an asset, in days from its renewal: healthy period, growth (a mm/s, b per day), failure age."""

    onset: float
    a: float
    b: float
    failure_age: float


class World:
    """Everything random that both policies share: catalogue, vendors, lead-time draws, sensor noise, lives."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        seeds = np.random.SeedSequence(cfg.seed).spawn(7)
        rng = np.random.default_rng(seeds[0])
        v = cfg.vendors
        self.quote = np.round(np.geomspace(cfg.quote_min, cfg.quote_max, v)).astype(int)
        self.unreliable = np.zeros(v, dtype=bool)
        self.unreliable[rng.choice(v, size=min(cfg.unreliable, v), replace=False)] = True
        factor = np.where(self.unreliable, rng.uniform(1.1, 1.4, v), rng.uniform(0.95, 1.15, v))
        self.lead_mean = self.quote * factor
        self.lead_cv = np.where(self.unreliable, rng.uniform(0.4, 0.6, v), rng.uniform(0.10, 0.25, v))

        p = cfg.parts
        self.cost = np.clip(np.round(rng.lognormal(np.log(300.0), 0.8, p)), 20, 5000)
        self.vendor = rng.integers(0, v, p)

        n = cfg.assets
        self.crit = rng.choice(3, size=n, p=[0.2, 0.5, 0.3])
        popularity = 1.0 / np.arange(1, p + 1) ** 0.7
        popularity = popularity[rng.permutation(p)] / popularity.sum()
        self.kit: list[list[tuple[int, int]]] = []
        for _ in range(n):
            chosen = rng.choice(p, size=min(int(rng.integers(1, 4)), p), replace=False, p=popularity)
            self.kit.append([(int(j), 2 if rng.random() < 0.15 else 1) for j in chosen])
        self.healthy = rng.uniform(1.5, 3.0, n)
        self.threshold = self.healthy + rng.uniform(4.0, 6.0, n)
        self.noise_sd = rng.uniform(0.1, 0.3, n)

        # Lead-time draws per vendor and day (transit days).
        lrng = np.random.default_rng(seeds[1])
        t = cfg.total_days + 1
        sigma = np.sqrt(np.log1p(self.lead_cv**2))
        mu = np.log(self.lead_mean) - sigma**2 / 2
        draws = np.exp(mu[:, None] + sigma[:, None] * lrng.standard_normal((v, t)))
        extra = (lrng.random((v, t)) < 0.15) * lrng.uniform(7, 21, (v, t))
        self.lead = draws + np.where(self.unreliable[:, None], extra, 0.0)

        # Sensor noise per asset and reading; reading j is at day j / readings_per_day - window_days.
        nrng = np.random.default_rng(seeds[2])
        r = (cfg.total_days + cfg.window_days + 1) * cfg.readings_per_day
        self.noise = nrng.standard_normal((n, r)) * self.noise_sd[:, None]

        self._life_rng = [np.random.default_rng(s) for s in seeds[3].spawn(n)]
        self._lives: list[list[Life]] = [[] for _ in range(n)]
        self.start_share = np.random.default_rng(seeds[4]).random(n)
        # The plant's long-run failure rate (its maintenance history), per asset and day.
        hist = np.random.default_rng(seeds[5])
        ages = [self._draw_life(hist, 5.0).failure_age for _ in range(20000)]
        self.failure_rate = 1.0 / float(np.mean(ages))
        # Expedite agreements per vendor: transit x factor, premium a share of the price.
        erng = np.random.default_rng(seeds[6])
        self.expedite = erng.random(v) < cfg.expedite_share
        self.expedite_factor = erng.uniform(0.3, 0.5, v)
        self.expedite_premium = erng.uniform(0.15, 0.35, v)

    @staticmethod
    def _draw_life(rng: np.random.Generator, rise: float) -> Life:
        """A life rising ``rise`` mm/s from the healthy level to the failure threshold."""
        onset = 330.0 * rng.weibull(1.5)
        a = rng.uniform(0.05, 0.2)
        b = float(np.exp(rng.normal(np.log(0.04), 0.35)))
        return Life(onset, a, b, onset + math.log1p(rise / a) / b)

    def life(self, asset: int, k: int) -> Life:
        """Life ``k`` of ``asset`` (0 = the one it is in at the start): the same whichever policy asks."""
        lives = self._lives[asset]
        while len(lives) <= k:
            rise = self.threshold[asset] - self.healthy[asset]
            lives.append(self._draw_life(self._life_rng[asset], rise))
        return lives[k]

    def readings(self, asset: int, life: Life, start: float, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Noisy readings of ``asset`` in [t0, t1) (days) during ``life`` begun at day ``start``."""
        cfg = self.cfg
        j0 = math.ceil((t0 + cfg.window_days) * cfg.readings_per_day - 1e-9)
        j1 = math.ceil((t1 + cfg.window_days) * cfg.readings_per_day - 1e-9)
        j = np.arange(max(j0, 0), j1)
        t = j / cfg.readings_per_day - cfg.window_days
        return t, self.level(asset, life, start, t) + self.noise[asset, j]

    def level(self, asset: int, life: Life, start: float, t: np.ndarray) -> np.ndarray:
        """True (noise-free) level of ``asset`` at days ``t`` during ``life`` begun at day ``start`` (mm/s)."""
        s = np.asarray(t, dtype=float) - start - life.onset
        return self.healthy[asset] + life.a * np.expm1(life.b * np.maximum(s, 0.0))


@dataclass
class Order:
    """An order line: units of a part, placed / on the shelf / planned (days), mode, transit (days)."""

    part: int
    qty: int
    placed: int
    available: int
    planned: int
    mode: str
    transit: float

    @property
    def emergency(self) -> bool:
        return self.mode == "emergency"


@dataclass
class Need:
    """The simulation's copy of an ``mro.part.need``: as the planner stores it between days."""

    qty: int
    state: str
    planned_on: date
    order_by: date | None = None
    last_signal_on: date | None = None
    #: the order-by date had already passed when the need was first planned
    late_when_planned: bool = False


@dataclass
class Metrics:
    """Figures over the measured days (currency, hours, counts of order lines and events)."""

    inventory_value: float = 0.0
    holding_cost: float = 0.0
    order_lines: int = 0
    order_cost: float = 0.0
    expedited_orders: int = 0
    expedite_premium: float = 0.0
    emergency_orders: int = 0
    emergency_premium: float = 0.0
    wait_hours: float = 0.0
    failures: int = 0
    repair_hours: float = 0.0
    preventive: int = 0
    planned_hours: float = 0.0
    downtime_cost: float = 0.0
    parts_value: float = 0.0
    total_cost: float = 0.0
    # Diagnostics, not in the comparison.
    failures_by_crit: list[int] = field(default_factory=lambda: [0, 0, 0])
    wait_by_crit: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    #: emergency order lines for machines that are down / for late needs of running machines
    emergencies_down: int = 0
    emergencies_late: int = 0
    #: needs that came due (counted once, on that day); those first planned after their order-by date (the
    #: warning came too late for the lead time: late-planned); those whose order-by date had passed when they
    #: came due (late-planned, or planned in time and then moved into the past by a later, earlier estimate);
    #: those planned on an earlier day than they came due
    needs: int = 0
    late_planned: int = 0
    late_needs: int = 0
    planned_ahead: int = 0
    #: late needs free stock did not cover (something had to be bought after the order-by date)
    late_bought: int = 0
    #: needs by the warning that set their date when they came due, and the late ones among them
    needs_by_signal: dict[str, int] = field(default_factory=dict)
    late_by_signal: dict[str, int] = field(default_factory=dict)
    released_needs: int = 0
    #: lowest stock of any part at any day's end (never < 0), most units owed to waiting assets and not on
    #: their way after a day's expediting (0: nobody ever waits without a part coming), needs waiting at the end
    min_on_hand: int = 0
    max_unserved: int = 0
    open_waits: int = 0
    engine_calls: int = 0
    predictions: int = 0
    onset_days: int = 0


@dataclass
class Run:
    """The outcome of one policy: metrics over the measured days and the life ledger for checks."""

    policy: str
    metrics: Metrics
    #: per asset: (life index, its start day, the day it ended, "failure" or "preventive")
    lives: list[list[tuple[int, float, int, str]]]
    seconds: float


class Simulation:
    """One policy on one world, day by day."""

    def __init__(self, world: World, policy: str, trace: list | None = None):
        """``trace``: a list the suite appends every call into the planner to, as ``(day, asset or None, part,
        inputs, answer)``: ``NeedInputs`` and ``NeedDecision``, ``("cover", free units)`` and ``Cover``,
        ``("purchase", decision)`` and ``Purchase``, ``(BufferInputs, units claimed)`` and the orderpoint's
        ``MinMax`` (for comparing the addon's planner with the simulation on the same inputs)."""
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}: use one of {', '.join(POLICIES)}")
        self.trace = trace
        self.w = world
        self.cfg = cfg = world.cfg
        self.policy = policy
        self.rules = cfg.policy()
        n, p = cfg.assets, cfg.parts
        self.on_hand = np.zeros(p, dtype=int)
        self.incoming = np.zeros(p, dtype=int)
        self.claimed = np.zeros(p, dtype=int)
        self.backlog = np.zeros(p, dtype=int)
        self.orders: list[Order] = []
        self.waiting: list[list[int]] = []  # [need day, asset, part, units missing], first come first served
        self.k = np.zeros(n, dtype=int)
        self.start = np.array([-world.start_share[i] * world.life(i, 0).failure_age for i in range(n)])
        self.down = np.zeros(n, dtype=bool)
        self.missing = np.zeros(n, dtype=int)
        self.need_day = np.zeros(n, dtype=int)
        self.pm_day = np.full(n, -1)
        self.claims: list[dict[int, int]] = [{} for _ in range(n)]
        # The suite's view of each asset: the engine's prediction, the anomaly episode, the warnings it gives.
        self.pred: list = [None] * n
        self.baseline: list = [None] * n
        # A warning episode (a health alert in Odoo) opens with the first anomaly or confident RUL and closes
        # after ``release_after_days`` days without either.
        self.onset = np.full(n, -1)  # first day of the open episode (-1: none)
        self.quiet = np.zeros(n, dtype=int)  # days since the episode's last warning
        # First day the suite watched the life (its renewal; 0 for the lives under way at the start): an episode
        # counts in the plant's history only when the machine was seen healthy before it (a baseline's days).
        self.watched_from = np.zeros(n, dtype=int)
        # The plant's records, as the addon reads its alerts, ledger and repairs: per asset, the spans of days
        # (first, last) with an anomaly and with a confident RUL, and its renewals (day, failed, back in service).
        self.anomaly_spans: list[list[list[int]]] = [[] for _ in range(n)]
        self.rul_spans: list[list[list[int]]] = [[] for _ in range(n)]
        self.renewals: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
        self.signals: list[tuple[Signal, ...]] = [() for _ in range(n)]
        self.hazard: list = [None] * n  # Weibull residual life quantiles of each asset's age (days)
        self.weibull = None  # the engine's Weibull fit of the plant's lives, refitted every WEIBULL_REFIT_DAYS
        self.ended: list[tuple[float, bool]] = []  # (age at renewal, failed) of every life that ended
        self.renewed: list[date | None] = [None] * n
        self.needs: dict[tuple[int, int], Need] = {}
        # The plant's history on ``self.day`` (``warning_episodes`` of the records): see ``history``.
        self._history = None
        self.day = 0
        self.samples: dict[int, list[float]] = {}
        self.lead_cache: dict[int, LeadTimeStats] = {}
        self.expedite_cache: dict[int, ExpediteOption | None] = {}
        self.users: list[list[tuple[int, int]]] = [[] for _ in range(p)]
        for i, kit in enumerate(world.kit):
            for part, qty in kit:
                self.users[part].append((i, qty))
        self.m = Metrics()
        self.lives: list[list[tuple[int, float, int, str]]] = [[] for _ in range(n)]
        if policy == "minmax":
            self._static_minmax()
            self.on_hand[:] = self.mm_max
        else:
            self.on_hand[:] = [self._buffer(part, EPOCH)[1] for part in range(p)]

    # ------------------------------------------------------------------ shared mechanics
    def run(self) -> Run:
        t0 = time.perf_counter()
        cfg = self.cfg
        inventory = 0.0
        for d in range(cfg.total_days):
            measured = d >= cfg.warmup
            self._receive(d)
            self._serve(d, measured)
            self._preventive(d, measured)
            self._failures(d, measured)
            self._expedite(d, measured)
            self.m.max_unserved = max(self.m.max_unserved, int(np.sum(np.maximum(self.backlog - self.incoming, 0))))
            if measured:
                waits = int(self.down.sum())
                self.m.wait_hours += 24.0 * waits
                for i in np.flatnonzero(self.down):
                    self.m.downtime_cost += 24.0 * cfg.downtime_cost[self.w.crit[i]]
                    self.m.wait_by_crit[self.w.crit[i]] += 24.0
            if self.policy == "minmax":
                self._plan_minmax(d, measured)
            else:
                self._plan_suite(d, measured)
            if measured:
                inventory += float(self.on_hand @ self.w.cost)
            self.m.min_on_hand = min(self.m.min_on_hand, int(self.on_hand.min()))
        m = self.m
        m.inventory_value = inventory / cfg.days
        m.holding_cost = m.inventory_value * cfg.holding_rate * cfg.days / 365.0
        m.total_cost = m.holding_cost + m.order_cost + m.expedite_premium + m.emergency_premium + m.downtime_cost
        m.open_waits = len(self.waiting)
        return Run(self.policy, m, self.lives, time.perf_counter() - t0)

    def _place(self, d: int, part: int, qty: int, measured: bool, mode: str = "normal") -> None:
        """An order line placed at the end of day ``d``: normal (the day's lead-time draw), on the vendor's expedite
        agreement (that draw x the agreement's factor, at its premium) or an emergency (a third of the draw,
        straight to the machine, the price again + the fee)."""
        w, cfg = self.w, self.cfg
        v = int(w.vendor[part])
        draw = float(w.lead[v, d])
        if mode == "emergency":
            transit = draw / 3.0
            available = max(d + 1, d + int(math.floor(0.5 + transit)))
            planned = available
        elif mode == "expedite":
            transit = draw * float(w.expedite_factor[v])
            available = d + 1 + int(math.floor(transit)) + cfg.receiving_days
            planned = d + 1 + math.ceil(self.expedite_option(part).lead.mean) + cfg.receiving_days
        else:
            transit = draw
            available = d + 1 + int(math.floor(transit)) + cfg.receiving_days
            quoted = w.quote[v] if self.policy == "minmax" else self.lead_stats(part).mean
            planned = d + 1 + math.ceil(quoted) + cfg.receiving_days
        self.orders.append(Order(part, qty, d, available, planned, mode, transit))
        self.incoming[part] += qty
        if not measured:
            return
        if mode == "emergency":
            self.m.emergency_orders += 1
            self.m.emergency_premium += qty * w.cost[part] + cfg.emergency_fee
        elif mode == "expedite":
            self.m.expedited_orders += 1
            self.m.expedite_premium += qty * w.cost[part] * float(w.expedite_premium[v]) + cfg.order_cost
        else:
            self.m.order_lines += 1
            self.m.order_cost += cfg.order_cost

    def _receive(self, d: int) -> None:
        keep = []
        for order in self.orders:
            if order.available > d:
                keep.append(order)
                continue
            self.on_hand[order.part] += order.qty
            self.incoming[order.part] -= order.qty
            if order.mode == "normal" and self.policy == "suite":
                vendor = int(self.w.vendor[order.part])
                self.samples.setdefault(vendor, []).append(order.transit)
                self.lead_cache.pop(vendor, None)
        self.orders = keep

    def _serve(self, d: int, measured: bool) -> None:
        """Waiting needs take what is on the shelf, first come first served; complete kits are repaired."""
        still = []
        for entry in self.waiting:
            _day, i, part, left = entry
            take = min(left, int(self.on_hand[part]))
            self.on_hand[part] -= take
            self.backlog[part] -= take
            self.missing[i] -= take
            entry[3] = left - take
            if entry[3]:
                still.append(entry)
        self.waiting = still
        for i in np.flatnonzero(self.down & (self.missing == 0)):
            self._repaired(i, d, measured)

    def _repaired(self, i: int, d: int, measured: bool) -> None:
        self.down[i] = False
        if measured:
            self.m.repair_hours += self.cfg.repair_hours
            self.m.downtime_cost += self.cfg.repair_hours * self.cfg.downtime_cost[self.w.crit[i]]
        self._renew(i, d, "failure")

    def _renew(self, i: int, d: int, how: str) -> None:
        self.lives[i].append((int(self.k[i]), float(self.start[i]), int(self.need_day[i]), how))
        self.renewals[i].append((int(self.need_day[i]), how == "failure", d + 1))  # back in service tomorrow
        self._history = None
        self.watched_from[i] = d + 1
        self.ended.append((float(d + 1 - self.start[i]), how == "failure"))
        self.onset[i] = -1
        self.quiet[i] = 0
        self.baseline[i] = None
        self.k[i] += 1
        self.start[i] = d + 1
        self.pred[i] = None
        self.signals[i] = ()
        self.renewed[i] = EPOCH + timedelta(days=d)
        for part, qty in self.claims[i].items():
            self.claimed[part] -= qty
        self.claims[i] = {}

    def _take_kit(self, i: int, d: int, measured: bool) -> None:
        """A failed asset takes its kit from the shelf; what is missing waits or is expedited."""
        for part, qty in self.w.kit[i]:
            take = min(qty, int(self.on_hand[part]))
            self.on_hand[part] -= take
            if measured:
                self.m.parts_value += qty * self.w.cost[part]
            left = qty - take
            if not left:
                continue
            self.waiting.append([d, i, part, left])
            self.backlog[part] += left
            self.missing[i] += left

    def _expedite(self, d: int, measured: bool) -> None:
        """Parts owed to waiting assets: wait for what is on its way fast enough (an emergency order, or an order
        planned within the emergency lead time and not overdue), buy the rest as the policy buys for a machine
        that is down (an emergency)."""
        mode = purchase_mode(None, None, self.rules, machine_down=True).mode
        for part in np.flatnonzero(self.backlog > 0):
            v = self.w.vendor[part]
            fast = max(1, math.ceil(self.w.quote[v] / 3))
            covered = sum(o.qty for o in self.orders if o.part == part and (o.emergency or d < o.planned <= d + fast))
            units = int(self.backlog[part] - covered)
            if units > 0:
                self._place(d, int(part), units, measured, mode)
                self.m.emergencies_down += measured

    def _failures(self, d: int, measured: bool) -> None:
        for i in range(self.cfg.assets):
            if self.down[i]:
                continue
            life = self.w.life(i, int(self.k[i]))
            if self.start[i] + life.failure_age >= d + 1:
                continue
            # The claims of a failed asset are released: its kit comes off the shelf now.
            for part, qty in self.claims[i].items():
                self.claimed[part] -= qty
            self.claims[i] = {}
            self.need_day[i] = d
            if measured:
                self.m.failures += 1
                self.m.failures_by_crit[self.w.crit[i]] += 1
            self.down[i] = True
            self.missing[i] = 0
            self._take_kit(i, d, measured)
            if self.missing[i] == 0:
                self._repaired(i, d, measured)

    def _preventive(self, d: int, measured: bool) -> None:
        for i in np.flatnonzero(self.pm_day == d):
            self.pm_day[i] = -1
            kit = self.w.kit[i]
            if any(self.on_hand[part] < qty for part, qty in kit):
                continue  # a waiting breakdown took the kit: plan again tonight
            for part, qty in kit:
                self.on_hand[part] -= qty
                if measured:
                    self.m.parts_value += qty * self.w.cost[part]
            self.need_day[i] = d
            if measured:
                self.m.preventive += 1
                self.m.planned_hours += self.cfg.planned_hours
                self.m.downtime_cost += self.cfg.planned_hours * self.cfg.downtime_cost[self.w.crit[i]]
            self._renew(i, d, "preventive")

    def position(self, part: int) -> int:
        """Free stock (``free_stock``): on hand - owed to assets waiting + on order - claimed by needs."""
        return int(free_stock(self.on_hand[part], self.backlog[part], self.incoming[part], self.claimed[part]))

    # ------------------------------------------------------------------ (a) static min/max
    def _static_minmax(self) -> None:
        cfg, w = self.cfg, self.w
        self.mm_min = np.zeros(cfg.parts, dtype=int)
        self.mm_max = np.zeros(cfg.parts, dtype=int)
        for part, users in enumerate(self.users):
            if not users:
                continue
            rate = w.failure_rate * sum(q for _i, q in users)  # units per day, from consumption history
            cover = w.quote[w.vendor[part]] + cfg.receiving_days
            service = cfg.minmax_service[min(w.crit[i] for i, _q in users)]
            self.mm_min[part] = max(1, int(poisson.ppf(service, rate * cover)))
            self.mm_max[part] = self.mm_min[part] + eoq(365.0 * rate, cfg.order_cost, cfg.holding_rate * w.cost[part])

    def _plan_minmax(self, d: int, measured: bool) -> None:
        for part in range(self.cfg.parts):
            pos = self.position(part)
            if pos < self.mm_min[part]:
                self._place(d, part, int(self.mm_max[part] - pos), measured)

    # ------------------------------------------------------------------ (b) the suite: inputs it gathers
    def lead_stats(self, part: int) -> LeadTimeStats:
        """Lead time of the part's vendor learned from its normal receipts so far, the quoted delay as prior."""
        vendor = int(self.w.vendor[part])
        stats = self.lead_cache.get(vendor)
        if stats is None:
            quote = float(self.w.quote[vendor])
            stats = lead_time_stats(self.samples.get(vendor, []), prior_mean=quote)
            self.lead_cache[vendor] = stats
        return stats

    def expedite_option(self, part: int) -> ExpediteOption | None:
        """The vendor's expedite agreement as its pricelist states it: the quoted expedited delay (days, the
        quote x the agreement's factor, rounded up) and the premium; None without an agreement."""
        vendor = int(self.w.vendor[part])
        if vendor not in self.expedite_cache:
            w = self.w
            option = None
            if w.expedite[vendor]:
                quoted = float(math.ceil(w.quote[vendor] * w.expedite_factor[vendor]))
                option = ExpediteOption(lead_time_stats([], prior_mean=quoted), float(w.expedite_premium[vendor]))
            self.expedite_cache[vendor] = option
        return self.expedite_cache[vendor]

    def history(self) -> tuple:
        """The plant's history on the current day from its records, by the addon's function (``warning_episodes``
        of each asset's anomaly and RUL spans and renewals): ``(day, onset-to-failure intervals, censored episode
        lengths and open ages, RUL warning history, earliest warning history)``; the histories give every
        renewal's days of warning from its episode's first RUL and from its onset."""
        d = self.day
        if self._history is None or self._history[0] != d:
            intervals, censored, rul_days, early_days = [], [], [], []
            quiet = self.rules.release_after_days
            for i in range(self.cfg.assets):
                e = warning_episodes(
                    self.anomaly_spans[i], self.renewals[i], d, quiet, self.rul_spans[i], 0, self.cfg.baseline_days
                )
                intervals += e.intervals
                censored += e.censored
                early_days += [early for early, _rul in e.warned]
                rul_days += [rul for _early, rul in e.warned]
            exposure = float(self.cfg.assets * (d + 1))  # machine-days since the suite began watching
            prior = 1.0 / self.w.failure_rate  # a machine's mean life from the plant's maintenance history
            self._history = (
                d,
                intervals,
                np.asarray(censored, dtype=float),
                WarningHistory(rul_days, exposure, prior),
                WarningHistory(early_days, exposure, prior),
            )
        return self._history

    def histories(self) -> tuple[WarningHistory, WarningHistory]:
        """The plant's warning histories (``history``): from the first confident RUL, and from the onset."""
        return self.history()[3:]

    def _observe(self, i: int, d: int, measured: bool) -> None:
        """Today's warnings of asset ``i``: the engine's RUL on its last 30 days of readings since its renewal,
        and the anomaly onset against the baseline of its first days (``residual_quantiles`` of the plant's
        onset-to-renewal intervals)."""
        cfg = self.cfg
        now = d + 1.0
        life = self.w.life(i, int(self.k[i]))
        first = max(self.start[i], -float(cfg.window_days))
        t, y = self.w.readings(i, life, self.start[i], max(self.start[i], now - cfg.window_days), now)
        pred = None
        if t.size >= 10:
            self.m.engine_calls += measured
            result = estimate_rul(t, y, float(self.w.threshold[i]), now=now)
            if result.ok:
                pred = result
        self.pred[i] = pred
        if self.baseline[i] is None and now - first >= cfg.baseline_days:
            _tb, yb = self.w.readings(i, life, self.start[i], first, first + cfg.baseline_days)
            self.baseline[i] = learn_baseline(yb)
        anomaly = False
        if self.baseline[i] is not None:
            recent = y[t >= first + cfg.baseline_days]
            anomaly = recent.size > 0 and detect(recent, self.baseline[i]).anomaly
        if anomaly:
            _seen(self.anomaly_spans[i], d)
        if pred is not None:
            _seen(self.rul_spans[i], d)
        if anomaly or pred is not None:
            self.quiet[i] = 0
            if self.onset[i] < 0:
                self.onset[i] = d
        elif self.onset[i] >= 0:
            self.quiet[i] += 1
            if self.quiet[i] >= self.rules.release_after_days:
                self.onset[i] = -1
        signals = []
        self.hazard[i] = None
        if self.weibull is not None:
            self.hazard[i] = weibull_rul(self.weibull, max(now - self.start[i], 0.0)).quantiles
            signals.append(Signal("weibull", self.hazard[i]))
        if pred is not None:
            signals.append(Signal("rul", pred.quantiles))
        if self.onset[i] >= 0:
            _day, intervals, censored, *_ = self.history()
            q = residual_quantiles(intervals, float(d - self.onset[i]), censored)
            if q is not None:
                signals.append(Signal("onset", q))
                self.m.onset_days += measured
        self.signals[i] = tuple(signals)

    def _fit_weibull(self, d: int) -> None:
        """The engine's Weibull model of the plant's lives (``fit_weibull``): ages at failure; ages at a planned
        replacement and of the machines in service, censored. None with fewer than two failures."""
        failures = [(age, age) for age, failed in self.ended if failed]
        censored = [age for age, failed in self.ended if not failed]
        censored += [float(d + 1 - self.start[i]) for i in range(self.cfg.assets) if not self.down[i]]
        self.weibull = fit_weibull(failures, censored) if len(failures) >= 2 else None

    def _buffer(self, part: int, today: date) -> tuple[int, int]:
        """The part's orderpoint (``part_buffer``) over the running assets using it."""
        users = tuple(
            BufferUser(CRITICALITIES[self.w.crit[i]], qty, self.signals[i], self.hazard[i])
            for i, qty in self.users[part]
            if not self.down[i]
        )
        rul_h, early_h = self.histories()
        inputs = BufferInputs(users, self.lead_stats(part), float(self.w.cost[part]), rul_h, early_h)
        result = part_buffer(inputs, self.rules)
        claimed = float(self.claimed[part])
        levels = None if result is None else orderpoint_levels(result, claimed)
        if self.trace is not None:
            self.trace.append(((today - EPOCH).days, None, part, (inputs, claimed), levels))
        return (0, 0) if levels is None else (levels.min_qty, levels.max_qty)

    # ------------------------------------------------------------------ (b) the suite: its decisions
    def _plan_suite(self, d: int, measured: bool) -> None:
        cfg, w, rules = self.cfg, self.w, self.rules
        today = EPOCH + timedelta(days=d)
        self.day = d
        self.history()  # the plant's history as it stands this morning, before today's observations
        if d % WEIBULL_REFIT_DAYS == 0:
            self._fit_weibull(d)
        due = []
        for i in range(cfg.assets):
            if self.down[i] or self.pm_day[i] > d:
                continue
            self._observe(i, d, measured)
            self.m.predictions += measured and self.pred[i] is not None
            rul_h, early_h = self.histories()
            crit = CRITICALITIES[w.crit[i]]
            for part, qty in w.kit[i]:
                need = self.needs.get((i, part))
                inputs = NeedInputs(
                    today,
                    crit,
                    qty,
                    self.lead_stats(part),
                    self.signals[i],
                    rul_h,
                    early_h,
                    self.expedite_option(part),
                    state=need.state if need else None,
                    order_by=need.order_by if need else None,
                    planned_on=need.planned_on if need else None,
                    last_signal_on=need.last_signal_on if need else None,
                    renewed_on=self.renewed[i],
                )
                decision = plan_need(inputs, rules)
                if self.trace is not None:
                    self.trace.append((d, i, part, inputs, decision))
                if decision.action in ("done", "cancel"):
                    if need and decision.action == "cancel" and part in self.claims[i]:
                        self.claimed[part] -= self.claims[i].pop(part)
                        self.m.released_needs += measured
                    self.needs.pop((i, part), None)
                    continue
                if decision.action == "none":
                    continue
                if need is None:
                    need = self.needs[(i, part)] = Need(qty, "planned", today, late_when_planned=decision.late)
                need.order_by = decision.order_by
                need.last_signal_on = decision.last_signal_on
                if need.state == "planned" and decision.due:
                    due.append((decision.order_by, need.planned_on, i, part, decision))
        # Due needs, oldest order-by date first (as the planner's ordering step): claim free stock, buy the rest.
        for _day, planned_on, i, part, decision in sorted(due, key=lambda e: e[:4]):
            need = self.needs[(i, part)]
            until = (claim_until(decision, today, self.lead_stats(part), rules) - EPOCH).days
            timely = sum(o.qty for o in self.orders if o.part == part and o.planned <= until)
            free = free_stock(self.on_hand[part], self.backlog[part], timely, self.claimed[part])
            cover = cover_need(need.qty, free)
            if self.trace is not None:
                self.trace.append((d, i, part, ("cover", free), cover))
            self.claims[i][part] = int(cover.claim)
            self.claimed[part] += int(cover.claim)
            need.state = "ordered" if cover.order else "stock"
            if cover.order:
                crit = CRITICALITIES[w.crit[i]]
                purchase = purchase_mode(decision, crit, rules, self.expedite_option(part))
                if self.trace is not None:
                    self.trace.append((d, i, part, ("purchase", decision), purchase))
                mode = purchase.mode
                self._place(d, part, cover.order, measured, mode)
                self.m.emergencies_late += measured and mode == "emergency"
            if measured:
                self.m.needs += 1
                self.m.late_needs += decision.late
                self.m.late_planned += need.late_when_planned
                self.m.late_bought += decision.late and cover.order > 0
                self.m.planned_ahead += planned_on < today
                self.m.needs_by_signal[decision.signal] = self.m.needs_by_signal.get(decision.signal, 0) + 1
                if decision.late:
                    self.m.late_by_signal[decision.signal] = self.m.late_by_signal.get(decision.signal, 0) + 1
        # Planned replacements: the prescriptive rule (failure within 7 days >= 10%) of machines not run to failure,
        # scheduled for tomorrow when the kit is on the shelf.
        pm_take = np.zeros(cfg.parts, dtype=int)
        for i in range(cfg.assets):
            pred = self.pred[i]
            if pred is None or self.down[i] or self.pm_day[i] > d or rules.risk(CRITICALITIES[w.crit[i]]) is None:
                continue
            if pred.p_fail_within(cfg.pm_horizon_days) >= cfg.pm_probability:
                kit = w.kit[i]
                if all(self.on_hand[part] - pm_take[part] >= qty for part, qty in kit):
                    for part, qty in kit:
                        pm_take[part] += qty
                    self.pm_day[i] = d + 1
        for part in range(cfg.parts):
            # Claims the stock no longer covers (a breakdown took it) are bought again; then the orderpoint, which
            # sees Odoo's forecast (claims are not stock reservations: its levels include them).
            short = claims_shortfall(self.position(part))
            forecast = int(self.on_hand[part] + self.incoming[part] - self.backlog[part]) + short
            low, high = self._buffer(part, today)
            qty = short + (high - forecast if forecast < low else 0)
            if qty > 0:
                self._place(d, part, qty, measured)


def simulate(cfg: Config) -> dict[str, Run]:
    """Both policies on one world: ``{"minmax": Run, "suite": Run}``."""
    world = World(cfg)
    return {policy: Simulation(world, policy).run() for policy in POLICIES}


def reduction(suite: float, base: float) -> float:
    """1 - suite / base: 0 when both are 0, -1 when only the suite has some (worse, no ratio to state)."""
    if base == 0:
        return 0.0 if suite == 0 else -1.0
    return 1.0 - suite / base


def late_share(m: Metrics) -> float:
    """Share of the needs that came due after their order-by date (0 without needs)."""
    return m.late_needs / m.needs if m.needs else 0.0


ROWS = (
    ("average inventory value", "inventory_value", "{:,.0f}"),
    ("holding cost (25%/year)", "holding_cost", "{:,.0f}"),
    ("normal order lines", "order_lines", "{:,}"),
    ("ordering cost", "order_cost", "{:,.0f}"),
    ("expedited order lines", "expedited_orders", "{:,}"),
    ("expedite premiums (+ order cost)", "expedite_premium", "{:,.0f}"),
    ("emergency orders", "emergency_orders", "{:,}"),
    ("emergency premiums", "emergency_premium", "{:,.0f}"),
    ("downtime waiting for parts (h)", "wait_hours", "{:,.0f}"),
    ("failures (corrective)", "failures", "{:,}"),
    ("repair downtime (h)", "repair_hours", "{:,.0f}"),
    ("planned replacements", "preventive", "{:,}"),
    ("planned downtime (h)", "planned_hours", "{:,.0f}"),
    ("downtime cost", "downtime_cost", "{:,.0f}"),
    ("total cost", "total_cost", "{:,.0f}"),
    ("parts consumed (value, not in total)", "parts_value", "{:,.0f}"),
)


def describe(cfg: Config) -> str:
    return (
        f"{cfg.assets} assets, {cfg.parts} parts, {cfg.vendors} vendors ({cfg.unreliable} unreliable, quotes "
        f"{cfg.quote_min:g}-{cfg.quote_max:g} d), {cfg.days} days measured after {cfg.warmup} days of warm-up, "
        f"seed {cfg.seed}"
        + ("" if cfg.early_signals else ", confident RUL only")
        + ("" if cfg.review_days is None else f", review {cfg.review_days} d")
    )


def report(cfg: Config, runs: dict[str, Run]) -> list[str]:
    """The printed lines: the table, diagnostics and, last, the RESULT line."""
    base, suite = runs["minmax"].metrics, runs["suite"].metrics
    lines = [describe(cfg), f"{'':38} {'min/max':>14} {'suite':>14}"]
    for label, name, fmt in ROWS:
        lines.append(f"{label:38} {fmt.format(getattr(base, name)):>14} {fmt.format(getattr(suite, name)):>14}")
    lines.append(
        f"failures by criticality A/B/C: min/max {'/'.join(map(str, base.failures_by_crit))}, "
        f"suite {'/'.join(map(str, suite.failures_by_crit))}"
    )
    by_signal = ", ".join(
        f"{kind or 'none'} {count} ({suite.late_by_signal.get(kind, 0)} late)"
        for kind, count in sorted(suite.needs_by_signal.items())
    )
    lines.append(
        f"suite: {suite.engine_calls:,} engine calls, {suite.predictions:,} asset-days with a prediction, "
        f"{suite.onset_days:,} with an onset warning; {suite.needs} needs came due ({suite.late_needs} after their "
        f"order-by date: {late_share(suite):.1%}; {suite.planned_ahead} planned ahead; by warning: {by_signal}), "
        f"{suite.released_needs} released; runtime min/max {runs['minmax'].seconds:.1f} s, "
        f"suite {runs['suite'].seconds:.1f} s"
    )
    inv = reduction(suite.inventory_value, base.inventory_value)
    wait = reduction(suite.wait_hours, base.wait_hours)
    emerg = reduction(suite.emergency_orders, base.emergency_orders)
    goals = (
        ("inventory value -35%", inv >= 0.35),
        ("no more downtime waiting for parts", suite.wait_hours <= base.wait_hours),
        ("emergency orders -70%", emerg >= 0.70),
    )
    lines.append("goals: " + ", ".join(f"{goal} {'met' if ok else 'NOT met'}" for goal, ok in goals))
    lines.append(
        f"RESULT inventory_reduction={inv:.3f} downtime_wait_reduction={wait:.3f} emergency_reduction={emerg:.3f}"
    )
    return lines


# ---------------------------------------------------------------------- the matrix
@dataclass(frozen=True)
class Cell:
    """One run of the matrix: its world, seed and both policies' metrics."""

    world: str
    seed: int
    minmax: Metrics
    suite: Metrics
    seconds: float


def run_cell(args: tuple[str, int, dict]) -> Cell:
    """Both policies on ``world`` with ``seed`` (``overrides``: e.g. ``early_signals``); for the process pool."""
    world, seed, overrides = args
    t0 = time.perf_counter()
    cfg = Config(seed=seed, **{**WORLDS[world], **overrides})
    runs = simulate(cfg)
    return Cell(world, seed, runs["minmax"].metrics, runs["suite"].metrics, time.perf_counter() - t0)


MATRIX_COLUMNS = (
    ("inventory", "inventory_value", "{:,.0f}"),
    ("emergencies", "emergency_orders", "{:,}"),
    ("wait h", "wait_hours", "{:,.0f}"),
)


def matrix_report(cells: list[Cell]) -> list[str]:
    """The matrix table (both policies per world and seed, the suite's reduction and late-planned share) and,
    last, the RESULT line of the goals."""
    head = f"{'world':10} {'seed':>4}"
    for label, _name, _fmt in MATRIX_COLUMNS:
        head += f" | {label + ' min/max':>19} {'suite':>8} {'cut':>6}"
    head += f" | {'expedited':>9} | {'late (due)':>14} | {'late (planned)':>14} | {'total cost cut':>14}"
    lines = [head, "-" * len(head)]
    for c in cells:
        row = f"{c.world:10} {c.seed:>4}"
        for _label, name, fmt in MATRIX_COLUMNS:
            a, b = getattr(c.minmax, name), getattr(c.suite, name)
            row += f" | {fmt.format(a):>19} {fmt.format(b):>8} {reduction(b, a):>6.0%}"
        late = f"{c.suite.late_needs}/{c.suite.needs} {late_share(c.suite):.0%}"
        first = f"{c.suite.late_planned}/{c.suite.needs} {c.suite.late_planned / max(c.suite.needs, 1):.0%}"
        cost = reduction(c.suite.total_cost, c.minmax.total_cost)
        row += f" | {c.suite.expedited_orders:>9} | {late:>14} | {first:>14} | {cost:>14.0%}"
        lines.append(row)
    default = [c for c in cells if c.world == "default"] or cells  # without the default world: every run
    inv = min(reduction(c.suite.inventory_value, c.minmax.inventory_value) for c in default)
    emerg = min(reduction(c.suite.emergency_orders, c.minmax.emergency_orders) for c in default)
    wait = min(reduction(c.suite.wait_hours, c.minmax.wait_hours) for c in cells)
    needs = sum(c.suite.needs for c in default)
    share = sum(c.suite.late_needs for c in default) / needs if needs else 0.0
    goals = (
        ("inventory value -35% (default world, every seed)", inv >= 0.35),
        ("emergency orders -70% (default world, every seed)", emerg >= 0.70),
        ("no more downtime waiting for parts (every world and seed)", wait >= 0.0),
        ("late-planned share at most half of 297/369 = 40.2% (default world)", share <= 0.5 * 297 / 369),
    )
    lines.append("goals: " + "; ".join(f"{goal} {'met' if ok else 'NOT met'}" for goal, ok in goals))
    lines.append(
        f"RESULT worst_inventory_reduction={inv:.3f} worst_emergency_reduction={emerg:.3f} "
        f"worst_downtime_wait_reduction={wait:.3f} late_planned_share={share:.3f}"
    )
    return lines


def run_matrix(seeds=MATRIX_SEEDS, worlds=tuple(WORLDS), jobs: int = 2, overrides: dict | None = None) -> list[Cell]:
    """Both policies for every world and seed, ``jobs`` runs at a time; cells in (world, seed) order."""
    tasks = [(world, seed, overrides or {}) for world in worlds for seed in seeds]
    if jobs <= 1:
        return [run_cell(t) for t in tasks]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_cell, tasks))


def config_from_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--world", choices=tuple(WORLDS), default="default")
    parser.add_argument("--assets", type=int, default=None, help="default 200")
    parser.add_argument("--parts", type=int, default=None, help="default 60")
    parser.add_argument("--days", type=int, default=None, help="measured days, default 365")
    parser.add_argument("--warmup", type=int, default=None, help="days before the measured ones, default 180")
    parser.add_argument("--quick", action="store_true", help=f"a small plant for tests: {QUICK}")
    parser.add_argument("--rul-only", action="store_true", help="the suite acts on the confident RUL only")
    parser.add_argument("--review-days", type=int, default=None, help="the suite's review days (default 7)")
    parser.add_argument("--matrix", action="store_true", help="seeds 1-5 x the three worlds")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(MATRIX_SEEDS), help="seeds of --matrix")
    parser.add_argument("--worlds", nargs="+", choices=tuple(WORLDS), default=list(WORLDS), help="worlds of --matrix")
    parser.add_argument("--jobs", type=int, default=2, help="runs of --matrix at a time (processes)")
    args = parser.parse_args(argv)
    values = dict(WORLDS[args.world])
    if args.quick:
        values.update(QUICK)
    for name in ("assets", "parts", "days", "warmup"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.rul_only:
        values["early_signals"] = False
    if args.review_days is not None:
        values["review_days"] = args.review_days
    return Config(seed=args.seed, **values), args


def main(argv: list[str] | None = None) -> int:
    cfg, args = config_from_args(argv)
    t0 = time.perf_counter()
    if args.matrix:
        overrides = {"early_signals": False} if args.rul_only else {}
        if args.review_days is not None:
            overrides["review_days"] = args.review_days
        if args.quick:
            overrides.update(QUICK)
        cells = run_matrix(tuple(args.seeds), tuple(args.worlds), args.jobs, overrides)
        lines = matrix_report(cells)
    else:
        lines = report(cfg, simulate(cfg))
    lines.insert(-1, f"total runtime {time.perf_counter() - t0:.1f} s")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
