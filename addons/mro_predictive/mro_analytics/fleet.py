"""Fleet learning: remaining useful life from run-to-failure histories of similar assets.

Built for anonymous columns (as in C-MAPSS-like data) and numpy/scipy only:

- health indicators per operating regime: constant columns are dropped; when the measures fall into
  operating regimes (k-means; the number of regimes is the least that explains the measures taking a few
  discrete levels, as operating settings and the measures they drive do, else chosen from the variance)
  each regime is standardised on its own, so a change of regime is not read as wear; every unit's measures
  are smoothed causally and measures hardly correlated with the end of life are left out;
- a kernel regression: the features at a time (smoothed measures, their change since the unit's own first
  samples (units are born different: a high reading from new is not wear), their recent slopes, their
  squares, the age) go through a Nystroem map of a Gaussian kernel (Williams & Seeger 2001: the kernel
  against LANDMARKS training points spread by k-means++ seeding; steadier than random Fourier features,
  whose draw moved FD003's score by a factor of two) into ridge regression of the RUL capped
  piecewise-linearly (early life carries no information on the end);
- a trajectory similarity (in the manner of Wang et al. 2008 and RULCLIPPER): the measures are fused into one
  health index (linear, from 1 when new to 0 at failure); the unit's recent health-index path is slid along
  every training unit's smoothed path, and the remaining lives of the best matches, weighted by their
  distance, make a second estimate;
- the ensemble weight of the two, the cap (a fraction of the median life), the kernel width and the ridge
  penalty are chosen by cross-validation over units (5 folds), scored on the true RUL at cut points of the
  held-out units;
- the interval is conformal: the out-of-fold errors at those cut points, split into ranges of the predicted
  RUL (errors grow with it), give each range its own quantiles. The RUL stated is the ensemble's own
  forecast, not the median of that interval: at the top of the range the cut points include lives far past
  the cap, which would shift every healthy-looking unit late.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .rul import PROBS, RulResult, no_prediction

#: Candidate caps of the RUL target, as fractions of the median life (chosen by cross-validation).
CAP_FRACTIONS = (0.55, 0.6, 0.65, 0.7)
#: Used before the cap is chosen (measure selection) and by models stored before the cap was chosen.
CAP_FRACTION = 0.62
ALPHA = 0.05  # EMA smoothing factor per sample (about a 40-sample memory)
SLOPE_LAG = 20  # samples for the slope feature, and the first samples that make a unit's own starting level
RIDGE_GRID = (1.0, 10.0, 100.0)
#: Kernel widths, times 1/number of features (the Gaussian kernel exp(-gamma |x - x'|^2) of standardised features).
KERNEL_GRID = (1.0, 2.5)
#: Landmarks of the kernel's Nystroem map.
LANDMARKS = 600
#: Random Fourier features of models stored before the Nystroem map.
N_RANDOM = 600
#: Ensemble weights tried by cross-validation for the linear regression and the similarity estimate (the
#: kernel regression takes the rest).
ENSEMBLE_WEIGHTS = (0.0, 0.25, 0.5)
#: Most similar training units whose remaining lives are averaged; recent points compared.
SIMILAR_UNITS = 10
SIMILARITY_WINDOW = 60
#: Cut points per held-out unit for validation and calibration; they cover the last VALIDATION_SPAN of
#: the median life (where forecasts are used).
CUTS_PER_UNIT = 12
VALIDATION_SPAN = 0.7
#: Extra weight of late errors in the cross-validation loss (0: plain RMSE).
LATE_WEIGHT = 3.0
#: Ranges of predicted RUL with their own conformal quantiles.
RUL_RANGES = 4
#: Measures less correlated than this with the (capped) RUL are left out as uninformative.
MIN_CORRELATION = 0.2
#: Most operating regimes looked for (C-MAPSS FD002/FD004 have six).
MAX_REGIMES = 8
#: One more regime must cut the within-regime variance below this share of what it was to be kept.
REGIME_GAIN = 0.5
#: A measure takes discrete levels when at most MAX_REGIMES levels (split at its largest gaps) leave less than
#: this share of its variance; regimes are then the fewest that leave as little in most such measures.
LEVEL_SHARE = 1e-3
#: ... in at least this share of the measures with levels (a measure may also have levels of its own).
LEVEL_MEASURES = 0.9
SEED = 17


def _kmeans(x: np.ndarray, k: int, iters: int = 25, restarts: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """k-means from a farthest-point start and ``restarts`` seeded k-means++ starts (deterministic); the
    solution with the smallest within-cluster sum of squares is kept (one start can merge two regimes)."""
    rng = np.random.default_rng(SEED)
    best = None

    def nearest(centers: np.ndarray) -> np.ndarray:  # |x - c|^2 = |x|^2 - 2 x.c + |c|^2, |x|^2 the same for all c
        return np.argmin((centers**2).sum(1)[None, :] - 2.0 * x @ centers.T, axis=1)

    for start in range(restarts + 1):
        centers = [x[0] if start == 0 else x[rng.integers(len(x))]]
        dist = ((x - centers[0]) ** 2).sum(1)
        for _ in range(1, k):
            # the farthest point first, then k-means++ draws (probability proportional to squared distance)
            pick = int(np.argmax(dist)) if start == 0 else int(rng.choice(len(x), p=dist / dist.sum()))
            centers.append(x[pick])
            dist = np.minimum(dist, ((x - x[pick]) ** 2).sum(1))
        centers = np.array(centers)
        for _ in range(iters):
            labels = nearest(centers)
            counts = np.bincount(labels, minlength=k)
            sums = np.eye(k)[labels].T @ x
            new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
            if np.allclose(new, centers):
                break
            centers = new
        labels = nearest(centers)
        within = float(((x - centers[labels]) ** 2).sum())
        if best is None or within < best[0]:
            best = (within, centers, labels)
    return best[1], best[2]


def _ema(values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Causal exponential moving average down the rows, started at the first row:
    s_0 = v_0, s_i = s_i-1 + alpha (v_i - s_i-1) (a first-order recursive filter)."""
    return lfilter([alpha], [1.0, alpha - 1.0], values, axis=0, zi=(1.0 - alpha) * values[:1])[0]


class FleetModel:
    """Kernel regression and trajectory similarity of capped RUL on regime-normalised, smoothed measures,
    with cross-validated settings and conformal intervals per RUL range; see the module docstring."""

    def __init__(self):
        self.keep = None  # measure columns that vary (indices into the measures)
        self.use = None  # of those, the informative ones (indices into keep)
        self.regimes = None  # regime centers (in raw measure space), or None
        self.mu = None  # per regime (or one row): mean of the kept measures
        self.sd = None
        self.cap = None
        self.life = None  # median life (the age feature's scale)
        self.delta = None  # True: the change since a unit's first samples is a feature (None: stored before)
        self.coef = None
        self.feat_mu = None
        self.feat_sd = None
        self.gamma = None  # kernel width; None: a linear model (stored before the kernel)
        self.landmarks = None  # the Nystroem map's landmarks (standardised features); None: random features
        self._nystrom = None  # (gamma, K(landmarks, landmarks)^-1/2), computed when needed, not stored
        self._bank = None  # the training paths' windows for the similarity (built when needed, not stored)
        self.hi_coef = None  # health index = z @ hi_coef[:-1] + hi_coef[-1]
        self.curves = None  # smoothed health-index paths of the training units
        self.lin_coef = None  # the linear regression's coefficients
        self.weights = None  # ensemble weights: kernel regression, linear regression, similarity
        self.edges = None  # predicted-RUL range edges of the conformal quantiles
        self.range_quantiles = None  # per range: error quantiles at PROBS (true - predicted)
        self.rel_quantiles = None  # models stored before: relative error quantiles
        self.scale_offset = None
        self.cv_rmse = None

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
        raw = self._normalise(history[:, 1:])
        z = _ema(raw)
        if self.use is not None:  # models stored before measure selection use all
            raw, z = raw[:, self.use], z[:, self.use]
        lagged = np.vstack([np.repeat(z[:1], SLOPE_LAG, axis=0), z])[: len(z)]
        slope = (z - lagged) / SLOPE_LAG
        if not self.delta:
            return np.hstack([z, slope, z**2, t / (self.life or self.cap)])
        # The unit's own starting level: the mean of its first SLOPE_LAG samples (of those seen so far before).
        start = np.cumsum(raw, axis=0) / np.arange(1, len(raw) + 1)[:, None]
        start = start[np.minimum(np.arange(len(raw)), SLOPE_LAG - 1)]
        return np.hstack([z, z - start, slope, z**2, t / (self.life or self.cap)])

    def _design(self, x: np.ndarray, linear: bool = False) -> np.ndarray:
        """Standardised features, their kernel map (Nystroem; random Fourier features for models stored before;
        none if ``linear``) and an intercept column."""
        xs = (x - self.feat_mu) / self.feat_sd
        if linear or self.gamma is None:
            return np.hstack([xs, np.ones((len(xs), 1))])
        if self.landmarks is None:  # a model stored before the Nystroem map
            w, b = _random_features(xs.shape[1], self.gamma)
            return np.hstack([np.sqrt(2.0 / N_RANDOM) * np.cos(xs @ w + b), xs, np.ones((len(xs), 1))])
        if self._nystrom is None or self._nystrom[0] != self.gamma:
            values, vectors = np.linalg.eigh(np.exp(-self.gamma * _squared_distances(self.landmarks, self.landmarks)))
            values = np.maximum(values, 1e-8 * values[-1])
            self._nystrom = (self.gamma, vectors / np.sqrt(values))
        kernel = np.exp(-self.gamma * _squared_distances(xs, self.landmarks))
        return np.hstack([kernel @ self._nystrom[1], xs, np.ones((len(xs), 1))])

    def _health(self, history: np.ndarray) -> np.ndarray:
        """The fused health index along a history (1 new, 0 failed), from the unsmoothed measures."""
        z = self._normalise(history[:, 1:])[:, self.use]
        return z @ self.hi_coef[:-1] + self.hi_coef[-1]

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
        self._find_regimes(measures[:, self.keep])
        lives = np.array([h[-1, 0] - h[0, 0] for h in histories])
        self.life = float(np.median(lives))
        self.cap = CAP_FRACTION * self.life
        self.delta = True
        self._select_measures(histories)
        x = np.vstack([self._features(h) for h in histories])
        rul = np.concatenate([h[-1, 0] - h[:, 0] for h in histories])
        groups = np.concatenate([np.full(len(h), g) for g, h in enumerate(histories)])
        self.feat_mu, self.feat_sd = x.mean(0), x.std(0) + 1e-9
        self.landmarks = _spread((x - self.feat_mu) / self.feat_sd, LANDMARKS)
        caps = np.array([f * self.life for f in CAP_FRACTIONS])
        targets = np.minimum(rul[:, None], caps[None])
        folds = groups % 5
        cuts = _cut_points(histories, VALIDATION_SPAN * self.life)
        # Out-of-fold regression at every row, for every kernel width, penalty and cap.
        best, self.cv_log = None, []
        for g in KERNEL_GRID:
            self.gamma = g / x.shape[1]
            design = self._design(x)
            parts = [(folds == f, design[folds == f]) for f in range(5)]
            fold_grams = [(part.T @ part, part.T @ targets[held]) for held, part in parts]
            gram, rhs = sum(g_f for g_f, _r in fold_grams), sum(r_f for _g, r_f in fold_grams)
            for lam in RIDGE_GRID:
                oof = np.empty_like(targets)
                for (held, part), (g_f, r_f) in zip(parts, fold_grams, strict=True):
                    oof[held] = part @ _solve(gram - g_f, rhs - r_f, lam)
                oof = np.clip(oof, 0.0, caps[None])
                err = _loss(oof[cuts] - rul[cuts, None])
                j = int(np.argmin(err))
                self.cv_log.append((g, lam, [round(float(e), 2) for e in err]))
                if best is None or err[j] < best[0]:
                    best = (float(err[j]), g / x.shape[1], lam, j, oof[:, j].copy(), gram, rhs, self._nystrom)
        _err, self.gamma, lam, j, oof, gram, rhs, self._nystrom = best
        self.cap = float(caps[j])
        self.coef = _solve(gram, rhs[:, j], lam)
        # The linear regression (the model before the kernel), same cap, its penalty by cross-validation.
        linear = self._design(x, linear=True)
        lin_oof, lin_lam = _ridge_oof(linear, targets[:, j], folds, caps[j])
        self.lin_coef = _solve(linear.T @ linear, linear.T @ targets[:, j], lin_lam)
        # Trajectory similarity, out of fold at the cut points; the ensemble weights by cross-validation.
        similar = np.empty(cuts.size)
        starts = np.concatenate([[0], np.cumsum([len(h) for h in histories])])
        for f in range(5):
            train_units = [g for g in range(len(histories)) if g % 5 != f]
            self._fit_health([histories[g] for g in train_units])
            for i in np.flatnonzero(folds[cuts] == f):
                row = cuts[i]
                unit = int(groups[row])
                similar[i] = self._similar(histories[unit][: row - starts[unit] + 1])
        members = np.column_stack([oof[cuts], lin_oof[cuts], similar])
        grid = [(1 - a - b, a, b) for a in ENSEMBLE_WEIGHTS for b in ENSEMBLE_WEIGHTS if a + b <= 1]
        scores = [float(_loss(members @ np.array(w) - rul[cuts])) for w in grid]
        self.cv_log.append(
            ("weights kernel/linear/similarity", [(w, round(v, 2)) for w, v in zip(grid, scores, strict=True)])
        )
        k = int(np.argmin(scores))
        self.weights, self.cv_rmse = list(grid[k]), scores[k]
        self._fit_health(histories)
        self._calibrate(members @ np.array(self.weights), rul[cuts])
        return self

    def _fit_health(self, histories: list[np.ndarray]) -> None:
        """Health index: least squares of the normalised measures onto 1 - (capped) wear fraction, and the
        training units' smoothed paths of it."""
        z = np.vstack([self._normalise(h[:, 1:])[:, self.use] for h in histories])
        target = np.concatenate([np.minimum(h[-1, 0] - h[:, 0], self.cap) / self.cap for h in histories])
        design = np.hstack([z, np.ones((len(z), 1))])
        self.hi_coef = np.linalg.lstsq(design, target, rcond=None)[0]
        self.curves = [_two_way_ema(self._health(h)) for h in histories]
        self._bank = None

    def _windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every SIMILARITY_WINDOW-point window of the training paths long enough, padded per path: the windows
        (paths, offsets, points), their weighted sums of squares (inf where padded) and the remaining life
        (capped) after each; built once per set of paths."""
        if self._bank is None:
            n = SIMILARITY_WINDOW
            curves = [c for c in self.curves if c.size >= n]
            width = max((c.size - n + 1 for c in curves), default=1)
            windows = np.zeros((len(curves), width, n))
            remains = np.zeros((len(curves), width))
            valid = np.zeros((len(curves), width), dtype=bool)
            for i, curve in enumerate(curves):
                count = curve.size - n + 1
                windows[i, :count] = np.lib.stride_tricks.sliding_window_view(curve, n)
                remains[i, :count] = np.minimum(curve.size - n - np.arange(count), self.cap)
                valid[i, :count] = True
            squares = np.where(valid, (windows**2) @ _window_weights(n), np.inf)
            self._bank = (windows, squares, remains)
        return self._bank

    def _similar(self, history: np.ndarray) -> float:
        """Similarity estimate: the weighted mean remaining life (capped) of the SIMILAR_UNITS training paths
        whose best-matching stretch is closest to the unit's recent health index."""
        z = self._health(history)[-SIMILARITY_WINDOW:]
        n = z.size
        weights = _window_weights(n)
        if n == SIMILARITY_WINDOW:  # the usual case: every training path's windows at once
            windows, squares, remains = self._windows()
            d = squares - 2.0 * (windows @ (weights * z)) + float(weights @ z**2)
            end = np.argmin(d, axis=1)
            rows = np.arange(len(end))
            dist, remain = d[rows, end], remains[rows, end]
        else:
            dist, remain = [], []
            for curve in self.curves:
                if curve.size < n:
                    continue
                d = ((np.lib.stride_tricks.sliding_window_view(curve, n) - z) ** 2) @ weights
                end = int(np.argmin(d))
                dist.append(d[end])
                remain.append(min(curve.size - n - end, self.cap))
            dist, remain = np.asarray(dist), np.asarray(remain, dtype=float)
        if not dist.size:
            return self.cap
        best = np.argsort(dist)[:SIMILAR_UNITS]
        w = np.exp(-dist[best] / (2.0 * dist[best][0] + 1e-12))
        return float(np.sum(w * remain[best]) / w.sum())

    def _calibrate(self, pred: np.ndarray, true: np.ndarray) -> None:
        """Conformal quantiles of (true - predicted) per range of predicted RUL (equal-count ranges)."""
        pred = np.clip(pred, 0.0, self.cap)
        edges = np.quantile(pred, np.linspace(0, 1, RUL_RANGES + 1)[1:-1])
        self.edges = np.unique(edges)
        which = np.searchsorted(self.edges, pred)
        self.range_quantiles = np.array(
            [np.quantile((true - pred)[which == r], PROBS) for r in range(self.edges.size + 1)]
        )

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
        """Operating regimes: k-means on a sample for k = 2..MAX_REGIMES. When at least two measures take a
        few discrete levels (operating settings, and the measures they drive), the smallest k that explains
        those levels in LEVEL_MEASURES of them is kept (a degradation trend or one measure's own levels does
        not make a regime); else the smallest k that explains most of the variance (within-cluster share
        below 10%) and that one more cluster would not improve by half. Each regime is then standardised
        on its own."""
        sample = m[:: max(1, len(m) // 5000)]
        scaled = (sample - sample.mean(0)) / (sample.std(0) + 1e-12)
        total = float(((scaled - scaled.mean(0)) ** 2).sum())
        levelled = [j for j in range(scaled.shape[1]) if _has_levels(scaled[:, j])]
        shares, fits, explained = [], [], []
        for k in range(2, MAX_REGIMES + 2):
            centers, labels = _kmeans(scaled, k)
            residual = scaled - centers[labels]
            within = float((residual**2).sum())
            shares.append(within / total if total > 0 else 1.0)
            fits.append(labels)
            if len(levelled) >= 2:
                left = (residual[:, levelled] ** 2).sum(0) / (scaled[:, levelled] ** 2).sum(0)
                explained.append(float(np.mean(left < LEVEL_SHARE)))
        chosen = next((i for i, e in enumerate(explained[:-1]) if e >= LEVEL_MEASURES), None)
        for i in range(len(shares) - 1 if chosen is None else 0):
            if shares[i] < 0.1 and shares[i + 1] > REGIME_GAIN * shares[i]:
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
        x = self._features(history)[-1:]
        point = float(np.clip(self._design(x) @ self.coef, 0.0, self.cap)[0])
        what = "regression"
        if self.weights is not None:
            w_kernel, w_linear, w_similar = self.weights
            linear = float(np.clip(self._design(x, linear=True) @ self.lin_coef, 0.0, self.cap)[0])
            similar = self._similar(history) if w_similar > 0 else 0.0
            point = w_kernel * point + w_linear * linear + w_similar * similar
            parts = zip(("kernel regression", "linear regression", "trajectory similarity"), self.weights, strict=True)
            what = "ensemble of " + ", ".join(f"{name} {100 * w:.0f}%" for name, w in parts if w > 0)
        if self.range_quantiles is not None:
            errors = self.range_quantiles[int(np.searchsorted(self.edges, point))]
            quantiles = np.maximum.accumulate(np.clip(point + errors, 0, None))
            how = "conformal interval for this RUL range (out-of-fold errors)"
        else:  # a model stored before: errors relative to the predicted RUL
            quantiles = np.clip(point + self.rel_quantiles * (point + self.scale_offset), 0, None)
            quantiles = np.maximum.accumulate(quantiles)
            how = "interval from out-of-fold errors"
        lower, upper = np.interp([(1 - confidence) / 2, (1 + confidence) / 2], PROBS, quantiles)
        # The forecast itself, not the interval's median (see the module docstring); inside the interval.
        median = min(max(point, lower), upper) if self.delta else float(np.interp(0.5, PROBS, quantiles))
        reason = (
            f"fleet {what} over {len(self.keep)} measures"
            + (f" in {len(self.regimes)} operating regimes" if self.regimes is not None else "")
            + f", RUL capped at {self.cap:.0f}; {how}"
        )
        return RulResult(True, reason, "fleet", float(median), float(lower), float(upper), confidence, quantiles)

    # ---------------------------------------------------------------- storage
    _ARRAYS = ("keep", "use", "regimes", "mu", "sd", "coef", "lin_coef", "feat_mu", "feat_sd", "hi_coef", "edges")
    _ARRAYS += ("range_quantiles", "rel_quantiles", "landmarks")
    _NUMBERS = ("cap", "life", "gamma", "weights", "scale_offset", "cv_rmse", "delta")

    def to_dict(self) -> dict:
        def plain(v):
            return None if v is None else np.asarray(v).tolist()

        data = {key: plain(getattr(self, key)) for key in self._ARRAYS}
        data.update({key: getattr(self, key) for key in self._NUMBERS})
        data["curves"] = None if self.curves is None else [np.round(c, 5).tolist() for c in self.curves]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FleetModel:
        model = cls()
        for key, value in data.items():
            if key in cls._NUMBERS:
                setattr(model, key, value)
            elif key == "curves":
                model.curves = None if value is None else [np.asarray(c, dtype=float) for c in value]
            elif value is not None:
                setattr(model, key, np.asarray(value, dtype=int if key in ("keep", "use") else float))
        return model


def _loss(d: np.ndarray) -> np.ndarray:
    """Cross-validation loss of errors ``d`` = predicted - true (per column): the root mean square of the
    PHM08-weighted error, late errors costing more (a part ordered late is a stockout): the squared error
    times 1 + LATE_WEIGHT for late predictions."""
    return np.sqrt(np.mean(d**2 * np.where(d > 0, 1.0 + LATE_WEIGHT, 1.0), axis=0))


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j|^2 for every row i of ``a`` and j of ``b``."""
    return np.maximum((a**2).sum(1)[:, None] - 2.0 * a @ b.T + (b**2).sum(1)[None, :], 0.0)


def _spread(xs: np.ndarray, count: int, sample: int = 6000) -> np.ndarray:
    """``count`` rows of ``xs`` spread over its range: k-means++ seeding (each next row drawn with a
    probability proportional to its squared distance from those taken) on a seeded sample of ``sample`` rows."""
    rng = np.random.default_rng(SEED)
    pool = xs[rng.choice(len(xs), min(len(xs), sample), replace=False)]
    picked = [int(rng.integers(len(pool)))]
    dist = ((pool - pool[picked[0]]) ** 2).sum(1)
    for _ in range(1, min(count, len(pool))):
        if dist.sum() <= 0:
            break
        picked.append(int(rng.choice(len(pool), p=dist / dist.sum())))
        dist = np.minimum(dist, ((pool - pool[picked[-1]]) ** 2).sum(1))
    return pool[picked]


def _random_features(dim: int, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """The fixed random projection of the Gaussian kernel exp(-gamma |x - x'|^2) of models stored before the
    Nystroem map: regenerated from SEED, so a stored model keeps only gamma."""
    rng = np.random.default_rng(SEED)
    return rng.normal(0.0, np.sqrt(2.0 * gamma), (dim, N_RANDOM)), rng.uniform(0.0, 2 * np.pi, N_RANDOM)


def _ridge_oof(design: np.ndarray, target: np.ndarray, folds: np.ndarray, cap: float) -> tuple[np.ndarray, float]:
    """Out-of-fold predictions (clipped to [0, cap]) of ridge regression at the penalty of RIDGE_GRID with the
    smallest loss, and that penalty."""
    gram, rhs = design.T @ design, design.T @ target
    best = None
    for lam in RIDGE_GRID:
        oof = np.empty_like(target)
        for f in range(5):
            held = folds == f
            part = design[held]
            oof[held] = part @ _solve(gram - part.T @ part, rhs - part.T @ target[held], lam)
        oof = np.clip(oof, 0.0, cap)
        err = float(_loss(oof - target))
        if best is None or err < best[0]:
            best = (err, oof, lam)
    return best[1], best[2]


def _solve(gram: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    """Ridge solution from the Gram matrix, the intercept (last column) unpenalised."""
    penalty = lam * np.eye(gram.shape[0])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(gram + penalty, rhs)


def _cut_points(histories: list[np.ndarray], span: float) -> np.ndarray:
    """Row indices (into the stacked histories) of CUTS_PER_UNIT cut points per unit, evenly spread over the
    rows whose remaining life is at most ``span`` (where forecasts are used)."""
    rows, start = [], 0
    for h in histories:
        rul = h[-1, 0] - h[:, 0]
        near = np.flatnonzero(rul <= span)
        if near.size:
            pick = np.unique(np.linspace(0, near.size - 1, min(CUTS_PER_UNIT, near.size)).round().astype(int))
            rows.append(start + near[pick])
        start += len(h)
    return np.concatenate(rows)


def _window_weights(n: int) -> np.ndarray:
    """Weights of the points of an ``n``-point window in the similarity's distance: recent points count more."""
    weights = np.exp((np.arange(n) - n + 1) / max(n / 3.0, 1.0))
    return weights / weights.sum()


def _has_levels(values: np.ndarray) -> bool:
    """Whether a (standardised) measure takes a few discrete levels: split at its MAX_REGIMES - 1 largest gaps
    or fewer, the levels leave less than LEVEL_SHARE of its variance."""
    v = np.sort(values)
    total = float(((v - v.mean()) ** 2).sum())
    if total <= 0:
        return False
    gaps = np.argsort(-np.diff(v))
    for k in range(2, MAX_REGIMES + 1):
        parts = np.split(v, np.sort(gaps[: k - 1]) + 1)
        if sum(float(((p - p.mean()) ** 2).sum()) for p in parts) < LEVEL_SHARE * total:
            return True
    return False


def _two_way_ema(values: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """A zero-phase smoothing (forward then backward EMA) of a training path, known in full."""
    forward = _ema(values[:, None], alpha)[:, 0]
    return _ema(forward[::-1, None], alpha)[::-1, 0]
