"""The records decoder accepts a body only where the general path does, with the same matrix."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contract.input_matrix import to_matrix
from app.contract.predict import PredictRequest
from app.contract.records_decoder import RecordsDecoder, records_decoder
from app.http.errors import ApiError
from app.http.request_body import parse_body
from app.model_contract import InputColumn

# Names a struct field could not carry, an optional column, an integer one, narrow bounds.
COLUMNS = [
    InputColumn("mean radius", "number", low=-1e6, high=1e6),
    InputColumn("class", "number", required=False),
    InputColumn("n", "integer", low=0, high=100),
    InputColumn("rows", "number"),
    InputColumn("é", "number", required=False),
]
NAMES = [c.name for c in COLUMNS]
DECODER = RecordsDecoder(COLUMNS)

# Values a client can send: numbers of every JSON shape, and the non-numbers that are refused.
NUMBERS = st.one_of(
    st.floats(-2e6, 2e6),
    st.integers(-200, 200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 3.4028235e38, 99.5, 100]),
)
NON_NUMBERS = st.one_of(st.booleans(), st.none(), st.text(max_size=3), st.just([1.0]), st.just({}))
VALUES = st.one_of(NUMBERS, NON_NUMBERS)
KEYS = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES), st.sampled_from(["x", "Rows"]))


@st.composite
def _row(draw: st.DrawFn) -> dict[str, object]:
    """A row with every required column as a number, then at most one thing wrong with it."""
    row: dict[str, object] = {
        "mean radius": draw(NUMBERS),
        "n": draw(st.one_of(st.integers(-5, 105), NUMBERS)),
        "rows": draw(NUMBERS),
    }
    for optional in ("class", "é"):
        if draw(st.booleans()):
            row[optional] = draw(NUMBERS)
    flaw = draw(st.sampled_from(["none", "none", "none", "missing", "unknown", "value", "any"]))
    if flaw == "missing":
        del row[draw(st.sampled_from(["mean radius", "n", "rows"]))]
    elif flaw == "unknown":
        row[draw(st.sampled_from(["x", "Rows", ""]))] = draw(NUMBERS)
    elif flaw == "value":
        row[draw(st.sampled_from(NAMES))] = draw(NON_NUMBERS)
    elif flaw == "any":
        return draw(st.dictionaries(KEYS, VALUES, max_size=6))
    return row


ROWS = st.lists(_row(), max_size=4)

# Text the JSON encoder above never writes: special literals, out-of-range numbers,
# duplicate keys, other layouts and trailing bytes.
RAW_VALUES = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1E2", "-0"])


def _outcome(body: bytes, *, fast: bool) -> tuple[str, object]:
    try:
        if fast:
            matrix = DECODER.decode(body)
            if matrix is None:
                return "declined", None
            request = PredictRequest.from_matrix(matrix)
        else:
            request = parse_body(PredictRequest, body)
        matrix = to_matrix(request, COLUMNS, "reject")
        return "matrix", matrix
    except ApiError as exc:
        return "refused", (exc.status, exc.code, [(d.field, d.message) for d in exc.details])


def _same(body: bytes) -> str:
    general_kind, general = _outcome(body, fast=False)
    kind, fast = _outcome(body, fast=True)
    if kind == "declined":
        return kind
    assert kind == general_kind, (body, general, fast)
    if kind == "matrix":
        np.testing.assert_array_equal(fast, general)  # NaN in the same places, same bits
        assert np.array_equal(np.signbit(fast), np.signbit(general))
    else:
        assert fast == general
    return kind


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=ROWS)
def test_generated_records_give_the_same_matrix_or_the_same_refusal(rows):
    _same(json.dumps({"rows": rows}).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=RAW_VALUES, column=st.sampled_from(NAMES), layout=st.integers(0, 4))
def test_text_the_encoder_never_writes_is_declined_or_agrees(raw, column, layout):
    others = ", ".join(f'"{n}": 1' for n in NAMES if n != column)
    bodies = [
        f'{{"rows": [{{{others}, "{column}": {raw}}}]}}',
        f'{{"rows": [{{{others}, "{column}": 2, "{column}": {raw}}}]}}',  # duplicate key
        f'{{"rows": [{{{others}, "{column}": 3}}], "columns": ["x"]}}',
        f'{{"rows": [{{{others}, "{column}": 4}}]}} trailing',
        f'{{"columns": ["{column}"], "data": [[{raw}]]}}',
    ]
    _same(bodies[layout].encode())


def test_well_formed_bodies_take_the_decoder():
    row = {"mean radius": 14.5, "class": 1, "n": 3, "rows": -2.25, "é": 0.5}
    body = json.dumps({"rows": [row, {k: v for k, v in row.items() if k != "class"}]})
    assert _same(body.encode()) == "matrix"
    matrix = DECODER.decode(body.encode())
    assert matrix is not None and matrix.shape == (2, 5)
    assert matrix[0].tolist() == [14.5, 1.0, 3.0, -2.25, 0.5] and np.isnan(matrix[1, 1])
    assert DECODER.decode(b'{"rows": []}').shape == (0, 5)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "row",
    [
        {"mean radius": 1, "n": 2},  # a required column missing
        {"mean radius": 1, "n": 2, "rows": 3, "x": 4},  # an unknown column
        {"mean radius": True, "n": 2, "rows": 3},  # a boolean is not a number
        {"mean radius": "1", "n": 2, "rows": 3},  # nor is a numeric string
    ],
)
def test_bodies_the_general_path_refuses_are_declined(row):
    body = json.dumps({"rows": [row]}).encode()
    assert DECODER.decode(body) is None
    assert _outcome(body, fast=False)[0] == "refused"


def test_out_of_bounds_values_get_the_same_refusal_on_both_paths():
    body = json.dumps({"rows": [{"mean radius": 2e6, "n": 101, "rows": 0}]}).encode()
    assert _same(body) == "refused"


def test_a_wider_signature_still_decodes():
    columns = [replace(COLUMNS[0], name=f"f{i}") for i in range(500)]
    body = json.dumps({"rows": [{f"f{i}": float(i) for i in range(500)}]}).encode()
    matrix = RecordsDecoder(columns).decode(body)
    assert matrix is not None and matrix[0].tolist() == [float(i) for i in range(500)]


@pytest.mark.parametrize(
    "body",
    [
        b'{"rows": [{"mean radius": 1, "n": 2, "rows": 3, "b\xff": 1}]}',
        b'{"ro\xffws": [{"mean radius": 1, "n": 2, "rows": 3}]}',
        b'{"rows": [{"mean radius": 1, "n": 2, "rows": 3}], "x\xed\xa0\x80": 1}',
    ],
)
def test_invalid_utf8_in_a_key_is_declined_and_the_general_path_answers_400(body):
    assert DECODER.decode(body) is None
    assert _outcome(body, fast=False)[1][:2] == (400, "invalid_json")  # type: ignore[index]


def test_a_column_name_msgspec_cannot_carry_leaves_the_model_on_the_general_path():
    quoted = [InputColumn('radius "mean"', "number"), InputColumn("back\\slash", "number")]
    assert records_decoder(quoted) is None
    assert records_decoder(COLUMNS) is not None
