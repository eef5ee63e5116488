"""Worker jobs of this package (``backend.worker`` registers them). Both are idempotent."""

from __future__ import annotations

from arq import cron


async def run_history_import(ctx: dict, run_id: int) -> str:
    """Do one history import run (a run already ended, or being done by a live worker, is left alone)."""
    from backend.history.services import run_import

    return await run_import(run_id)


async def requeue_history_imports(ctx: dict) -> int:
    """Queue again runs still queued (Redis was down at upload) or whose worker was lost."""
    from backend.history.services import requeue_stale

    return await requeue_stale()


FUNCTIONS: list = [run_history_import, requeue_history_imports]
CRON_JOBS: list = [cron(requeue_history_imports, minute=set(range(4, 60, 5)), run_at_startup=True)]
