"""Pure ingest logic (no Odoo import): validation of reading batches."""

from .validate import (
    FUTURE_TOLERANCE_S,
    MIN_EPOCH_S,
    ValidatedBatch,
    parse_timestamp,
    validate_batch,
)

__all__ = ["FUTURE_TOLERANCE_S", "MIN_EPOCH_S", "ValidatedBatch", "parse_timestamp", "validate_batch"]
