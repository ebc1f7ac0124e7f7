"""A fast decoder for the one XML-RPC call that carries bulk data: ``execute_kw(..., "ingest", [readings])``.

Python's ``xmlrpc.client.loads`` spends about 30 µs per reading in pure-Python callbacks, more
than everything else ingest does. This decoder recognises the regular shape of an ingest call
with compiled regular expressions (one match per reading) and returns exactly what
``xmlrpc.client.loads(data, use_datetime=True)[0]`` would. Anything outside that narrow shape
(another method, entities, nested structures, nil, CR characters, a non-UTF-8 encoding...)
makes it return ``None``, and the caller falls back to the standard decoder. It accepts a
subset of what the standard decoder accepts, never more: a body holding anything XML 1.0 forbids
(U+FFFE, U+FFFF, ``]]>`` in character data...) is left to the standard decoder, which refuses it.

The call is decoded in two steps, so that the server can authenticate the caller between them:
:func:`parse_ingest_head` (database, user, key, model, method: a few hundred bytes) and
:func:`parse_ingest_items` (the readings, never more than the batch limit).
"""

from __future__ import annotations

import re

# Character data without markup, entity references, CR (which XML normalises) or characters
# XML 1.0 forbids: what the standard parser would hand back unchanged.
_TEXT = rb"[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f]*"
_TYPED = rb"string|double|int|i4|i8|boolean"


def _scalar(n: int) -> bytes:
    # group t{n}: type tag (or None for an untyped value, which is a string); v{n}/u{n}: the text
    return (
        rb"<value>(?:<(?P<t%d>" % n
        + _TYPED
        + rb")>(?P<v%d>" % n
        + _TEXT
        + rb")</(?P=t%d)>|(?P<u%d>" % (n, n)
        + _TEXT
        + rb"))</value>"
    )


_WS = rb"[ \t\n]*"
#: An ``execute_kw`` call up to its fifth parameter (database, user, key, model, method).
_CALL = (
    rb"(?:<\?xml version=(?:'1\.0'|\"1\.0\")(?: encoding=(?:'(?i:utf-8)'|\"(?i:utf-8)\"))?\?>)?"
    + _WS
    + rb"<methodCall>"
    + _WS
    + rb"<methodName>execute_kw</methodName>"
    + _WS
    + rb"<params>"
    + b"".join(_WS + rb"<param>" + _WS + _scalar(i) + _WS + rb"</param>" for i in range(5))
)
_CALL_HEAD = re.compile(_CALL)
_HEAD = re.compile(_CALL + _WS + rb"<param>" + _WS + rb"<value><array><data>" + _WS + rb"<value><array><data>" + _WS)
_ITEM = re.compile(
    rb"<value><array><data>"
    + _WS
    + _scalar(0)
    + _WS
    + _scalar(1)
    + _WS
    + _scalar(2)
    + _WS
    + rb"</data></array></value>"
    + _WS
)
_TAIL = re.compile(
    rb"</data></array></value>"
    + _WS
    + rb"</data></array></value>"
    + _WS
    + rb"</param>"
    + rb"(?:"
    + _WS
    + rb"<param>"
    + _WS
    + rb"<value><struct>"
    + _WS
    + rb"</struct></value>"
    + _WS
    + rb"</param>)?"
    + _WS
    + rb"</params>"
    + _WS
    + rb"</methodCall>"
    + rb"[ \t\n]*\Z"
)

#: A reading exactly as ``xmlrpc.client`` (and so mro-bridge) writes it: a string code and two doubles, one
#: value per line. Every match is also an ``_ITEM`` match giving the same groups: a shortcut, not a wider
#: door (see parse_ingest_items).
_CANONICAL = re.compile(
    rb"<value><array><data>\n<value><string>("
    + _TEXT
    + rb")</string></value>\n<value><double>("
    + _TEXT
    + rb")</double></value>\n<value><double>("
    + _TEXT
    + rb")</double></value>\n</data></array></value>\n"
)
#: What XML 1.0 forbids and the character classes above let through: the non-characters U+FFFE and
#: U+FFFF (UTF-8 EF BF BE / EF BF BF), and "]]>" in character data. Any of them anywhere: not fast.
_FORBIDDEN = (b"]]>", b"\xef\xbf\xbe", b"\xef\xbf\xbf")


class _NotFast(Exception):
    pass


class TooManyReadings(Exception):
    """The call holds more readings than the limit; raised before any reading past it is decoded."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} readings")
        self.limit = limit


def _forbidden(data: bytes, start: int, end: int) -> bool:
    # A search for one byte is a memchr: "]" and 0xEF are rare in an ingest call, so the slower searches for
    # the sequences themselves run only when one of them is there.
    if data.find(b"]", start, end) != -1 and data.find(b"]]>", start, end) != -1:
        return True
    return data.find(b"\xef", start, end) != -1 and any(data.find(bad, start, end) != -1 for bad in _FORBIDDEN[1:])


def _convert(kind: bytes | None, text: bytes | None, untyped: bytes | None):
    if kind is None:
        return untyped.decode("utf-8")
    if kind == b"string":
        return text.decode("utf-8")
    if kind == b"double":
        return float(text)
    if kind == b"boolean":
        if text == b"1":
            return True
        if text == b"0":
            return False
        raise _NotFast
    return int(text)  # int, i4, i8


def _read_head(pattern: re.Pattern, data: bytes, method: str) -> tuple[list, int] | None:
    """``([db, uid, password, model, method], end)`` of a call whose head ``pattern`` matches, when it calls
    ``mro.sensor.reading``'s ``method``; ``end`` is the offset just after the match. ``None`` otherwise."""
    head = pattern.match(data)
    if head is None or _forbidden(data, 0, head.end()):
        return None
    try:
        params = [_convert(head[f"t{i}"], head[f"v{i}"], head[f"u{i}"]) for i in range(5)]
    except (_NotFast, ValueError, UnicodeDecodeError):
        return None
    if params[3] != "mro.sensor.reading" or params[4] != method:
        return None
    return params, head.end()


def parse_ingest_head(data: bytes) -> tuple[list, int] | None:
    """Decode the head of an ``execute_kw`` ingest call: ``([db, uid, password, model, method], end)``
    where ``end`` is the offset of the first reading, or ``None`` if the call is not fast-decodable
    (another model or method included)."""
    return _read_head(_HEAD, data, "ingest")


def parse_call_head(data: bytes, method: str) -> list | None:
    """``[db, uid, password, model, method]`` of an ``execute_kw`` call of ``mro.sensor.reading``'s ``method``
    (its first five parameters, as the standard decoder would return them), or ``None`` when the call is
    another one or its head is not in the fast decoder's shape. For a call whose body the server decodes
    with the standard decoder, but only once the caller is authenticated (the packed ingest)."""
    head = _read_head(_CALL_HEAD, data, method)
    return None if head is None else head[0]


def parse_ingest_items(data: bytes, pos: int, limit: int | None = None) -> tuple[list, bool] | None:
    """Decode the readings of an ingest call from offset ``pos`` (see :func:`parse_ingest_head`) to the
    end: ``(readings, empty_kwargs)``, ``empty_kwargs`` telling that the call ends with an empty
    keyword-arguments struct; ``None`` if not fast-decodable. Raises :class:`TooManyReadings` as soon
    as reading ``limit + 1`` is met, before decoding it."""
    if _forbidden(data, pos, len(data)):
        return None
    try:
        canonical = _parse_canonical(data, pos, limit)
    except (ValueError, UnicodeDecodeError):
        return None
    if canonical is not None:
        return canonical
    readings = []
    append = readings.append
    match = _ITEM.match
    try:
        item = match(data, pos)
        while item is not None:
            if limit is not None and len(readings) >= limit:
                raise TooManyReadings(limit)
            t0, v0, u0, t1, v1, u1, t2, v2, u2 = item.groups()
            append([_convert(t0, v0, u0), _convert(t1, v1, u1), _convert(t2, v2, u2)])
            pos = item.end()
            item = match(data, pos)
        if _TAIL.match(data, pos) is None:
            return None
    except (_NotFast, ValueError, UnicodeDecodeError):
        return None
    return readings, b"<struct>" in data[pos:]


def _canonical_reading(code: bytes, ts: bytes, value: bytes) -> list:
    return [code.decode("utf-8"), float(ts), float(value)]


def _parse_canonical(data: bytes, pos: int, limit: int | None) -> tuple[list, bool] | None:
    """The readings from ``pos`` when every one is written in the canonical form, each match starting where
    the last ended and the call's tail right after them; else None (the general loop then decodes them)."""
    readings = []
    append = readings.append
    expected = pos
    for item in _CANONICAL.finditer(data, pos):
        if item.start() != expected:
            return None  # something else lies between two readings
        if limit is not None and len(readings) >= limit:
            raise TooManyReadings(limit)
        append(_canonical_reading(*item.groups()))
        expected = item.end()
    if not readings or _TAIL.match(data, expected) is None:
        return None
    return readings, b"<struct>" in data[expected:]


def parse_ingest_call(data: bytes) -> tuple | None:
    """Return the ``params`` tuple of an ``execute_kw`` ingest call, or ``None`` if not fast-decodable.

    The tuple is ``(db, uid, password, model, method, [readings])``, the last being execute_kw's
    positional arguments (plus ``{}`` when the call
    sends empty keyword arguments), as the standard decoder returns it.
    """
    head = parse_ingest_head(data)
    if head is None:
        return None
    params, pos = head
    items = parse_ingest_items(data, pos)
    if items is None:
        return None
    readings, empty_kwargs = items
    params.append([readings])  # execute_kw positional args: [readings]
    if empty_kwargs:
        params.append({})
    return tuple(params)
