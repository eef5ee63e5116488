"""Worker jobs of this package (``backend.worker`` registers them). Both are idempotent."""

from __future__ import annotations

from arq import cron


async def build_semi_annual_report(ctx: dict, run_id: int) -> str:
    """Build one report run (a run already ended, or being built by a live worker, is left alone)."""
    from backend.reports.services import run_report

    return await run_report(run_id)


async def requeue_semi_annual_reports(ctx: dict) -> int:
    """Queue again runs still queued (Redis was down when asked) or whose worker was lost."""
    from backend.reports.services import requeue_stale

    return await requeue_stale()


FUNCTIONS: list = [build_semi_annual_report, requeue_semi_annual_reports]
CRON_JOBS: list = [cron(requeue_semi_annual_reports, minute=set(range(3, 60, 5)), run_at_startup=True)]
