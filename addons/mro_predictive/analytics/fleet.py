"""Fleet learning: remaining useful life from run-to-failure histories of similar assets.

A regression over several measures at once, built for anonymous columns (as in C-MAPSS-like data):
constant columns are dropped; when the measures fall into operating regimes (found by k-means, the
number of regimes chosen from the data) each regime is standardised on its own; every unit's measures
are smoothed causally; measures hardly correlated with the end of life are left out; the features at a
time are the smoothed measures, their recent slopes and their squares; the target is the RUL capped
at a fraction of the typical life (early life carries no information on the end); the model is ridge
regression with its penalty chosen by cross-validation over units. The interval comes from the
out-of-fold errors, relative to the predicted RUL, so it is calibrated on the fleet's own history.
"""

from __future__ import annotations

import numpy as np

from .rul import PROBS, RulResult, no_prediction

#: Fraction of the median life at which the RUL target is capped.
CAP_FRACTION = 0.62
ALPHA = 0.05  # EMA smoothing factor per sample (about a 40-sample memory)
SLOPE_LAG = 20  # samples for the slope feature
RIDGE_GRID = (0.1, 1.0, 10.0, 100.0)
#: Measures less correlated than this with the (capped) RUL are left out as uninformative.
MIN_CORRELATION = 0.2
#: Most operating regimes looked for (C-MAPSS FD002/FD004 have six).
MAX_REGIMES = 8


def _kmeans(x: np.ndarray, k: int, iters: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means with farthest-point initialisation (deterministic)."""
    centers = [x[0]]
    for _ in range(1, k):
        dist = np.min([((x - c) ** 2).sum(1) for c in centers], axis=0)
        centers.append(x[int(np.argmax(dist))])
    centers = np.array(centers)
    for _ in range(iters):
        labels = np.argmin(((x[:, None, :] - centers[None]) ** 2).sum(2), axis=1)
        new = np.array([x[labels == j].mean(0) if np.any(labels == j) else centers[j] for j in range(k)])
        if np.allclose(new, centers):
            break
        centers = new
    return centers, labels


def _ema(values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Causal exponential moving average down the rows, started at the first row."""
    out = np.empty_like(values)
    acc = values[0].copy()
    for i, row in enumerate(values):
        acc += alpha * (row - acc) if i else 0.0
        out[i] = acc
    return out


class FleetModel:
    """Ridge regression of capped RUL on smoothed multi-measure features; see the module docstring."""

    def __init__(self):
        self.keep = None  # measure columns that vary (indices into the measures)
        self.use = None  # of those, the informative ones (indices into keep)
        self.regimes = None  # regime centers (in raw measure space), or None
        self.mu = None  # per regime (or one row): mean of the kept measures
        self.sd = None
        self.cap = None
        self.coef = None
        self.feat_mu = None
        self.feat_sd = None
        self.rel_quantiles = None  # relative error quantiles at PROBS
        self.scale_offset = None

    # ---------------------------------------------------------------- features
    def _normalise(self, m: np.ndarray) -> np.ndarray:
        m = m[:, self.keep]
        if self.regimes is None:
            return (m - self.mu[0]) / self.sd[0]
        labels = np.argmin(((m[:, None, :] - self.regimes[None]) ** 2).sum(2), axis=1)
        return (m - self.mu[labels]) / self.sd[labels]

    def _smoothed(self, history: np.ndarray) -> np.ndarray:
        return _ema(self._normalise(history[:, 1:]))

    def _features(self, history: np.ndarray) -> np.ndarray:
        t = history[:, :1]
        z = self._smoothed(history)
        z = z if self.use is None else z[:, self.use]  # models stored before measure selection use all
        lagged = np.vstack([np.repeat(z[:1], SLOPE_LAG, axis=0), z])[: len(z)]
        slope = (z - lagged) / SLOPE_LAG
        return np.hstack([z, slope, z**2, t / self.cap])

    # ---------------------------------------------------------------- fitting
    def fit(self, histories: list[np.ndarray]) -> FleetModel:
        """Learn from run-to-failure histories: 2-D arrays (n_i, 1 + m), column 0 = time, each ending
        at failure."""
        histories = [np.asarray(h, dtype=float) for h in histories if len(h) >= 3]
        if len(histories) < 5:
            raise ValueError(f"fleet learning needs at least 5 run-to-failure histories, got {len(histories)}")
        measures = np.vstack([h[:, 1:] for h in histories])
        spread = measures.std(0)
        self.keep = np.flatnonzero(spread > 1e-8 * (np.abs(measures.mean(0)) + 1e-12))
        m = measures[:, self.keep]
        self._find_regimes(m)
        lives = np.array([h[-1, 0] - h[0, 0] for h in histories])
        self.cap = float(CAP_FRACTION * np.median(lives))
        self._select_measures(histories)
        feats, target, groups = [], [], []
        for g, h in enumerate(histories):
            feats.append(self._features(h))
            target.append(np.minimum(h[-1, 0] - h[:, 0], self.cap))
            groups.append(np.full(len(h), g))
        x, y, groups = np.vstack(feats), np.concatenate(target), np.concatenate(groups)
        self.feat_mu, self.feat_sd = x.mean(0), x.std(0) + 1e-9
        xs = (x - self.feat_mu) / self.feat_sd
        folds = groups % 5
        best = None
        for lam in RIDGE_GRID:
            oof = np.empty_like(y)
            for f in range(5):
                tr = folds != f
                coef = _ridge(xs[tr], y[tr], lam)
                oof[~tr] = _predict(xs[~tr], coef)
            err = float(np.sqrt(np.mean((oof - y) ** 2)))
            if best is None or err < best[0]:
                best = (err, lam, oof)
        _err, lam, oof = best
        self.coef = _ridge(xs, y, lam)
        # Calibration on out-of-fold predictions near the end of life, where predictions matter.
        true_rul = np.concatenate([h[-1, 0] - h[:, 0] for h in histories])
        near = true_rul <= self.cap * 1.2
        pred = np.clip(oof[near], 0, None)
        self.scale_offset = 0.1 * self.cap
        rel = (true_rul[near] - pred) / (pred + self.scale_offset)
        self.rel_quantiles = np.quantile(rel, PROBS)
        return self

    def _select_measures(self, histories: list[np.ndarray]) -> None:
        """Keep the measures that tell something of the end of life: |correlation| of the smoothed,
        normalised measure with the capped RUL at least MIN_CORRELATION (the best one at the least)."""
        z = np.vstack([self._smoothed(h) for h in histories])
        target = np.concatenate([np.minimum(h[-1, 0] - h[:, 0], self.cap) for h in histories])
        zc, tc = z - z.mean(0), target - target.mean()
        corr = np.abs(zc.T @ tc) / (np.sqrt((zc**2).sum(0) * (tc**2).sum()) + 1e-12)
        use = np.flatnonzero(corr >= MIN_CORRELATION)
        self.use = use if use.size else np.array([int(np.argmax(corr))])

    def _find_regimes(self, m: np.ndarray) -> None:
        """Operating regimes: k-means on a sample for k = 2..MAX_REGIMES; the smallest k that explains
        most of the variance (within-cluster share below 10%) and that one more cluster would not
        improve by half is kept. Each regime is then standardised on its own."""
        sample = m[:: max(1, len(m) // 5000)]
        scaled = (sample - sample.mean(0)) / (sample.std(0) + 1e-12)
        total = float(((scaled - scaled.mean(0)) ** 2).sum())
        shares, fits = [], []
        for k in range(2, MAX_REGIMES + 2):
            centers, labels = _kmeans(scaled, k)
            within = sum(((scaled[labels == j] - centers[j]) ** 2).sum() for j in range(k))
            shares.append(within / total if total > 0 else 1.0)
            fits.append(labels)
        chosen = None
        for i in range(len(shares) - 1):
            if shares[i] < 0.1 and shares[i + 1] > 0.5 * shares[i]:
                chosen = i
                break
        self.regimes = None
        self.mu, self.sd = m.mean(0)[None], (m.std(0) + 1e-9)[None]
        if chosen is None:
            return
        labels = fits[chosen]
        raw_centers = np.array([sample[labels == j].mean(0) for j in np.unique(labels)])
        full_labels = np.argmin(((m[:, None, :] - raw_centers[None]) ** 2).sum(2), axis=1)
        floor = 1e-3 * self.sd[0]  # a measure constant within a regime stays 0, never blows up
        self.regimes = raw_centers
        self.mu = np.array([m[full_labels == j].mean(0) for j in range(len(raw_centers))])
        self.sd = np.array([np.maximum(m[full_labels == j].std(0), floor) for j in range(len(raw_centers))])

    # ---------------------------------------------------------------- prediction
    def predict(self, history: np.ndarray, confidence: float = 0.8) -> RulResult:
        """RUL at the last row of ``history`` (same layout as in ``fit``), with a calibrated interval."""
        history = np.asarray(history, dtype=float)
        if self.coef is None:
            return no_prediction("the fleet model is not fitted", confidence)
        if len(history) < 1 or not np.isfinite(history).all():
            return no_prediction("history empty or not finite", confidence)
        x = (self._features(history)[-1:] - self.feat_mu) / self.feat_sd
        point = float(np.clip(_predict(x, self.coef)[0], 0.0, self.cap))
        quantiles = np.maximum.accumulate(np.clip(point + self.rel_quantiles * (point + self.scale_offset), 0, None))
        lower, median, upper = np.interp([(1 - confidence) / 2, 0.5, (1 + confidence) / 2], PROBS, quantiles)
        reason = (
            f"fleet regression over {len(self.keep)} measures"
            + (f" in {len(self.regimes)} operating regimes" if self.regimes is not None else "")
            + f", RUL capped at {self.cap:.0f}; interval from out-of-fold errors"
        )
        return RulResult(True, reason, "fleet", float(median), float(lower), float(upper), confidence, quantiles)

    # ---------------------------------------------------------------- storage
    def to_dict(self) -> dict:
        def plain(v):
            return None if v is None else np.asarray(v).tolist()

        return {
            "keep": plain(self.keep),
            "use": plain(self.use),
            "regimes": plain(self.regimes),
            "mu": plain(self.mu),
            "sd": plain(self.sd),
            "cap": self.cap,
            "coef": plain(self.coef),
            "feat_mu": plain(self.feat_mu),
            "feat_sd": plain(self.feat_sd),
            "rel_quantiles": plain(self.rel_quantiles),
            "scale_offset": self.scale_offset,
        }

    @classmethod
    def from_dict(cls, data: dict) -> FleetModel:
        model = cls()
        for key, value in data.items():
            if key in ("cap", "scale_offset"):
                setattr(model, key, value)
            elif value is not None:
                setattr(model, key, np.asarray(value, dtype=int if key in ("keep", "use") else float))
        return model


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge regression with an unpenalised intercept (last coefficient)."""
    xa = np.hstack([x, np.ones((len(x), 1))])
    penalty = lam * np.eye(xa.shape[1])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(xa.T @ xa + penalty, xa.T @ y)


def _predict(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return x @ coef[:-1] + coef[-1]
