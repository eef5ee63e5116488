"""Objections raised before their deadlines were stored get them now (from the calendar as it is
today, the best that can be done for old rows); an objection's status is one of three; open
objections are found by proposal without a scan."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T22:04:46:000000"
VERSION = "1.38.0"
DESCRIPTION = "ratings: objection deadlines backfilled, status checked"

MARK_WORKING_DAYS = 1  # art. 46, fixed here: later code changes must not alter what this migration did
RESPOND_WORKING_DAYS = 7

STATEMENTS = [
    """ALTER TABLE rating_objection ADD CONSTRAINT rating_objection_status
       CHECK (status IN ('open', 'upheld', 'dismissed'))""",
    "CREATE INDEX rating_objection_open ON rating_objection (proposal) WHERE status = 'open'",
]


async def backfill() -> int:
    """Deadlines for objections that have none; returns how many rows it filled."""
    from piccolo.engine import engine_finder
    from piccolo.querystring import QueryString

    from backend.clock import zone
    from points_rules.workdays import WorkCalendar

    engine = engine_finder()
    rows = await engine.run_querystring(QueryString(
        "SELECT id, (raised_at AT TIME ZONE {})::date AS raised_on, "
        "(resolved_at AT TIME ZONE {})::date AS resolved_on FROM rating_objection WHERE respond_by IS NULL",
        zone().key, zone().key))
    if not rows:
        return 0
    overrides = await engine.run_querystring(QueryString("SELECT day, kind FROM calendar_override"))
    calendar = WorkCalendar(
        extra_holidays=frozenset(r["day"] for r in overrides if r["kind"] == "holiday"),
        extra_workdays=frozenset(r["day"] for r in overrides if r["kind"] == "workday"))
    for r in rows:
        await engine.run_querystring(QueryString(
            "UPDATE rating_objection SET raised_on = {}, mark_by = {}, disputed_marked_on = {}, respond_by = {}, "
            "resolved_on = {} WHERE id = {}",
            r["raised_on"], calendar.add_working_days(r["raised_on"], MARK_WORKING_DAYS), r["raised_on"],
            calendar.add_working_days(r["raised_on"], RESPOND_WORKING_DAYS), r["resolved_on"], r["id"]))
    return len(rows)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ratings", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)
        await backfill()

    manager.add_raw(run)
    return manager
