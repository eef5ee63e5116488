"""The webhook rules (points_rules.webhooks): signatures the Standard Webhooks reference library
accepts (not checked with our own code), several at once during a rotation; the retry schedule
over about three days; disabling only after persistent failure; the address policy; thin payloads."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from points_rules import webhooks as rules

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
key_bytes = st.binary(min_size=24, max_size=64)
bodies = st.dictionaries(st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=20)), max_size=5).map(
    lambda d: json.dumps(d, ensure_ascii=False))  # the library returns the parsed JSON
msg_ids = st.from_regex(r"msg_[A-Za-z0-9]{1,40}", fullmatch=True)


@given(key=key_bytes, other=key_bytes, body=bodies, msg_id=msg_ids)
def test_the_reference_library_verifies_every_signature_we_make(key, other, body, msg_id):
    secret, second = rules.secret_from_bytes(key), rules.secret_from_bytes(other)
    now = int(time.time())  # the library checks the timestamp against its own clock (5 min tolerance)
    headers = rules.headers([secret, second], msg_id, now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    # each holder of one of the secrets verifies the message (a receiver mid-rotation has one or the other)
    assert Webhook(secret).verify(body.encode(), headers) == json.loads(body)
    Webhook(second).verify(body.encode(), headers)
    if key != other:
        tampered = {**headers, "webhook-id": msg_id + "x"}
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.encode(), tampered)


def test_a_changed_body_or_another_secret_does_not_verify():
    secret = rules.secret_from_bytes(b"k" * 32)
    body = rules.envelope(rules.RATING_EFFECTIVE, T0, {"proposal_id": 1, "status": "effective"})
    headers = rules.headers([secret], "msg_abc", int(time.time()), body)
    assert Webhook(secret).verify(body, headers)["data"] == {"proposal_id": 1, "status": "effective"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("effective", "withdrawn"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rules.secret_from_bytes(b"j" * 32)).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # a replay outside the library's window
        Webhook(secret).verify(body, rules.headers([secret], "msg_abc", int(time.time()) - 3600, body))


def test_the_signing_input_is_id_dot_timestamp_dot_body():
    assert rules.signing_input("msg_1", 1700000000, '{"a":1}') == b'msg_1.1700000000.{"a":1}'
    with pytest.raises(ValueError):
        rules.signature("not-a-secret", "msg_1", 1, "{}")
    with pytest.raises(ValueError):
        rules.secret_from_bytes(b"short")


def test_the_schedule_spans_about_three_days_then_fails():
    waits = [rules.next_delay(n) for n in range(1, rules.MAX_ATTEMPTS)]
    assert rules.MAX_ATTEMPTS == 10 and all(w is not None for w in waits)
    assert waits[0] == timedelta(seconds=5) and waits == sorted(waits)
    assert timedelta(days=3) <= sum(waits, timedelta()) <= timedelta(days=3, hours=12)
    assert rules.next_delay(rules.MAX_ATTEMPTS) is None
    with pytest.raises(ValueError):
        rules.next_delay(0)


@given(failures=st.integers(min_value=0, max_value=1000), hours=st.integers(min_value=0, max_value=24 * 30))
def test_only_persistent_failure_disables(failures, hours):
    now = T0 + timedelta(hours=hours)
    disabled = rules.should_disable(failures, T0, now)
    assert disabled == (failures >= rules.DISABLE_MIN_FAILURES and hours >= 24 * 5)
    assert not rules.should_disable(failures, None, now)  # the last attempt succeeded


@pytest.mark.parametrize("code, ok", [(200, True), (204, True), (299, True), (301, False), (404, False),
                                      (500, False), (None, False)])
def test_two_hundreds_are_delivered(code, ok):
    assert rules.is_success(code) is ok


@pytest.mark.parametrize("url, reason", [
    ("http://bank.example/hook", "scheme"), ("ftp://bank.example/hook", "scheme"),
    ("https://user:pw@bank.example/hook", "credentials"), ("https:///hook", "host"),
    ("https://bank.example:99999/hook", "host"), ("https://[::1/hook", "host"), ("https://bank.example:x/h", "host"),
])
def test_production_urls_are_https_without_credentials(url, reason):
    with pytest.raises(rules.UrlRefused) as refused:
        rules.check_url(url, production=True)
    assert refused.value.reason == reason


@given(st.text(max_size=80))
def test_any_text_is_a_url_or_refused_never_an_error(text):
    for production in (True, False):
        try:
            scheme, host, port = rules.check_url(text, production=production)
        except rules.UrlRefused:
            continue
        assert scheme in ("http", "https") and host and 0 <= port <= 65535


def test_outside_production_http_is_allowed():
    assert rules.check_url("http://127.0.0.1:8123/x", production=False) == ("http", "127.0.0.1", 8123)
    assert rules.check_url("https://bank.example/x", production=True) == ("https", "bank.example", 443)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "169.254.169.254", "0.0.0.0", "224.0.0.1",
                                     "::ffff:127.0.0.1", "fe80::1"])
def test_loopback_link_local_and_the_like_are_refused_in_production_always(address):
    with pytest.raises(rules.UrlRefused):
        rules.check_addresses([address], production=True, allow_private=True)


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.9", "192.168.1.1", "fd00::1", "100.64.0.1"])
def test_private_networks_need_the_intranet_setting(address):
    with pytest.raises(rules.UrlRefused):
        rules.check_addresses([address], production=True, allow_private=False)
    rules.check_addresses([address], production=True, allow_private=True)


def test_one_bad_address_refuses_the_host_and_public_ones_pass():
    rules.check_addresses(["8.8.8.8", "2001:4860:4860::8888"], production=True, allow_private=False)
    with pytest.raises(rules.UrlRefused):
        rules.check_addresses(["8.8.8.8", "10.0.0.1"], production=True, allow_private=False)
    with pytest.raises(rules.UrlRefused):
        rules.check_addresses([], production=False, allow_private=False)
    rules.check_addresses(["127.0.0.1"], production=False, allow_private=False)


def test_consent_events_reach_their_recipient_only_and_others_every_subscriber():
    assert rules.routes_to(rules.CONSENT_WITHDRAWN, [rules.CONSENT_WITHDRAWN], event_recipient_id=5,
                           endpoint_recipient_id=5)
    assert not rules.routes_to(rules.CONSENT_WITHDRAWN, [rules.CONSENT_WITHDRAWN], event_recipient_id=5,
                               endpoint_recipient_id=6)
    assert not rules.routes_to(rules.CONSENT_WITHDRAWN, [rules.CONSENT_WITHDRAWN], event_recipient_id=5,
                               endpoint_recipient_id=None)
    assert rules.routes_to(rules.RATING_EFFECTIVE, [rules.RATING_EFFECTIVE], event_recipient_id=None,
                           endpoint_recipient_id=None)
    assert not rules.routes_to(rules.RATING_EFFECTIVE, [rules.OBJECTION_DECIDED], event_recipient_id=None,
                               endpoint_recipient_id=None)


@given(proposal=st.integers(min_value=1, max_value=2**62), at=st.datetimes(timezones=st.just(timezone.utc)))
def test_the_envelope_is_type_timestamp_data(proposal, at):
    body = json.loads(rules.envelope(rules.RATING_EFFECTIVE, at, {"proposal_id": proposal, "status": "effective"}))
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == rules.RATING_EFFECTIVE
    assert body["data"] == {"proposal_id": proposal, "status": "effective"}
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")) == at.replace(
        microsecond=at.microsecond // 1000 * 1000)


def test_a_field_outside_the_catalogue_never_leaves():
    with pytest.raises(ValueError):
        rules.envelope(rules.RATING_EFFECTIVE, T0, {"proposal_id": 1, "grade": "AAA"})
    with pytest.raises(ValueError):
        rules.envelope(rules.CONSENT_WITHDRAWN, T0, {"consent_id": 1, "name": "张三"})
    with pytest.raises(ValueError):
        rules.envelope("rating.changed", T0, {})
    for kind in rules.EVENT_TYPES.values():  # the catalogue itself names no personal data beyond ids
        assert not {"name", "grade", "score", "id_number", "phone"} & set(kind.data_fields)
