"""Worker jobs of this package (``backend.worker`` registers them): none.

Village totals are computed when read, from the append-only entries and the event dates (validity
runs from the event date), so nothing expires in the background and there is no standing to
recompute: village points never enter the county's standing. The lists stay so the slice has the
same shape as the others.
"""

FUNCTIONS: list = []
CRON_JOBS: list = []
