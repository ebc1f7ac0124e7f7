"""One simulated plant year: static min/max reordering against the predictive just-in-time suite.

    .venv/bin/python bench/jit_sim.py [--seed 1] [--assets 200] [--parts 60] [--days 365] [--quick]

Both policies run on the same world (same degradation paths, sensor noise and vendor lead-time draws). The
script prints a table of both and, last, ``RESULT inventory_reduction=<x> downtime_wait_reduction=<x>
emergency_reduction=<x>`` (fractions 1 - suite / min-max; negative when the suite is worse).

The world (each kind of draw from its own seeded stream, so both policies see identical worlds)
- Vendors: 9, quoted delays 3-30 days. Real lead times are lognormal per vendor, a little longer than
  quoted (x 0.95-1.15, CV 0.10-0.25); 3 vendors are unreliable (x 1.1-1.4, CV 0.4-0.6, and 15% of their
  shipments 7-21 days later still). One draw per vendor and day: whichever policy orders from a vendor on a
  day gets that day's lead time.
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
  (one receiving day). An emergency order ships in a third of that day's lead-time draw, straight to the
  machine, at least one day. Waiting needs take the shelf first come, first served.
- Needs the shelf cannot serve (both policies): wait for parts already on their way soon enough (an
  emergency order, or a normal order planned within the expedited lead time and not yet overdue), else an
  emergency order; re-checked daily, so an overdue order is expedited. Downtime waiting for parts = hours an
  asset is down for want of a part.
- Costs: holding 25% a year of the average inventory value; 50 per normal order line; an emergency line
  costs the parts' price again (2x) plus 150; downtime 1500 / 400 / 100 per hour for criticality A / B / C;
  a corrective repair takes 8 h once the parts are there, a planned replacement 4 h. Total = holding +
  ordering + emergency premiums + downtime (parts consumed are shown apart: planned replacements use a
  little more).
- Both policies work through Odoo orderpoints: order up to max when the forecast (on hand + incoming -
  owed) falls *below* min. Each starts from its own max; 180 warm-up days run before the measured year (the
  suite learns lead times and its own warning times there); only the year is reported.

(a) Min/max as plants configure Odoo today: a static orderpoint per part from the part's consumption
history (the long-run failure rate of the assets using it: the plant's own statistics) and the vendor's
quoted delay: min = the Poisson quantile of demand over quote + 1 receiving day at a service level set by
the most critical asset using the part (A 99%, B 95%, C 90%), at least 1; max = min + EOQ (order cost 50,
holding 25%). Every asset runs to failure and takes its kit from the shelf. A well-set statistical min/max,
not a straw man; what it lacks is the machines' condition and the vendors' real lead times.

(b) The suite: each day the engine's ``estimate_rul`` runs on each running asset's last 30 days of noisy
readings since its renewal (never the true failure time). Criticality A/B (late risk 1% / 5%,
``RISK_BY_CRITICALITY``): each kit part gets a need on the day its order-by date comes (waiting one more day
would exceed the risk: ``late_probability``; ``order_by_offset`` says how late), with lead times learned
from the receipts so far (``lead_time_stats``, quote as prior; pooled per vendor, as a vendor's lead time
does not depend on the part here, where the addon keeps one figure per vendor and part) plus 1 receiving +
1 kitting day. A need claims free stock (on hand + on
order - claimed - owed) and orders the shortfall. A need whose asset has had no prediction for 7 days is
released. When P(failure within 7 days) >= 10% and the kit is on the shelf, the asset is replaced in a
planned stop the next day. Criticality C runs to failure. Each part also has the addon's dynamic min/max
orderpoint (``pooled_demand`` + ``min_max`` at 95%) over its running assets, against Odoo's forecast (needs'
claims are not stock reservations, as in the addon): P(failure before a part ordered today is kitted) from
the prediction, over the lead-time distribution (``late_probability(0)``), or, without a prediction, from the
rate of failures that came with less warning than that (the plant's failure rate x the share of past needs
warned too late, learned, prior 1 in 2). Two departures from the addon: it gives equipment whose sensors
show no trend a probability of 0 (no buffer at all), and it annualises 30-day failure probabilities into the
EOQ, which inflates lots whenever a failure is predicted; here the EOQ comes from the unwarned rate only (a
predicted failure is one replacement, not a yearly rate).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import poisson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "addons" / "mro_predictive"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "addons" / "mro_jit_procurement"))
from analytics.rul import estimate_rul
from planning import (
    RISK_BY_CRITICALITY,
    LeadTimeStats,
    eoq,
    late_probability,
    lead_time_stats,
    min_max,
    order_by_offset,
    pooled_demand,
)

CRITICALITIES = ("A", "B", "C")
POLICIES = ("minmax", "suite")


@dataclass(frozen=True)
class Config:
    """Size, horizon and the economic and planning parameters of one run (days, currency, hours)."""

    seed: int = 1
    assets: int = 200
    parts: int = 60
    days: int = 365
    warmup: int = 180
    vendors: int = 9
    unreliable: int = 3
    readings_per_day: int = 4
    window_days: int = 30
    holding_rate: float = 0.25
    order_cost: float = 50.0
    emergency_fee: float = 150.0
    downtime_cost: tuple[float, float, float] = (1500.0, 400.0, 100.0)
    repair_hours: float = 8.0
    planned_hours: float = 4.0
    receiving_days: int = 1
    kitting_days: int = 1
    minmax_service: tuple[float, float, float] = (0.99, 0.95, 0.90)
    suite_service: float = 0.95
    pm_horizon_days: float = 7.0
    pm_probability: float = 0.10
    release_after_days: int = 7

    @property
    def total_days(self) -> int:
        return self.warmup + self.days


QUICK = {"assets": 40, "parts": 10, "days": 120, "warmup": 60}


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
        seeds = np.random.SeedSequence(cfg.seed).spawn(6)
        rng = np.random.default_rng(seeds[0])
        v = cfg.vendors
        self.quote = np.round(np.geomspace(3, 30, v)).astype(int)
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
    """An order line: units of a part, placed / on the shelf / planned (days), emergency, transit (days)."""

    part: int
    qty: int
    placed: int
    available: int
    planned: int
    emergency: bool
    transit: float


@dataclass
class Metrics:
    """Figures over the measured days (currency, hours, counts of order lines and events)."""

    inventory_value: float = 0.0
    holding_cost: float = 0.0
    order_lines: int = 0
    order_cost: float = 0.0
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
    needs: int = 0
    late_needs: int = 0
    released_needs: int = 0
    #: lowest stock of any part at any day's end (never < 0), most units owed to waiting assets and not on
    #: their way after a day's expediting (0: nobody ever waits without a part coming), needs waiting at the end
    min_on_hand: int = 0
    max_unserved: int = 0
    open_waits: int = 0
    engine_calls: int = 0
    predictions: int = 0


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

    def __init__(self, world: World, policy: str):
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}: use one of {', '.join(POLICIES)}")
        self.w = world
        self.cfg = cfg = world.cfg
        self.policy = policy
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
        self.pred: list = [None] * n
        self.no_pred_days = np.zeros(n, dtype=int)
        self.first_warning = np.full(n, np.nan)
        self.warnings: list[float] = []
        self.samples: dict[int, list[float]] = {}
        self.lead_cache: dict[int, LeadTimeStats] = {}
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
            self.on_hand[:] = [self._buffer(part)[1] for part in range(p)]

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
        m.total_cost = m.holding_cost + m.order_cost + m.emergency_premium + m.downtime_cost
        m.open_waits = len(self.waiting)
        return Run(self.policy, m, self.lives, time.perf_counter() - t0)

    def _place(self, d: int, part: int, qty: int, measured: bool, planned_lead: float) -> None:
        """A normal order line placed at the end of day ``d``."""
        transit = float(self.w.lead[self.w.vendor[part], d])
        available = d + 1 + int(math.floor(transit)) + self.cfg.receiving_days
        planned = d + 1 + math.ceil(planned_lead) + self.cfg.receiving_days
        self.orders.append(Order(part, qty, d, available, planned, False, transit))
        self.incoming[part] += qty
        if measured:
            self.m.order_lines += 1
            self.m.order_cost += self.cfg.order_cost

    def _receive(self, d: int) -> None:
        keep = []
        for order in self.orders:
            if order.available > d:
                keep.append(order)
                continue
            self.on_hand[order.part] += order.qty
            self.incoming[order.part] -= order.qty
            if not order.emergency and self.policy == "suite":
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
        self.warnings.append(0.0 if np.isnan(self.first_warning[i]) else self.need_day[i] - self.first_warning[i])
        self.first_warning[i] = np.nan
        self.k[i] += 1
        self.start[i] = d + 1
        self.pred[i] = None
        self.no_pred_days[i] = 0
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
        """Parts owed to waiting assets: wait for what is on its way fast enough (an emergency order, or a normal
        order planned within the expedited lead time and not overdue), order the rest as an emergency."""
        for part in np.flatnonzero(self.backlog > 0):
            v = self.w.vendor[part]
            fast = max(1, math.ceil(self.w.quote[v] / 3))
            covered = sum(o.qty for o in self.orders if o.part == part and (o.emergency or d < o.planned <= d + fast))
            units = int(self.backlog[part] - covered)
            if units <= 0:
                continue
            transit = float(self.w.lead[v, d]) / 3.0
            available = max(d + 1, d + int(math.floor(0.5 + transit)))
            self.orders.append(Order(int(part), units, d, available, available, True, transit))
            self.incoming[part] += units
            if measured:
                self.m.emergency_orders += 1
                self.m.emergency_premium += units * self.w.cost[part] + self.cfg.emergency_fee

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
        """Free stock: on hand + on order - claimed by needs - owed to assets waiting."""
        return int(self.on_hand[part] + self.incoming[part] - self.claimed[part] - self.backlog[part])

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
                self._place(d, part, int(self.mm_max[part] - pos), measured, self.w.quote[self.w.vendor[part]])

    # ------------------------------------------------------------------ (b) the suite
    def lead_stats(self, part: int) -> LeadTimeStats:
        """Lead time of the part's vendor learned from its receipts so far, the quoted delay as prior."""
        vendor = int(self.w.vendor[part])
        stats = self.lead_cache.get(vendor)
        if stats is None:
            quote = float(self.w.quote[vendor])
            stats = lead_time_stats(self.samples.get(vendor, []), prior_mean=quote)
            self.lead_cache[vendor] = stats
        return stats

    def _unwarned_share(self, cover: float) -> float:
        """Share of past needs whose first prediction came less than ``cover`` days ahead (prior 1 in 2)."""
        warned = np.asarray(self.warnings)
        return float((np.sum(warned < cover) + 1.0) / (warned.size + 2.0))

    def _buffer(self, part: int) -> tuple[int, int]:
        """The part's orderpoint as the addon's dynamic min/max sets it (units): pooled demand of the running
        assets using it, each failing before a part ordered today is kitted with P = ``late_probability(0)``
        from its prediction (over the lead-time distribution), else at the rate of failures that came without
        enough warning; EOQ from that rate (a predicted failure is one replacement, not a yearly rate)."""
        users = self.users[part]
        if not users:
            return 0, 0
        cfg, w = self.cfg, self.w
        lead = self.lead_stats(part)
        cover = lead.mean + cfg.receiving_days + cfg.kitting_days
        unwarned = w.failure_rate * self._unwarned_share(cover)
        probs, qtys = [], []
        for i, qty in users:
            if self.down[i]:
                continue
            pred = self.pred[i]
            if pred is not None:
                probs.append(late_probability(0, pred.quantiles, lead, cfg.receiving_days, cfg.kitting_days))
            else:
                probs.append(-math.expm1(-unwarned * cover))
            qtys.append(qty)
        if not probs:
            return 0, 0
        lot = eoq(365.0 * unwarned * sum(qtys), cfg.order_cost, cfg.holding_rate * w.cost[part])
        result = min_max(pooled_demand(probs, qtys), cfg.suite_service, lot)
        return result.min_qty, result.max_qty

    def _predict(self, i: int, d: int) -> None:
        cfg = self.cfg
        now = d + 1.0
        life = self.w.life(i, int(self.k[i]))
        t, y = self.w.readings(i, life, self.start[i], max(self.start[i], now - cfg.window_days), now)
        pred = None
        if t.size >= 10:
            self.m.engine_calls += 1
            result = estimate_rul(t, y, float(self.w.threshold[i]), now=now)
            if result.ok:
                pred = result
                if np.isnan(self.first_warning[i]):
                    self.first_warning[i] = d
        self.pred[i] = pred
        self.no_pred_days[i] = 0 if pred is not None else self.no_pred_days[i] + 1

    def _plan_suite(self, d: int, measured: bool) -> None:
        cfg, w = self.cfg, self.w
        for i in range(cfg.assets):
            if self.down[i] or self.pm_day[i] > d:
                continue
            self._predict(i, d)
            if self.pred[i] is not None and measured:
                self.m.predictions += 1
            if self.claims[i] and self.no_pred_days[i] >= cfg.release_after_days:
                for part, qty in self.claims[i].items():
                    self.claimed[part] -= qty
                self.claims[i] = {}
                if measured:
                    self.m.released_needs += 1
        pm_take = np.zeros(cfg.parts, dtype=int)
        for i in range(cfg.assets):
            pred = self.pred[i]
            risk = RISK_BY_CRITICALITY[CRITICALITIES[w.crit[i]]]
            if pred is None or risk is None or self.down[i] or self.pm_day[i] > d:
                continue
            for part, qty in w.kit[i]:
                if part in self.claims[i]:
                    continue
                lead = self.lead_stats(part)
                # The order-by date is today when waiting one more day would exceed the allowed risk.
                if late_probability(1, pred.quantiles, lead, cfg.receiving_days, cfg.kitting_days) <= risk:
                    continue
                self.claims[i][part] = qty
                self.claimed[part] += qty
                if measured:
                    self.m.needs += 1
                    plan = order_by_offset(pred.quantiles, lead, risk, cfg.receiving_days, cfg.kitting_days)
                    self.m.late_needs += int(plan.offset_days < 0)
            if pred.p_fail_within(cfg.pm_horizon_days) >= cfg.pm_probability:
                kit = w.kit[i]
                if all(self.on_hand[part] - pm_take[part] >= qty for part, qty in kit):
                    for part, qty in kit:
                        pm_take[part] += qty
                    self.pm_day[i] = d + 1
        for part in range(cfg.parts):
            # Needs first: the shortfall of free stock (on hand + on order - claimed - owed), as the planner's RFQ
            # lines; then the orderpoint, which sees Odoo's forecast (claims are not stock reservations).
            short = max(0, -self.position(part))
            forecast = int(self.on_hand[part] + self.incoming[part] - self.backlog[part]) + short
            low, high = self._buffer(part)
            qty = short + (high - forecast if forecast < low else 0)
            if qty > 0:
                self._place(d, part, qty, measured, self.lead_stats(part).mean)


def simulate(cfg: Config) -> dict[str, Run]:
    """Both policies on one world: ``{"minmax": Run, "suite": Run}``."""
    world = World(cfg)
    return {policy: Simulation(world, policy).run() for policy in POLICIES}


def reduction(suite: float, base: float) -> float:
    """1 - suite / base: 0 when both are 0, -1 when only the suite has some (worse, no ratio to state)."""
    if base == 0:
        return 0.0 if suite == 0 else -1.0
    return 1.0 - suite / base


ROWS = (
    ("average inventory value", "inventory_value", "{:,.0f}"),
    ("holding cost (25%/year)", "holding_cost", "{:,.0f}"),
    ("normal order lines", "order_lines", "{:,}"),
    ("ordering cost", "order_cost", "{:,.0f}"),
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


def report(cfg: Config, runs: dict[str, Run]) -> list[str]:
    """The printed lines: the table, diagnostics and, last, the RESULT line."""
    base, suite = runs["minmax"].metrics, runs["suite"].metrics
    lines = [
        f"{cfg.assets} assets, {cfg.parts} parts, {cfg.vendors} vendors ({cfg.unreliable} unreliable), "
        f"{cfg.days} days measured after {cfg.warmup} days of warm-up, seed {cfg.seed}",
        f"{'':38} {'min/max':>14} {'suite':>14}",
    ]
    for label, name, fmt in ROWS:
        lines.append(f"{label:38} {fmt.format(getattr(base, name)):>14} {fmt.format(getattr(suite, name)):>14}")
    lines.append(
        f"failures by criticality A/B/C: min/max {'/'.join(map(str, base.failures_by_crit))}, "
        f"suite {'/'.join(map(str, suite.failures_by_crit))}"
    )
    lines.append(
        f"suite: {suite.engine_calls:,} engine calls, {suite.predictions:,} asset-days with a prediction, "
        f"{suite.needs} needs ({suite.late_needs} planned after their order-by date), "
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


def config_from_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--assets", type=int, default=None, help="default 200")
    parser.add_argument("--parts", type=int, default=None, help="default 60")
    parser.add_argument("--days", type=int, default=None, help="measured days, default 365")
    parser.add_argument("--warmup", type=int, default=None, help="days before the measured ones, default 180")
    parser.add_argument("--quick", action="store_true", help=f"a small plant for tests: {QUICK}")
    args = parser.parse_args(argv)
    values = dict(QUICK) if args.quick else {}
    for name in ("assets", "parts", "days", "warmup"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    return Config(seed=args.seed, **values)


def main(argv: list[str] | None = None) -> int:
    cfg = config_from_args(argv)
    t0 = time.perf_counter()
    runs = simulate(cfg)
    lines = report(cfg, runs)
    lines.insert(-1, f"total runtime {time.perf_counter() - t0:.1f} s")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
