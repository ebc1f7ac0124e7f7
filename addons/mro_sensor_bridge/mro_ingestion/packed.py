"""The packed form of an ingest batch: three binary columns instead of one XML element per value.

A batch of readings written as ``[code, time, value]`` items costs about 170 bytes of XML per reading, and
an element to parse for each part of it. The packed form carries the same readings as::

    {"codes": ["P1-VIB", "P1-TMP", ...],   # each sensor code once
     "sensor": <uint32 little-endian>,       # per reading, the index of its code in "codes"
     "time": <float64 little-endian>,        # per reading, epoch seconds (UTC)
     "value": <float64 little-endian>}       # per reading, the value

each column as XML-RPC ``base64`` (or base64 text, over JSON-RPC): 20 bytes a reading before base64, 27 on
the wire. :func:`unpack_columns` turns it back into the codes and three arrays, which go through the same
validation as the list form, a column at a time when every reading passes (``validate_clean_columns``),
item by item otherwise (a reading's index in the answer is its position in the columns). A batch that is
not well formed (a missing or undecodable column, columns of different lengths, an index beyond ``codes``,
more readings than the limit) is refused whole with :class:`PackedError`.
"""

from __future__ import annotations

import array
import base64
import binascii
import sys

#: An array type code of 4-byte unsigned integers (``I`` on every platform Odoo runs on).
_UINT32 = next(code for code in "IL" if array.array(code).itemsize == 4)
_COLUMNS = (("sensor", _UINT32), ("time", "d"), ("value", "d"))


class PackedError(ValueError):
    """The packed batch is not well formed (nothing of it is stored)."""


def _column_bytes(raw, name: str) -> bytes:
    """The bytes of column ``name``: XML-RPC base64 (an object with ``data``), bytes, or base64 text."""
    if hasattr(raw, "data"):  # xmlrpc.client.Binary
        raw = raw.data
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    if isinstance(raw, str):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise PackedError(f'column "{name}" is not valid base64') from None
    raise PackedError(f'column "{name}" is missing or not binary')


def unpack_columns(batch, limit: int) -> tuple[list[str], array.array, array.array, array.array]:
    """The columns of a packed ``batch``: ``(codes, index of each reading's code, times, values)``, at most
    ``limit`` readings; raise :class:`PackedError` when it is not well formed."""
    if not isinstance(batch, dict):
        raise PackedError("a packed batch is a dict of codes, sensor, time and value")
    codes = batch.get("codes")
    if not isinstance(codes, (list, tuple)) or not all(isinstance(code, str) for code in codes):
        raise PackedError('"codes" must be a list of sensor codes (text)')
    raws = [_column_bytes(batch.get(name), name) for name, _ in _COLUMNS]
    sizes = [array.array(code).itemsize for _, code in _COLUMNS]
    counts = {len(raw) // size for raw, size in zip(raws, sizes, strict=True)}
    if len(counts) != 1 or any(len(raw) % size for raw, size in zip(raws, sizes, strict=True)):
        raise PackedError("the columns sensor, time and value must hold the same number of readings")
    count = counts.pop()
    if count > limit:
        raise PackedError(f"at most {limit} readings per call, got {count}; split the batch")
    columns = []
    for raw, (_, code) in zip(raws, _COLUMNS, strict=True):
        column = array.array(code)
        column.frombytes(raw)
        if sys.byteorder != "little":
            column.byteswap()
        columns.append(column)
    sensors, times, values = columns
    if sensors and max(sensors) >= len(codes):
        raise PackedError(f"a sensor index is beyond the {len(codes)} codes given")
    return list(codes), sensors, times, values
