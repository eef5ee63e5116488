"""Worker jobs of this package (``backend.worker`` registers them).

- ``dispatch_notices`` every 15 seconds and at start-up: sends the due external deliveries (a
  notice committed while Redis was down is sent by the next run; two workers may run it at once:
  claims are ``FOR UPDATE SKIP LOCKED`` with a lease);
- ``notify_commitments_due`` daily at 08:10 (and at start-up): a notice to the subject of each
  signed commitment whose check date is within :data:`DUE_SOON_DAYS` days, once per commitment.
"""

from arq import cron

DUE_SOON_DAYS = 7


async def dispatch_notices(ctx: dict) -> int:
    """Send the due notice deliveries (idempotent: a claimed row is sent by one dispatcher only)."""
    from backend.notifications.dispatch import dispatch

    return await dispatch()


async def notify_commitments_due(ctx: dict) -> int:
    """Notices for signed commitments whose check date is near (each once: its dedupe key)."""
    from backend.notifications.services import notify_commitments_due as run

    return len(await run(days=DUE_SOON_DAYS))


FUNCTIONS: list = [dispatch_notices, notify_commitments_due]
CRON_JOBS: list = [cron(dispatch_notices, second={0, 15, 30, 45}, run_at_startup=True, timeout=60),
                   cron(notify_commitments_due, hour={8}, minute={10}, run_at_startup=True)]
