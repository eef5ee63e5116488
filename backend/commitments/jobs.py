"""Worker jobs of this package (``backend.worker`` registers them).

The relay runs every 10 seconds and at start-up: a message committed while Redis was down, or
claimed by a worker that died, is sent by the next run (the outbox is in PostgreSQL). Two workers
may run it at once: claims are ``FOR UPDATE SKIP LOCKED`` with a lease."""

from arq import cron


async def relay_webhooks(ctx: dict) -> int:
    """Send the due webhook deliveries (idempotent: a claimed row is sent by one relay only)."""
    from backend.webhooks.relay import relay

    return await relay()


FUNCTIONS: list = [relay_webhooks]
CRON_JOBS: list = [cron(relay_webhooks, second=set(range(0, 60, 10)), run_at_startup=True, timeout=60)]
