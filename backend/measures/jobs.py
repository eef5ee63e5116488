"""Worker jobs of this package (``backend.worker`` registers them). Both are idempotent."""

from __future__ import annotations

from arq import cron


async def build_eligibility_list(ctx: dict, list_id: int) -> str:
    """Compute one eligibility list and store it with its entries in one transaction."""
    from backend.measures.build import build_list

    return await build_list(list_id)


async def requeue_eligibility_lists(ctx: dict) -> int:
    """Re-queue lists still queued (Redis was down) or whose worker was lost mid-build."""
    from backend.measures.build import requeue_stale

    return await requeue_stale()


FUNCTIONS: list = [build_eligibility_list, requeue_eligibility_lists]
CRON_JOBS: list = [cron(requeue_eligibility_lists, minute=set(range(2, 60, 5)), run_at_startup=True)]
