"""Pure ingest logic (no Odoo import): validation of reading batches."""

from .validate import (
    FUTURE_TOLERANCE_S,
    MAX_ABS_VALUE,
    MIN_EPOCH_S,
    ValidatedBatch,
    check_value,
    parse_timestamp,
    physical_range,
    validate_batch,
)

__all__ = [
    "FUTURE_TOLERANCE_S",
    "MAX_ABS_VALUE",
    "MIN_EPOCH_S",
    "ValidatedBatch",
    "check_value",
    "parse_timestamp",
    "physical_range",
    "validate_batch",
]
