"""The fast ingest decoder returns exactly what the standard XML-RPC decoder returns, or steps aside."""

import math
import xmlrpc.client
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mro_ingestion.fast_xmlrpc import (
    TooManyReadings,
    _parse_canonical,
    parse_call_head,
    parse_ingest_call,
    parse_ingest_head,
    parse_ingest_items,
)

HEAD = ("mro", 2, "secret-key", "mro.sensor.reading", "ingest")


def encode(params, allow_none=False) -> bytes:
    return xmlrpc.client.dumps(params, methodname="execute_kw", allow_none=allow_none).encode()


def standard(data: bytes):
    return xmlrpc.client.loads(data, use_datetime=True)[0]


def same(a, b) -> bool:
    """Equality where NaN equals NaN and types must match (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


# What XML 1.0 forbids in character data besides markup: U+FFFE, U+FFFF and "]]>" (a standard decoder refuses a
# body holding them; the fast one must step aside, never return something).
forbidden_text = st.lists(
    st.sampled_from(["a", "]", "]]", ">", "]]>", "\ufffe", "\uffff", "\ufffd", "\ud7ff", "\ue000", "\U0010ffff", "é"]),
    max_size=6,
).map("".join)
scalars = st.one_of(
    st.text(max_size=12),
    forbidden_text,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),  # what the stdlib client can send
    st.booleans(),
    st.none(),
    st.datetimes(min_value=datetime(1900, 1, 1)),
)
items = st.one_of(
    st.lists(scalars, min_size=3, max_size=3),
    st.lists(scalars, max_size=4),
    scalars,
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
)


def check_subset(data: bytes) -> None:
    """The fast decoder steps aside or returns exactly what the standard one returns; never more."""
    fast = parse_ingest_call(data)
    try:
        expected = standard(data)
    except Exception:  # the standard decoder refuses the body: so must the fast one
        assert fast is None, f"the fast decoder accepted what the standard one refuses: {data[:300]!r}"
        return
    if fast is not None:
        assert same(fast, expected)


@settings(max_examples=600, deadline=None)
@given(
    readings=st.lists(items, max_size=8),
    kwargs=st.sampled_from([None, {}, {"context": {"tz": "UTC"}}]),
    raw_gt=st.booleans(),
)
def test_matches_the_standard_decoder_or_steps_aside(readings, kwargs, raw_gt):
    params = (*HEAD, [readings]) + (() if kwargs is None else (kwargs,))
    data = encode(params, allow_none=True)
    if raw_gt:  # ">" written as it is (valid XML, but "]]>" is not), as other clients than Python's write it
        data = data.replace(b"&gt;", b">")
    check_subset(data)


@pytest.mark.parametrize("text", ["\ufffe", "\uffff", "a]]>b", "]]>"])
def test_what_xml_forbids_is_left_to_the_standard_decoder(text):
    data = encode((*HEAD, [[["P1", 1.0, 1.0], [text, 2.0, 2.0]]])).replace(b"&gt;", b">")
    with pytest.raises(Exception):  # noqa: B017 - expat's error, whatever its class
        standard(data)
    assert parse_ingest_call(data) is None


# Text a bridge sends: no markup characters, no control characters.
plain_text = st.text(alphabet=st.characters(blacklist_characters="&<>\r", blacklist_categories=["Cs", "Cc"]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            plain_text,
            st.one_of(st.floats(allow_nan=False), st.integers(0, 2**31 - 1), plain_text),
            st.one_of(st.floats(), st.integers(-(2**31), 2**31 - 1)),
        ).map(list),
        max_size=50,
    )
)
def test_plain_ingest_batches_take_the_fast_path(readings):
    data = encode((*HEAD, [readings]))
    fast = parse_ingest_call(data)
    assert fast is not None
    assert same(fast, standard(data))


def test_other_calls_are_left_to_the_standard_decoder():
    assert parse_ingest_call(encode(("db", 2, "pw", "mro.sensor", "search_read", [[]]))) is None
    assert parse_ingest_call(encode(("db", 2, "pw", "mro.sensor.reading", "ingest", ["P1"]))) is None
    assert parse_ingest_call(xmlrpc.client.dumps(("x",), methodname="version").encode()) is None
    assert parse_ingest_call(b"not xml at all") is None


def test_the_head_of_a_packed_call_is_read_as_the_standard_decoder_reads_it():
    batch = {"codes": ["P1"], "sensor": xmlrpc.client.Binary(b"\0" * 4), "time": xmlrpc.client.Binary(b"\0" * 8)}
    data = encode(("mro", 2, "secret-key", "mro.sensor.reading", "ingest_packed", [batch]))
    assert parse_call_head(data, "ingest_packed") == list(standard(data)[:5])
    assert parse_call_head(data, "ingest") is None  # another method
    assert parse_call_head(encode(("mro", 2, "k", "mro.sensor", "ingest_packed", [batch])), "ingest_packed") is None
    assert parse_call_head(b"not xml at all", "ingest_packed") is None
    # A head outside the fast shape (here an entity in the key) is not read: the caller is not authenticated.
    odd = data.replace(b"secret-key", b"secret&amp;key")
    assert parse_call_head(odd, "ingest_packed") is None


def test_hand_written_xml_variants():
    body = (
        "<methodCall><methodName>execute_kw</methodName><params>"
        "<param><value>mro</value></param><param><value><i4>7</i4></value></param>"
        "<param><value><string>k</string></value></param><param><value>mro.sensor.reading</value></param>"
        "<param><value>ingest</value></param>"
        "<param><value><array><data><value><array><data>"
        "<value><array><data><value>A</value><value><i8> 1700000000 </i8></value>"
        "<value><boolean>1</boolean></value></data></array></value>"
        "<value><array><data>\n\t<value><string>é</string></value>\n<value><string>2024-01-01T00:00:00Z</string>"
        "</value>\n<value><double>-1.5e3</double></value>\n</data></array></value>"
        "</data></array></value></data></array></value></param>"
        "</params></methodCall>\n"
    ).encode()
    fast = parse_ingest_call(body)
    assert fast == standard(body)
    assert fast[5] == [[["A", 1700000000, True], ["é", "2024-01-01T00:00:00Z", -1500.0]]]
    declared = b"<?xml version='1.0' encoding='UTF-8'?>\n" + body
    assert parse_ingest_call(declared) == standard(declared)
    latin = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n" + body.replace("é".encode(), b"e")
    assert parse_ingest_call(latin) is None  # other encodings: standard decoder
    assert parse_ingest_call(body.replace(b"<boolean>1</boolean>", b"<boolean>2</boolean>")) is None
    assert parse_ingest_call(body.replace(b"<value>A</value>", b"<value>A&amp;B</value>")) is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(forbidden_text, plain_text),
            st.one_of(st.floats(allow_nan=False), forbidden_text),
            st.floats(),
        ).map(list),
        min_size=1,
        max_size=20,
    ),
    st.booleans(),
)
def test_ingest_batches_with_what_xml_forbids_are_left_to_the_standard_decoder(readings, raw_gt):
    data = encode((*HEAD, [readings]))
    check_subset(data.replace(b"&gt;", b">") if raw_gt else data)


# ---------------------------------------------------------------------- the canonical shortcut
def canonical_body(readings) -> bytes:
    return encode((*HEAD, [readings]))


def test_the_bridges_calls_take_the_canonical_shortcut():
    readings = [["P1-VIB", 1_700_000_000.5, 2.25], ["P 2", 1.0, -0.0], ["é", 1e300, 5e-324]]
    data = canonical_body(readings)
    params, pos = parse_ingest_head(data)
    shortcut = _parse_canonical(data, pos, None)
    assert shortcut is not None and same(shortcut[0], readings)
    assert same(parse_ingest_call(data), standard(data))


def test_a_reading_outside_the_canonical_form_takes_the_general_loop():
    data = canonical_body([["A", 1.0, 2.0], ["B", 3, 4.0], ["C", 5.0, 6.0]])  # an <int> time in the middle
    params, pos = parse_ingest_head(data)
    assert _parse_canonical(data, pos, None) is None
    assert same(parse_ingest_call(data), standard(data))


def test_readings_spliced_outside_the_readings_array_are_not_taken_as_readings():
    # The readings array closed after the first reading, the next ones as further arguments of execute_kw:
    # canonical items that tile the body but for one closing tag. The standard decoder sees four arguments.
    one = canonical_body([["A", 1.0, 2.0], ["B", 3.0, 4.0], ["C", 5.0, 6.0]])
    close = b"</data></array></value>\n"
    first = one.index(b"<value><array><data>\n<value><string>B")
    spliced = one[:first] + close + one[first:].replace(close + close, close, 1)
    expected = standard(spliced)
    assert same(expected[5], [[["A", 1.0, 2.0]], ["B", 3.0, 4.0], ["C", 5.0, 6.0]])  # execute_kw's args
    params, pos = parse_ingest_head(spliced)
    assert _parse_canonical(spliced, pos, None) is None
    check_subset(spliced)


def test_the_canonical_shortcut_stops_at_the_limit():
    data = canonical_body([["A", float(i), 1.0] for i in range(5)])
    params, pos = parse_ingest_head(data)
    assert len(parse_ingest_items(data, pos, limit=5)[0]) == 5
    with pytest.raises(TooManyReadings):
        parse_ingest_items(data, pos, limit=4)
