"""Worker jobs of this package (``backend.worker`` registers them): the art. 46 deadline crons.

Both run every hour (and at start-up) in the county's zone; each stamps an objection once, so a
worker that was down catches up on its next run and a repeated run changes nothing.
"""

from arq import cron

from backend.objections import services


async def warn_due_objections(ctx: dict) -> int:
    """Two working days before the decision deadline: into the township's due-soon queue."""
    return len(await services.warn_due())


async def escalate_overdue_objections(ctx: dict) -> int:
    """Past the decision deadline and still open: into the county's escalated queue."""
    return len(await services.escalate_overdue())


FUNCTIONS: list = [warn_due_objections, escalate_overdue_objections]
CRON_JOBS: list = [
    cron(warn_due_objections, minute={20}, run_at_startup=True),
    cron(escalate_overdue_objections, minute={25}, run_at_startup=True),
]
