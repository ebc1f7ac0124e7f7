"""Pooled demand of shared spare parts, net requirement, safety stock, EOQ, min/max and risk mode."""

import math

import numpy as np
import pytest
from mro_planning import (
    PooledDemand,
    bernoulli_sum_pmf,
    eoq,
    min_max,
    net_requirement,
    pmf_quantile,
    pooled_demand,
    risk_mode,
    safety_stock,
)

# Three pumps share a seal kit: failure within the lead time 10%, 30%, 50%; the second takes 2 kits.
P, QTY = [0.1, 0.3, 0.5], [1, 2, 1]
# Hand-computed distribution. Pumps 1 and 3 (1 kit each): P(0) = 0.9*0.5 = 0.45, P(1) = 0.1*0.5 + 0.9*0.5 = 0.5,
# P(2) = 0.1*0.5 = 0.05. Adding pump 2 (2 kits, 30%): P(0) = 0.45*0.7 = 0.315, P(1) = 0.5*0.7 = 0.35,
# P(2) = 0.05*0.7 + 0.45*0.3 = 0.17, P(3) = 0.5*0.3 = 0.15, P(4) = 0.05*0.3 = 0.015.
PMF = [0.315, 0.35, 0.17, 0.15, 0.015]


# ---------------------------------------------------------------- pooled demand
def test_pooled_demand_hand_computed():
    # mean = 0.1*1 + 0.3*2 + 0.5*1 = 1.2; variance = 0.1*0.9*1 + 0.3*0.7*4 + 0.5*0.5*1 = 0.09 + 0.84 + 0.25 = 1.18
    d = pooled_demand(P, QTY)
    assert d.mean == pytest.approx(1.2)
    assert d.variance == pytest.approx(1.18)
    assert d.std == pytest.approx(math.sqrt(1.18))
    assert d.n_assets == 3
    assert d.pmf == pytest.approx(PMF)


def test_exact_distribution_matches_monte_carlo():
    p = np.array([0.05, 0.2, 0.35, 0.6, 0.1, 0.9])
    qty = np.array([1, 2, 1, 3, 2, 1])
    pmf = bernoulli_sum_pmf(p, qty)
    assert pmf.size == qty.sum() + 1
    assert pmf.sum() == pytest.approx(1.0)
    rng = np.random.default_rng(42)
    n = 200_000
    draws = ((rng.random((n, p.size)) < p) * qty).sum(axis=1)
    freq = np.bincount(draws, minlength=pmf.size) / n
    assert np.max(np.abs(freq - pmf)) < 0.005  # one frequency's std is at most sqrt(0.25 / 200000) = 0.0011
    assert float(np.dot(np.arange(pmf.size), pmf)) == pytest.approx(float(np.dot(p, qty)))


def test_fractional_quantities_have_moments_but_no_exact_distribution():
    d = pooled_demand([0.5, 0.5], [1.5, 2])
    # mean = 0.75 + 1 = 1.75; variance = 0.25*2.25 + 0.25*4 = 1.5625
    assert (d.mean, d.variance, d.pmf) == (pytest.approx(1.75), pytest.approx(1.5625), None)
    with pytest.raises(ValueError, match="whole quantities"):
        bernoulli_sum_pmf([0.5], [1.5])


@pytest.mark.parametrize(
    ("p", "qty", "message"),
    [
        ([0.1, 0.2], [1], "one quantity per probability"),
        ([1.2], [1], "between 0 and 1"),
        ([float("nan")], [1], "between 0 and 1"),
        ([0.5], [-1], "quantities per replacement"),
    ],
)
def test_bad_pooled_inputs_are_refused(p, qty, message):
    with pytest.raises(ValueError, match=message):
        pooled_demand(p, qty)


def test_pmf_quantile_hand_computed():
    # cumulative: 0.315, 0.665, 0.835, 0.985, 1.0
    pmf = np.array(PMF)
    assert [pmf_quantile(pmf, s) for s in (0.315, 0.5, 0.8, 0.95, 0.99)] == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- net requirement
def test_net_requirement_hand_computed():
    # free = 4 on hand - 2 reserved + 1 incoming = 3; demand 5 -> order 2
    need = net_requirement(5, on_hand=4, reserved=2, incoming=1)
    assert (need.qty, need.free_stock, need.demand) == (2, 3.0, 5.0)
    assert net_requirement(5, on_hand=10, reserved=2, incoming=0).qty == 0  # enough: never negative
    assert net_requirement(2.2, 0, 0, 0).qty == 3  # 2.2 units -> 3 whole parts
    assert net_requirement(0.1 + 0.2 + 2.7, 0, 0, 0).qty == 3  # 3.0000000000000004 is 3, not 4


# ---------------------------------------------------------------- safety stock
def test_safety_stock_normal_poisson_exact_hand_computed():
    # normal: z(0.95) * 2 = 1.64485 * 2 = 3.28971
    assert safety_stock(4.0, 2.0, 0.95) == pytest.approx(3.28971, abs=1e-5)
    # Poisson(2) cumulative: 0.1353, 0.4060, 0.6767, 0.8571, 0.9473, 0.9834 -> 95% quantile 5 -> 5 - 2 = 3
    assert safety_stock(2.0, 0.0, 0.95, method="poisson") == 3.0
    # exact: 95% quantile of PMF is 3 -> 3 - 1.2 = 1.8
    assert safety_stock(1.2, 0.0, 0.95, method="exact", pmf=np.array(PMF)) == pytest.approx(1.8)


def test_safety_stock_is_never_negative_and_checks_its_inputs():
    assert safety_stock(4.0, 2.0, 0.5) == 0.0
    assert safety_stock(4.0, 2.0, 0.3) == 0.0
    assert safety_stock(0.0, 0.0, 0.99, method="poisson") == 0.0
    with pytest.raises(ValueError, match="service level"):
        safety_stock(4.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="needs the demand distribution"):
        safety_stock(4.0, 2.0, 0.9, method="exact")
    with pytest.raises(ValueError, match="unknown safety-stock method"):
        safety_stock(4.0, 2.0, 0.9, method="gamma")


# ---------------------------------------------------------------- EOQ
def test_eoq_hand_computed():
    # sqrt(2 * 100 * 50 / 4) = sqrt(2500) = 50
    assert eoq(100, 50, 4) == 50
    # sqrt(2 * 1000 * 25 / 2) = sqrt(25000) = 158.11 -> 159 whole units
    assert eoq(1000, 25, 2) == 159
    # sqrt(2 * 1 * 0.01 / 100) = 0.014 -> 1 whole unit; ordering for free: 0, but one unit when there is demand
    assert eoq(1, 0.01, 100) == 1
    assert eoq(100, 0, 4) == 1


def test_zero_demand_gives_zero_eoq_and_zero_min_max():
    assert eoq(0, 50, 4) == 0
    assert eoq(0, 50, 0) == 0  # no demand: the missing holding cost does not matter
    d = pooled_demand([0.0, 0.0], [1, 2])
    assert (d.mean, d.variance) == (0.0, 0.0)
    for method in ("auto", "normal", "poisson", "exact"):
        mm = min_max(d, 0.99, eoq(0, 50, 4), method=method)
        assert (mm.min_qty, mm.max_qty, mm.safety_stock) == (0, 0, 0.0)


def test_eoq_refuses_bad_costs():
    with pytest.raises(ValueError, match="holding cost"):
        eoq(100, 50, 0)
    with pytest.raises(ValueError, match=">= 0"):
        eoq(-5, 50, 4)


# ---------------------------------------------------------------- min / max
def test_min_max_exact_hand_computed():
    # exact 95% quantile 3 -> min 3 (safety stock 3 - 1.2 = 1.8); EOQ sqrt(2*12*50/4) = 17.32 -> 18; max 21
    mm = min_max(pooled_demand(P, QTY), 0.95, eoq(12, 50, 4))
    assert (mm.min_qty, mm.max_qty) == (3, 21)
    assert mm.safety_stock == pytest.approx(1.8)
    assert "exact distribution over 3 assets" in mm.reason
    assert mm.reason.startswith("min 3 = lead-time demand 1.20 + safety stock 1.80 (95.0% service")


def test_min_max_of_a_rare_demand_is_its_quantile():
    # P(one unit) = 0.3%: the 95% quantile is 0 units (rounding the mean 0.003 up would stock one); 10%: 1 unit
    assert min_max(pooled_demand([0.003], [1]), 0.95, 0).min_qty == 0
    assert min_max(pooled_demand([0.1], [1]), 0.95, 0).min_qty == 1
    # the normal approximation keeps its rounding: 0.003 + 1.645 x 0.0547 = 0.093 -> 1
    assert min_max(pooled_demand([0.003], [1]), 0.95, 0, method="normal").min_qty == 1


def test_exact_and_normal_differ_for_few_assets():
    # 80%: exact quantile 2 (cumulative 0.835); normal 1.2 + 0.84162 * 1.08628 = 2.114 -> 3
    d = pooled_demand(P, QTY)
    assert min_max(d, 0.8, 0).min_qty == 2
    assert min_max(d, 0.8, 0, method="normal").min_qty == 3


def test_min_max_normal_for_fractional_quantities():
    # mean 1.75, std 1.25: 1.75 + 1.64485 * 1.25 = 3.806 -> 4; max 4 + 5
    mm = min_max(pooled_demand([0.5, 0.5], [1.5, 2]), 0.95, 5)
    assert (mm.min_qty, mm.max_qty) == (4, 9)
    assert "normal" in mm.reason


def test_min_max_risk_factor_raises_the_buffer():
    # safety stock 1.8 x 1.5 = 2.7 -> min = ceil(1.2 + 2.7) = 4 instead of 3
    mm = min_max(pooled_demand(P, QTY), 0.95, 2, risk_factor=1.5)
    assert (mm.min_qty, mm.max_qty) == (4, 6)
    assert mm.safety_stock == pytest.approx(2.7)
    assert "risk mode: safety stock x1.5" in mm.reason


def test_min_max_checks_its_inputs():
    d = PooledDemand(1.0, 1.0, 1)
    with pytest.raises(ValueError, match="EOQ"):
        min_max(d, 0.9, -1)
    with pytest.raises(ValueError, match="risk factor"):
        min_max(d, 0.9, 1, risk_factor=0)


# ---------------------------------------------------------------- risk mode
def test_risk_mode_multiplies_buffers():
    assert risk_mode(2, 1.5) == 3.0
    assert risk_mode({"seal kit": 2.0, "bearing": 4.0}, 1.5) == {"seal kit": 3.0, "bearing": 6.0}
    assert np.array_equal(risk_mode([1.0, 2.0], 2), np.array([2.0, 4.0]))
    with pytest.raises(ValueError, match="positive"):
        risk_mode(2, 0)
