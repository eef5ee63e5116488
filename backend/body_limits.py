"""How large a request body may be, by purpose; beyond it the answer is 413 PAYLOAD_TOO_LARGE.

The limit is enforced while the body streams in (Litestar's ``request_max_body_size``), so an
oversized body is never read into memory. Photos have their own limit (``evidence.imaging``).
"""

JSON_BODY = 64 * 1024
"""Every JSON body unless its route says otherwise: a login, one event (at most ~4 KB with a
500-character note), a decision, an objection."""

BULK_JSON_BODY = 4 * 1024 * 1024
"""Bulk routes: up to 200 events (``/events:batch``), 200 review decisions or 1,000 rating
exceptions, each with a note of up to 500 characters, even when every character is escaped."""
