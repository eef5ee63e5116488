"""Index rating proposals by subject, whatever their status (issue 14 item 4, reads under load).

A household's ratings in progress (``GET /households/{id}/rating``) and the bank pull's objection
check look a subject's proposals up by (level, subject_id) across all statuses. The only index
leading with those columns was the partial one for effective ratings; the others went through
``rating_proposal_one_per_subject`` (period, level, subject_id) — a walk over the whole index, one
entry per household and period, so the cost grew with the county and its history.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:36:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "rating proposals by subject"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS rating_proposal_subject ON rating_proposal (level, subject_id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ratings", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
