"""Planning math for just-in-time spare parts (numpy/scipy only, no Odoo import): lead-time statistics per
vendor, order-by dates against the predicted failure, pooled demand, safety stock, EOQ, min/max, risk mode.
Times in days, quantities in units, costs in the company currency."""

from .leadtime import LeadTimeStats, lead_time_stats, variance_score
from .workdays import pull_forward, shipping_delay
from .orderby import (
    PROBS,
    RISK_BY_CRITICALITY,
    OrderBy,
    DEADLINE_RISK,
    OrderByDate,
    check_rul_quantiles,
    deadline_arrival,
    late_probability,
    lognormal_quantiles,
    order_by_date,
    order_by_offset,
    rul_cdf,
)
from .demand import (
    MinMax,
    NetRequirement,
    PooledDemand,
    bernoulli_sum_pmf,
    eoq,
    min_max,
    net_requirement,
    pmf_quantile,
    pooled_demand,
    safety_stock,
)
from .riskmode import risk_mode

__all__ = [
    "DEADLINE_RISK",
    "PROBS",
    "RISK_BY_CRITICALITY",
    "LeadTimeStats",
    "MinMax",
    "NetRequirement",
    "OrderBy",
    "OrderByDate",
    "PooledDemand",
    "bernoulli_sum_pmf",
    "check_rul_quantiles",
    "deadline_arrival",
    "eoq",
    "late_probability",
    "lead_time_stats",
    "lognormal_quantiles",
    "min_max",
    "net_requirement",
    "order_by_date",
    "order_by_offset",
    "pmf_quantile",
    "pooled_demand",
    "pull_forward",
    "risk_mode",
    "rul_cdf",
    "safety_stock",
    "shipping_delay",
    "variance_score",
]
