"""Fleet mode on generated run-to-failure data: better than knowing only the average life."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mro_analytics import FleetModel

ROOT = Path(__file__).resolve().parents[2]


def fleet(seed: int, units: int, regimes: int = 1):
    """Histories from bench/gen_rul_data.py's simulator: (t, settings, measures) until failure."""
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


def close_regimes(seed: int, units: int):
    """Run-to-failure histories in six operating conditions (three setting columns, as in C-MAPSS FD002), two
    of which drive the measures almost alike (35 and 42 kft at the same Mach number); a last measure barely
    moves. Columns: t, three settings, four measures."""
    rng = np.random.default_rng(seed)
    settings = np.array(
        [[0, 0, 100], [10, 0.25, 100], [20, 0.7, 100], [25, 0.62, 60], [35, 0.84, 100], [42, 0.84, 100]]
    )
    offsets = rng.normal(0, 20, (6, 4))
    offsets[5] = offsets[4] + rng.normal(0, 1.0, 4)
    out = []
    for _ in range(units):
        life = int(rng.integers(150, 300))
        t = np.arange(life, dtype=float)
        regime = rng.integers(0, 6, life)
        damage = np.exp(4 * (t / life - 1))
        measures = 100 + offsets[regime] + damage[:, None] * [3.0, -2.0, 4.0, 0.0] + rng.normal(0, 0.5, (life, 4))
        out.append(np.column_stack([t, settings[regime] + rng.normal(0, 0.002, (life, 3)), measures]))
    return out


@pytest.fixture(scope="module")
def six_conditions():
    train = close_regimes(3, 30)
    return train, FleetModel().fit(train)


def test_six_operating_conditions_are_found_even_when_two_drive_the_measures_alike(six_conditions):
    """The settings take six discrete levels: six regimes, each standardised on its own (the variance alone
    merged the two close conditions into five)."""
    _train, model = six_conditions
    assert model.regimes is not None and len(model.regimes) == 6


def test_a_healthy_looking_unit_is_not_forecast_later_than_the_regression_says(six_conditions):
    """Early in life every unit looks healthy and the regression says "the cap"; the interval's median there
    is pulled up by the training lives far past the cap, and a forecast on it would come late."""
    train, model = six_conditions
    for history in train[:10]:
        young = model.predict(history[:40])
        assert young.ok and young.rul <= model.cap + 1e-9, (young.rul, model.cap)
        assert young.lower <= young.rul <= young.upper
    near = model.predict(train[1][: len(train[1]) - 10])
    assert near.rul < 0.6 * model.cap


def test_a_fleet_model_stored_with_random_features_still_predicts():
    """Asset models fitted before the Nystroem map and the units' own starting level keep forecasting."""
    n_features = 2 * 3 + 1  # two measures: smoothed, slope, square; the age
    stored = {
        "keep": [0, 1],
        "use": [0, 1],
        "regimes": None,
        "mu": [[0.0, 0.0]],
        "sd": [[1.0, 1.0]],
        "cap": 100.0,
        "life": 150.0,
        "gamma": 0.5,
        "coef": [0.0] * (600 + n_features) + [60.0],
        "feat_mu": [0.0] * n_features,
        "feat_sd": [1.0] * n_features,
        "edges": [50.0],
        "range_quantiles": [list(np.linspace(-20, 20, 99))] * 2,
    }
    result = FleetModel.from_dict(stored).predict(np.column_stack([np.arange(30.0), np.ones(30), np.ones(30)]))
    assert result.ok and result.lower < result.rul < result.upper
    assert result.rul == pytest.approx(60.0, abs=1.0)  # the interval's median, as then
