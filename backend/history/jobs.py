"""Worker jobs of this package (``backend.worker`` registers them)."""

FUNCTIONS: list = []
CRON_JOBS: list = []
