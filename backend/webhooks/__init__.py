"""出站通知 — outbound webhooks (Standard Webhooks) from a transactional outbox."""
