"""Worker jobs of this package (``backend.worker`` registers them)."""

from arq import cron


async def finish_pending_feed_removals(ctx: dict) -> int:
    """Apply feed removals whose request died half-way (idempotent: see ``services.finish_pending_removals``)."""
    from backend.feeds.services import finish_pending_removals

    return await finish_pending_removals()


FUNCTIONS: list = [finish_pending_feed_removals]
CRON_JOBS: list = [cron(finish_pending_feed_removals, minute=set(range(3, 60, 10)), run_at_startup=True)]
