"""Worker jobs of this package (``backend.worker`` registers them): the repair decision deadline's
crons, like the objections'. Both run every hour (and at start-up); each stamps an application once,
so a worker that was down catches up on its next run and a repeated run changes nothing."""

from __future__ import annotations

from arq import cron


async def warn_due_repairs(ctx: dict) -> int:
    """Two working days before the decision deadline: into the township's due-soon queue."""
    from backend.repair.services import warn_due

    return len(await warn_due())


async def escalate_overdue_repairs(ctx: dict) -> int:
    """Past the decision deadline and still open: into the county's escalated queue."""
    from backend.repair.services import escalate_overdue

    return len(await escalate_overdue())


FUNCTIONS: list = [warn_due_repairs, escalate_overdue_repairs]
CRON_JOBS: list = [
    cron(warn_due_repairs, minute={21}, run_at_startup=True),
    cron(escalate_overdue_repairs, minute={26}, run_at_startup=True),
]
