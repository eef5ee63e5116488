"""One proposal per (period, level, subject); the decision log is append-only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T01:26:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ratings guarantees"

STATEMENTS = [
    "CREATE UNIQUE INDEX rating_proposal_one_per_subject ON rating_proposal (period, level, subject_id)",
    "CREATE INDEX rating_proposal_effective ON rating_proposal (level, subject_id) WHERE status = 'effective'",
    """CREATE TRIGGER rating_decision_append_only BEFORE UPDATE OR DELETE ON rating_decision
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER rating_decision_no_truncate BEFORE TRUNCATE ON rating_decision
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    """ALTER TABLE rating_proposal ADD CONSTRAINT rating_proposal_level
       CHECK (level IN ('household', 'village', 'township'))""",
    """ALTER TABLE rating_proposal ADD CONSTRAINT rating_proposal_change_needs_reason
       CHECK (grade = computed_grade OR length(change_reason) > 0)""",
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
