"""Worker jobs of this package (``backend.worker`` registers them): the daily due list.

Once a day (and at start-up) the worker counts, per township, the signed commitments whose check
date has come and logs them: the township's ``GET /api/v1/commitments?due=due`` is the list itself
(there is no notification system yet). Reading only, so a repeated run changes nothing.
"""

import logging

from arq import cron

from backend.commitments import services

logger = logging.getLogger("cunxin.commitments")


async def count_due_commitments(ctx: dict) -> int:
    """Signed commitments due for a decision, per township (logged); returns the total."""
    due = await services.due_by_township()
    for township_id, n in due.items():
        logger.info("township %s: %s credit commitment(s) due for a kept/broken decision", township_id, n)
    return sum(due.values())


FUNCTIONS: list = [count_due_commitments]
CRON_JOBS: list = [cron(count_due_commitments, hour={8}, minute={5}, run_at_startup=True)]
