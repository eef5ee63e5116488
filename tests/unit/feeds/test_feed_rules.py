"""The pure feed rules: the signature scheme (with the documented worked example), the timestamp
window, record parsing and outcomes — hypothesis properties where a rule is a property."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta

from hypothesis import given, strategies as st

from backend.identity import compute_check_digit, compute_uscc_check_char
from points_rules import feeds as rules

TODAY = date(2026, 12, 3)
MAPPINGS = {"listed": rules.Mapping("JUDGMENT-DEFAULTER"), "arrears": rules.Mapping("WAGE-ARREARS", "up_to_2_months")}


def _id(first17: str = "62070219800101123") -> str:
    return first17 + compute_check_digit(first17)


def _norm_id(raw: str) -> str | None:
    raw = raw.strip().upper()
    return raw if len(raw) == 18 and compute_check_digit(raw[:17]) == raw[17] else None


def _norm_uscc(raw: str) -> str | None:
    return raw if len(raw) == 18 and compute_uscc_check_char(raw[:17]) == raw[17] else None


def parse(raw):
    return rules.parse_record(raw, MAPPINGS, TODAY, normalise_id=_norm_id, normalise_uscc=_norm_uscc)


def test_worked_example_in_the_docs():
    assert rules.base_string("1764720000", b'{"records":[]}') == b'1764720000.{"records":[]}'
    assert rules.sign("s3cret", "1764720000", b'{"records":[]}') == (
        "v1=054ccf19247a064c391cebc1b7a377443afdd27bfcb96fe26ca4c2bbe4f477a9")
    assert "054ccf19247a064c391cebc1b7a377443afdd27bfcb96fe26ca4c2bbe4f477a9" in rules.__doc__


@given(st.text(min_size=1, max_size=40), st.integers(0, 2**40).map(str), st.binary(max_size=300))
def test_signature_is_hmac_sha256_over_timestamp_dot_body(secret, ts, body):
    expected = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert rules.sign(secret, ts, body) == "v1=" + expected
    assert rules.valid_signature(secret, ts, body, "v1=" + expected) == "v1=" + expected
    assert rules.valid_signature(secret, ts, body, "v1=deadbeef v1=" + expected) == "v1=" + expected


@given(st.text(min_size=1, max_size=40), st.integers(0, 2**40).map(str), st.binary(min_size=1, max_size=300),
       st.integers(0, 299), st.integers(1, 255))
def test_any_changed_byte_breaks_the_signature(secret, ts, body, position, flip):
    signature = rules.sign(secret, ts, body)
    i = position % len(body)
    tampered = body[:i] + bytes([body[i] ^ flip]) + body[i + 1:]
    assert rules.valid_signature(secret, ts, tampered, signature) is None
    assert rules.valid_signature(secret, str(int(ts) + 1), body, signature) is None
    assert rules.valid_signature(secret + "x", ts, body, signature) is None


@given(st.integers(10**9, 2 * 10**9), st.integers(-1000, 1000))
def test_timestamp_window(now, offset):
    assert rules.timestamp_fresh(str(now + offset), now) == (abs(offset) <= rules.WINDOW_SECONDS)


def test_window_boundaries():
    now = 1764720000
    assert rules.timestamp_fresh(str(now + 300), now) and rules.timestamp_fresh(str(now - 300), now)
    assert not rules.timestamp_fresh(str(now + 301), now) and not rules.timestamp_fresh(str(now - 301), now)


@given(st.text(max_size=14))
def test_timestamps_that_are_not_plain_digits_are_never_fresh(text):
    if not (text.isascii() and text.isdigit()):
        assert not rules.timestamp_fresh(text, 1764720000)


def test_a_good_record_becomes_an_addition():
    record = parse({"record_id": "FY-1", "type": "arrears", "id_number": _id(), "occurred_on": "2026-11-30",
                    "region_code": "620702100001"})
    assert isinstance(record, rules.Addition)
    assert (record.item_code, record.level, record.subject_kind) == ("WAGE-ARREARS", "up_to_2_months", "person")
    assert rules.township_code_of(record.region_code) == "620702100"


def test_invalid_records_have_codes():
    bad_check = _id()[:17] + ("0" if _id()[17] != "0" else "1")
    cases = {
        "FEED_ID_NUMBER_INVALID": {"record_id": "A", "type": "listed", "id_number": bad_check, "occurred_on": "2026-01-01"},
        "FEED_TYPE_UNMAPPED": {"record_id": "A", "type": "x", "id_number": _id(), "occurred_on": "2026-01-01"},
        "FEED_SUBJECT_MISSING": {"record_id": "A", "type": "listed", "occurred_on": "2026-01-01"},
        "FEED_DATE_IN_FUTURE": {"record_id": "A", "type": "listed", "id_number": _id(),
                                "occurred_on": (TODAY + timedelta(days=1)).isoformat()},
        "FEED_DATE_INVALID": {"record_id": "A", "type": "listed", "id_number": _id(), "occurred_on": "2026-02-30"},
        "FEED_RECORD_ID_INVALID": {"record_id": "", "type": "listed", "id_number": _id(), "occurred_on": "2026-01-01"},
        "FEED_RECORD_INVALID": {"record_id": "A", "type": "listed", "id_number": _id(), "occurred_on": "2026-01-01",
                                "extra": "x"},
        "FEED_REMOVES_MISSING": {"record_id": "A", "action": "remove"},
        "FEED_ACTION_INVALID": {"record_id": "A", "action": "delete"},
        "FEED_QUANTITY_INVALID": {"record_id": "A", "type": "listed", "id_number": _id(), "occurred_on": "2026-01-01",
                                  "quantity": "-1"},
    }
    for code, raw in cases.items():
        result = parse(raw)
        assert isinstance(result, rules.Invalid) and result.code == code, (code, result)


@given(st.dictionaries(st.sampled_from(sorted(rules._FIELDS | {"junk"})),
                       st.one_of(st.none(), st.text(max_size=30), st.integers(), st.booleans()), max_size=8))
def test_any_object_parses_to_exactly_one_answer(raw):
    result = parse(raw)
    assert isinstance(result, (rules.Invalid, rules.Addition, rules.Removal))
    if isinstance(result, rules.Addition):
        assert result.occurred_on <= TODAY and result.item_code in {m.item_code for m in MAPPINGS.values()}
        assert rules.RECORD_ID.match(result.record_id)


@given(st.booleans(), st.booleans(), st.booleans())
def test_outcome_once_per_record_id(seen_before, same_content, matched):
    digest = "a" * 64
    previous = (digest if same_content else "b" * 64) if seen_before else None
    outcome, code = rules.outcome_for_addition(previous_digest=previous, digest=digest, matched=matched)
    if not seen_before:
        assert (outcome, code) == ((rules.RECORDED if matched else rules.UNMATCHED), None)
    elif same_content:
        assert (outcome, code) == (rules.DUPLICATE, None)
    else:
        assert (outcome, code) == (rules.INVALID, "FEED_RECORD_ID_REUSED")


def test_removal_effects():
    assert rules.removal_effect(None, None) == "unknown"
    assert rules.removal_effect("unmatched", None) == "release"
    assert rules.removal_effect("recorded", "pending_review") == "withdraw"
    assert rules.removal_effect("recorded", "counted") == "reverse"
    for done in ("rejected", "reversed"):
        assert rules.removal_effect("recorded", done) == "none"
    for status in ("dismissed", "withdrawn", "removed"):
        assert rules.removal_effect(status, "counted") == "none"


def test_digest_depends_on_content_only():
    a = {"record_id": "A", "type": "listed"}
    assert rules.record_digest(a) == rules.record_digest(dict(reversed(list(a.items()))))
    assert rules.record_digest(a) != rules.record_digest({**a, "type": "arrears"})
