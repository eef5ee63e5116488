"""The measures slice's guarantees, in the database itself (条例 arts. 38–43; art. 35 no tampering).

- measure: a version never changes and is never deleted (an edit or an end is a new version);
  closed vocabularies for kind and category; a legal basis, a name and an office are required; at
  least one condition; a version > 1 supersedes the previous version of the same county and code,
  and each version is superseded at most once (no forks).
- eligibility_list: of its measure's county; a done list has its household count and no longer
  changes; lists are never deleted.
- eligibility_list_entry: append-only, only while its list is not done (entries and "done" land in
  one transaction); one row per household and position; an ID number only ever masked.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T06:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "measures guarantees"

KINDS = "('incentive', 'restriction')"
CATEGORIES = "('subsidy', 'financial', 'administrative', 'publicity', 'supervision', 'other')"
STATUSES = "('queued', 'running', 'done', 'failed')"

STATEMENTS = [
    f"ALTER TABLE measure ADD CONSTRAINT measure_kind CHECK (kind IN {KINDS})",
    f"ALTER TABLE measure ADD CONSTRAINT measure_category CHECK (category IN {CATEGORIES})",
    """ALTER TABLE measure ADD CONSTRAINT measure_texts CHECK (length(btrim(code)) > 0 AND length(btrim(name_zh)) > 0
       AND length(btrim(legal_basis)) > 0 AND length(btrim(office_zh)) > 0)""",
    """ALTER TABLE measure ADD CONSTRAINT measure_conditions
       CHECK (jsonb_typeof(conditions) = 'array' AND jsonb_array_length(conditions) > 0)""",
    "ALTER TABLE measure ADD CONSTRAINT measure_term CHECK (valid_to IS NULL OR valid_to >= valid_from)",
    """ALTER TABLE measure ADD CONSTRAINT measure_version
       CHECK (version >= 1 AND ((version = 1) = (supersedes IS NULL)))""",
    """ALTER TABLE measure ADD CONSTRAINT measure_supersedes_fk FOREIGN KEY (supersedes) REFERENCES measure (id)
       ON DELETE RESTRICT""",
    "CREATE UNIQUE INDEX measure_code_version ON measure (county, code, version)",
    "CREATE UNIQUE INDEX measure_superseded_once ON measure (supersedes) WHERE supersedes IS NOT NULL",
    """CREATE OR REPLACE FUNCTION cunxin_measure_version() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.supersedes IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM measure m WHERE m.id = NEW.supersedes AND m.county = NEW.county
               AND m.code = NEW.code AND m.version = NEW.version - 1) THEN
           RAISE EXCEPTION 'measure version % must supersede version % of the same measure', NEW.version,
             NEW.version - 1 USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER measure_version BEFORE INSERT ON measure
       FOR EACH ROW EXECUTE FUNCTION cunxin_measure_version()""",
    """CREATE TRIGGER measure_append_only BEFORE UPDATE OR DELETE ON measure
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER measure_no_truncate BEFORE TRUNCATE ON measure
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    f"ALTER TABLE eligibility_list ADD CONSTRAINT eligibility_list_status CHECK (status IN {STATUSES})",
    """ALTER TABLE eligibility_list ADD CONSTRAINT eligibility_list_progress
       CHECK (progress_done >= 0 AND (progress_total IS NULL OR progress_done <= progress_total))""",
    """ALTER TABLE eligibility_list ADD CONSTRAINT eligibility_list_done
       CHECK (status <> 'done' OR (households IS NOT NULL AND finished_at IS NOT NULL))""",
    """ALTER TABLE eligibility_list ADD CONSTRAINT eligibility_list_failed
       CHECK (status <> 'failed' OR length(error_code) > 0)""",
    """CREATE OR REPLACE FUNCTION cunxin_eligibility_list_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           IF NOT EXISTS (SELECT 1 FROM measure m WHERE m.id = NEW.measure AND m.county = NEW.county) THEN
             RAISE EXCEPTION 'an eligibility list belongs to its measure''s county'
               USING ERRCODE = 'integrity_constraint_violation';
           END IF;
           RETURN NEW;
         END IF;
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'eligibility lists are never deleted' USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF OLD.status = 'done' THEN
           RAISE EXCEPTION 'eligibility list % is done and no longer changes', OLD.id
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF NEW.measure <> OLD.measure OR NEW.county <> OLD.county OR NEW.as_of <> OLD.as_of THEN
           RAISE EXCEPTION 'an eligibility list keeps its measure, county and day'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER eligibility_list_guard BEFORE INSERT OR UPDATE OR DELETE ON eligibility_list
       FOR EACH ROW EXECUTE FUNCTION cunxin_eligibility_list_guard()""",
    """CREATE TRIGGER eligibility_list_no_truncate BEFORE TRUNCATE ON eligibility_list
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    "CREATE UNIQUE INDEX eligibility_list_entry_seq ON eligibility_list_entry (list, seq)",
    "CREATE UNIQUE INDEX eligibility_list_entry_household ON eligibility_list_entry (list, household_id)",
    """ALTER TABLE eligibility_list_entry ADD CONSTRAINT eligibility_list_entry_masked_id
       CHECK (head_id_masked = '' OR head_id_masked = '******'
              OR head_id_masked ~ '^[0-9]{6}\\*{8}[0-9]{3}[0-9X]$')""",
    """CREATE OR REPLACE FUNCTION cunxin_eligibility_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM eligibility_list l WHERE l.id = NEW.list AND l.status = 'done') THEN
           RAISE EXCEPTION 'eligibility list % is done: no entry may be added', NEW.list
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER eligibility_list_entry_guard BEFORE INSERT ON eligibility_list_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_eligibility_entry_guard()""",
    """CREATE TRIGGER eligibility_list_entry_append_only BEFORE UPDATE OR DELETE ON eligibility_list_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER eligibility_list_entry_no_truncate BEFORE TRUNCATE ON eligibility_list_entry
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="measures", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
