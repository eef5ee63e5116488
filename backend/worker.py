"""The arq worker: background and cron jobs. Every job is idempotent (arq may run it twice)."""

from __future__ import annotations

from datetime import timedelta

from arq import cron
from arq.connections import RedisSettings
from piccolo.engine import engine_finder

from backend import clock
from backend.auth.tables import AuthSession
from backend.bank import jobs as bank_jobs
from backend.feeds import jobs as feed_jobs
from backend.measures import jobs as measure_jobs
from backend.objections import jobs as objection_jobs
from backend.repair import jobs as repair_jobs
from backend.commitments import jobs as commitments_jobs
from backend.history import jobs as history_jobs
from backend.reports import jobs as report_jobs
from backend.fieldwork import jobs as fieldwork_jobs
from backend.catalogue import jobs as catalogue_jobs
from backend.village_rules import jobs as village_rules_jobs
from backend.webhooks import jobs as webhook_jobs
from backend.notifications import jobs as notification_jobs
from backend.settings import get_settings

EXPIRED_SESSION_GRACE = timedelta(days=7)


async def purge_expired_sessions(ctx: dict) -> int:
    """Delete auth sessions that expired (or were revoked) more than a week ago.

    Sessions are not audit records (logins and revocations are in ``security_event``); keeping
    them forever would only grow the table the auth middleware reads on every request.
    """
    cutoff = clock.now() - EXPIRED_SESSION_GRACE
    deleted = await AuthSession.delete(returning=[AuthSession.id]).where(
        (AuthSession.expires_at < cutoff) | (AuthSession.revoked_at < cutoff)
    )
    return len(deleted)


async def process_evidence(ctx: dict, evidence_id: int) -> str:
    """Decode, check, strip and thumbnail one uploaded photo (idempotent)."""
    from backend.evidence.services import process_evidence as run

    return await run(evidence_id)


async def requeue_pending_evidence(ctx: dict) -> int:
    """Re-queue photos still pending after a while (their enqueue may have failed)."""
    from backend.evidence.services import requeue_stale

    return await requeue_stale()


async def recompute_standing(ctx: dict, subject_kind: str, subject_id: int) -> int:
    """Recompute the live standing of the household (and village, township) a subject belongs to."""
    from backend.ratings.recompute import households_of_subject, recompute_households

    households = await households_of_subject(subject_kind, subject_id)
    if households:
        await recompute_households(households)
    return len(households)


async def recompute_standings(ctx: dict, subjects: list[list]) -> int:
    """``recompute_standing`` for a batch's subjects at once: their households recomputed together."""
    from backend.ratings.recompute import households_of_subject, recompute_households

    households: set[int] = set()
    for kind, subject_id in subjects:
        households.update(await households_of_subject(kind, subject_id))
    if households:
        await recompute_households(sorted(households))
    return len(households)


async def nightly_full_recompute(ctx: dict) -> dict:
    """Recompute all standing from the ledger and report drift against the incremental results
    (entries also expire with the calendar, which no ledger change announces)."""
    import logging

    from backend.ratings.recompute import full_recompute

    report = await full_recompute()
    if not report.clean:
        logging.getLogger("cunxin.ratings").warning(
            "standing drift: %d households, %d villages, %d townships differed from the incremental result",
            len(report.drifted_households), len(report.drifted_villages), len(report.drifted_townships))
    return {"households": report.households, "drifted_households": len(report.drifted_households)}


async def finalize_ratings(ctx: dict) -> int:
    """Ratings whose publicity ended without objection become effective (idempotent)."""
    from backend.ratings.periods import finalize

    return await finalize()


async def startup(ctx: dict) -> None:
    await engine_finder().start_connection_pool(min_size=1, max_size=5)
    await catalogue_jobs.refresh_before_job(ctx)


async def shutdown(ctx: dict) -> None:
    await engine_finder().close_connection_pool()


class WorkerSettings:
    functions = [purge_expired_sessions, process_evidence, requeue_pending_evidence, recompute_standing,
                 recompute_standings,
                 nightly_full_recompute, finalize_ratings, *bank_jobs.FUNCTIONS, *measure_jobs.FUNCTIONS,
                 *webhook_jobs.FUNCTIONS, *feed_jobs.FUNCTIONS, *objection_jobs.FUNCTIONS,
                 *repair_jobs.FUNCTIONS, *commitments_jobs.FUNCTIONS, *history_jobs.FUNCTIONS, *report_jobs.FUNCTIONS,
                 *fieldwork_jobs.FUNCTIONS,
                 *village_rules_jobs.FUNCTIONS, *catalogue_jobs.FUNCTIONS, *notification_jobs.FUNCTIONS]
    cron_jobs = [
        cron(purge_expired_sessions, hour={3}, minute={17}, run_at_startup=False),
        cron(requeue_pending_evidence, minute=set(range(0, 60, 5)), run_at_startup=True),
        cron(nightly_full_recompute, hour={2}, minute={30}, run_at_startup=False, timeout=3600),
        cron(finalize_ratings, hour={0}, minute={10}, run_at_startup=True),
        *bank_jobs.CRON_JOBS,
        *measure_jobs.CRON_JOBS,
        *webhook_jobs.CRON_JOBS,
        *feed_jobs.CRON_JOBS,
        *objection_jobs.CRON_JOBS,
        *repair_jobs.CRON_JOBS,
        *commitments_jobs.CRON_JOBS,
        *history_jobs.CRON_JOBS,
        *report_jobs.CRON_JOBS,
        *fieldwork_jobs.CRON_JOBS,
        *village_rules_jobs.CRON_JOBS,
        *catalogue_jobs.CRON_JOBS,
        *notification_jobs.CRON_JOBS,
    ]
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = catalogue_jobs.refresh_before_job
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    max_tries = 5
    job_timeout = 600
    # arq matches cron hours/minutes against ``datetime.now(tz=timezone)``, and without this attribute
    # takes the server's own zone (UTC in most containers): "00:10" would then be 08:10 in Beijing.
    timezone = clock.zone()
