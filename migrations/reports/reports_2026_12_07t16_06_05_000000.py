"""The report slice's guarantees, in the database: a run belongs to a county (county_id > 0), names a
half-year (``YYYYH1``/``YYYYH2``), has a closed status; a provisional run's data cut (``through``) lies in that half-year; a finished run carries its figures and their
SHA-256 (and a failed one its error code); progress stays within its total; a run that has ended never
changes, and runs are never deleted (they are the record of what was reported)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T16:06:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports guarantees"

STATEMENTS = [
    "ALTER TABLE report_run ADD CONSTRAINT report_run_county_known CHECK (county_id > 0)",
    "ALTER TABLE report_run ADD CONSTRAINT report_run_period CHECK (period_code ~ '^[0-9]{4}H[12]$')",
    # a provisional run's data cut lies in its half-year (a finished half-year's run has none)
    """ALTER TABLE report_run ADD CONSTRAINT report_run_through_in_period
       CHECK (through IS NULL OR (extract(year FROM through) = substr(period_code, 1, 4)::int
              AND (extract(month FROM through) <= 6) = (right(period_code, 1) = '1')))""",
    "ALTER TABLE report_run ADD CONSTRAINT report_run_status CHECK (status IN ('queued', 'running', 'done', 'failed'))",
    """ALTER TABLE report_run ADD CONSTRAINT report_run_progress
       CHECK (progress_done >= 0 AND progress_total >= 0 AND progress_done <= progress_total AND attempts >= 0)""",
    """ALTER TABLE report_run ADD CONSTRAINT report_run_figures
       CHECK ((status = 'done') = (figures IS NOT NULL)
              AND (status <> 'done' OR figures_sha256 ~ '^[0-9a-f]{64}$')
              AND (status <> 'done' OR figures_sha256 = encode(sha256(convert_to(figures, 'UTF8')), 'hex'))
              AND (status <> 'failed' OR error_code <> '')
              AND (status NOT IN ('done', 'failed') OR finished_at IS NOT NULL))""",
    """CREATE OR REPLACE FUNCTION cunxin_report_run_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.status IN ('done', 'failed') THEN
           RAISE EXCEPTION 'report_run % has ended and cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF NEW.county_id IS DISTINCT FROM OLD.county_id OR NEW.period_code IS DISTINCT FROM OLD.period_code
            OR NEW.through IS DISTINCT FROM OLD.through
            OR NEW.requested_by IS DISTINCT FROM OLD.requested_by OR NEW.requested_at IS DISTINCT FROM OLD.requested_at THEN
           RAISE EXCEPTION 'report_run % keeps its county, half-year, data cut and requester', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER report_run_guard BEFORE UPDATE ON report_run
       FOR EACH ROW EXECUTE FUNCTION cunxin_report_run_guard()""",
    """CREATE TRIGGER report_run_no_delete BEFORE DELETE OR TRUNCATE ON report_run
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    "CREATE INDEX report_run_county_period ON report_run (county_id, period_code, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
