"""Fleet mode on generated run-to-failure data: better than knowing only the average life."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from analytics import FleetModel

ROOT = Path(__file__).resolve().parents[2]


def fleet(seed: int, units: int, regimes: int = 1):
    """Histories from bench/gen_rul_data.py's simulator: (t, settings, measures) until failure."""
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_rul_data import simulate_unit

    rng = np.random.default_rng(seed)
    m = 10
    sens = rng.uniform(2, 8, m) * rng.choice([-1.0, 1.0], m)
    sens[-2:] = 0.0
    noise = rng.uniform(0.3, 1.5, m)
    noise[-1] = 0.0
    offsets = rng.normal(0, 20, (regimes, m))
    out = []
    for _ in range(units):
        t, settings, measures = simulate_unit(rng, m, regimes, sens, noise, offsets)
        out.append(np.column_stack([t, settings, measures]))
    return out


@pytest.mark.parametrize("regimes", [1, 3, 6])
def test_fleet_model_beats_the_mean_life_and_covers(regimes):
    train = fleet(1, 60, regimes)
    test = fleet(1, 110, regimes)[60:]  # same population, other units
    model = FleetModel().fit(train)
    assert (0 if model.regimes is None else len(model.regimes)) == (regimes if regimes > 1 else 0)
    mean_life = np.mean([h[-1, 0] for h in train])
    errors, naive, covered = [], [], 0
    rng = np.random.default_rng(5)
    for history in test:
        cut = int(len(history) * rng.uniform(0.5, 0.95))
        true = history[-1, 0] - history[cut - 1, 0]
        result = model.predict(history[:cut])
        assert result.ok and result.model == "fleet"
        errors.append(result.rul - true)
        naive.append(max(mean_life - history[cut - 1, 0], 0.0) - true)
        covered += result.lower <= true <= result.upper
    rmse, naive_rmse = np.sqrt(np.mean(np.square(errors))), np.sqrt(np.mean(np.square(naive)))
    assert rmse < 0.7 * naive_rmse, (rmse, naive_rmse)
    assert covered / len(test) >= 0.6


def test_fleet_model_round_trip_and_refusals():
    train = fleet(2, 20)
    model = FleetModel().fit(train)
    again = FleetModel.from_dict(model.to_dict())
    history = train[0][:100]
    assert again.predict(history).rul == pytest.approx(model.predict(history).rul)
    with pytest.raises(ValueError, match="at least 5"):
        FleetModel().fit(train[:3])
    assert not FleetModel().predict(history).ok
    assert not model.predict(np.full((5, history.shape[1]), np.nan)).ok


def test_backtest_script_prints_the_result_line(tmp_path):
    gen = [sys.executable, str(ROOT / "bench" / "gen_rul_data.py"), "--out", str(tmp_path)]
    subprocess.run([*gen, "--units-train", "30", "--units-test", "20"], check=True, capture_output=True)
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "rul_backtest.py"),
            *("--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")),
            *("--truth", str(tmp_path / "truth.csv")),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    last = out.splitlines()[-1].split()
    assert last[0] == "RESULT"
    fields = dict(item.split("=") for item in last[1:])
    assert set(fields) == {"rmse", "phm08_score", "coverage80", "mean_width80", "n"}
    assert fields["n"] == "20"


def test_cap_and_ensemble_are_chosen_by_cross_validation_and_intervals_follow_the_rul_range():
    train = fleet(4, 40)
    model = FleetModel().fit(train)
    life = np.median([h[-1, 0] - h[0, 0] for h in train])
    assert any(model.cap == pytest.approx(f * life) for f in (0.55, 0.6, 0.65, 0.7))
    assert model.weights is not None and sum(model.weights) == pytest.approx(1.0)
    assert model.cv_rmse is not None and model.cv_rmse < 0.5 * model.cap
    # Conformal per RUL range: a unit near its end gets a narrower interval than one with a long way to go.
    history = train[0]
    near = model.predict(history[: len(history) - 5])
    far = model.predict(history[: len(history) // 3])
    assert near.rul < far.rul
    assert (near.upper - near.lower) < (far.upper - far.lower)


def test_a_fleet_model_stored_before_the_kernel_still_predicts():
    """Asset models fitted by an earlier version keep forecasting until the weekly refit."""
    stored = {
        "keep": [0, 1],
        "use": [0, 1],
        "regimes": None,
        "mu": [[0.0, 0.0]],
        "sd": [[1.0, 1.0]],
        "cap": 100.0,
        "coef": [0.0] * 7 + [50.0],
        "feat_mu": [0.0] * 7,
        "feat_sd": [1.0] * 7,
        "rel_quantiles": list(np.linspace(-0.5, 0.5, 99)),
        "scale_offset": 10.0,
    }
    result = FleetModel.from_dict(stored).predict(np.column_stack([np.arange(30.0), np.ones(30), np.ones(30)]))
    assert result.ok and result.rul == pytest.approx(50.0, abs=1.0)
    assert result.lower < 50 < result.upper
