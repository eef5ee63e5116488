"""Audit — who read which personal data, and security events. Append-only."""
