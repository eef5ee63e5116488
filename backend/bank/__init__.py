"""银行 — banks, their products and policies, rating pulls under consent, signed attestations."""
