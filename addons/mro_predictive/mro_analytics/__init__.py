"""The analytics engine (numpy/scipy only, no Odoo import): baselines, data quality, anomalies,
remaining useful life with an interval, equipment health, and Weibull failure-history models."""

from .assess import EquipmentAssessment, SensorAssessment, SensorInput, assess_equipment, assess_sensor
from .baseline import Baseline, learn_baseline, population_baseline, shrink_baseline
from .fleet import FleetModel
from .onset import OnsetPrior, learn_onset_prior, onset_to_failure
from .quality import Quality, check_quality
from .series import daily_before_recent
from .rul import PROBS, RulResult, estimate_rul, learn_exponential_prior, no_prediction
from .weibull import WeibullFit, fit_weibull, weibull_p_fail_within, weibull_rul

__all__ = [
    "PROBS",
    "Baseline",
    "EquipmentAssessment",
    "FleetModel",
    "OnsetPrior",
    "Quality",
    "RulResult",
    "SensorAssessment",
    "SensorInput",
    "WeibullFit",
    "assess_equipment",
    "assess_sensor",
    "check_quality",
    "daily_before_recent",
    "estimate_rul",
    "fit_weibull",
    "learn_baseline",
    "learn_exponential_prior",
    "learn_onset_prior",
    "no_prediction",
    "onset_to_failure",
    "population_baseline",
    "shrink_baseline",
    "weibull_p_fail_within",
    "weibull_rul",
]
