"""Worker jobs of this package (``backend.worker`` registers them). Both are idempotent."""

from __future__ import annotations

from arq import cron


async def rescore_catalogue_version(ctx: dict, upload_id: int) -> str:
    """Re-score the events a published, past-dated county version governs."""
    from backend.catalogue.county import run_rescore

    return await run_rescore(upload_id)


async def requeue_catalogue_rescores(ctx: dict) -> int:
    from backend.catalogue.county import requeue_stale

    return await requeue_stale()


async def refresh_before_job(ctx: dict) -> None:
    """``on_job_start``: no job scores with a catalogue set older than the last publish."""
    import logging

    from backend.ledger.catalogue import refresh_catalogues

    try:
        await refresh_catalogues()
    except Exception as exc:  # noqa: BLE001 - the job runs with the set already loaded
        logging.getLogger("cunxin.catalogue").warning("catalogue refresh failed: %r", exc)


FUNCTIONS: list = [rescore_catalogue_version, requeue_catalogue_rescores]
CRON_JOBS: list = [cron(requeue_catalogue_rescores, minute=set(range(3, 60, 5)), run_at_startup=True)]
