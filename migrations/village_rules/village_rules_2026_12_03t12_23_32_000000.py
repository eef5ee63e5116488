"""The village-rules guarantees in the database itself (art. 35: no tampering, no unlawful deletion).

- ``village_rule_limits``: one row per county and version number; sane ranges; never changed, never
  deleted (a change of the limits is a new row).
- ``village_rule_version``: one row per village and version number; one *approved* version per village
  and effective day; the stored SHA-256 is the hash of the stored canonical text (computed here, so a
  row cannot carry a fingerprint of other rules); the maker is never the checker; the filing never
  changes, a decided version never changes at all; nothing is deleted.
- ``village_points_entry``: append-only (no UPDATE, DELETE or TRUNCATE); one row per (recorder,
  idempotency key); an entry is reversed at most once, a reversal is never reversed, and a reversal
  carries the opposite points of its original; an evidence photo serves one entry.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T12:23:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "village_rules guarantees"

VERSION_MUTABLE = "ARRAY['status', 'decided_by', 'decided_at', 'decision_reason', 'limits_id']"


def _no_truncate(table: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION cunxin_{table}_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION '{table} is never truncated' USING ERRCODE = 'insufficient_privilege';
           END $$""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
           FOR EACH STATEMENT EXECUTE FUNCTION cunxin_{table}_no_truncate()""",
    ]


STATEMENTS = [
    # --- limits
    "ALTER TABLE village_rule_limits ADD CONSTRAINT village_rule_limits_version UNIQUE (county_id, version)",
    """ALTER TABLE village_rule_limits ADD CONSTRAINT village_rule_limits_ranges
       CHECK (version >= 1 AND min_points < max_points AND min_points >= -500 AND max_points <= 500
              AND max_validity_years BETWEEN 1 AND 5 AND max_items BETWEEN 1 AND 100
              AND jsonb_typeof(allowed_categories) = 'array' AND jsonb_array_length(allowed_categories) >= 1)""",
    """CREATE OR REPLACE FUNCTION cunxin_village_rule_limits_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'village_rule_limits rows never change: a new limit is a new row'
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER village_rule_limits_guard BEFORE UPDATE OR DELETE ON village_rule_limits
       FOR EACH ROW EXECUTE FUNCTION cunxin_village_rule_limits_guard()""",
    *_no_truncate("village_rule_limits"),
    # --- rule versions
    "ALTER TABLE village_rule_version ADD CONSTRAINT village_rule_version_number UNIQUE (village_id, version)",
    """ALTER TABLE village_rule_version ADD CONSTRAINT village_rule_version_status
       CHECK (status IN ('proposed', 'approved', 'rejected'))""",
    """ALTER TABLE village_rule_version ADD CONSTRAINT village_rule_version_sha256
       CHECK (sha256 = encode(sha256(convert_to(canonical_json, 'UTF8')), 'hex'))""",
    """ALTER TABLE village_rule_version ADD CONSTRAINT village_rule_version_decided
       CHECK ((status = 'proposed') = (decided_at IS NULL)
              AND (status = 'proposed' OR (decided_by IS NOT NULL AND decided_by <> proposed_by))
              AND (status <> 'rejected' OR char_length(decision_reason) >= 2))""",
    """CREATE UNIQUE INDEX village_rule_version_one_approved_per_day ON village_rule_version (village_id, effective_from)
       WHERE status = 'approved'""",
    f"""CREATE OR REPLACE FUNCTION cunxin_village_rule_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'village_rule_version is never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF OLD.status <> 'proposed' AND to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
           RAISE EXCEPTION 'village_rule_version % is decided and cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - {VERSION_MUTABLE}) IS DISTINCT FROM (to_jsonb(OLD) - {VERSION_MUTABLE}) THEN
           RAISE EXCEPTION 'the filing of village_rule_version % cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER village_rule_version_guard BEFORE UPDATE OR DELETE ON village_rule_version
       FOR EACH ROW EXECUTE FUNCTION cunxin_village_rule_version_guard()""",
    *_no_truncate("village_rule_version"),
    # --- entries
    """ALTER TABLE village_points_entry ADD CONSTRAINT village_points_entry_idempotency
       UNIQUE (recorded_by, idempotency_key)""",
    """ALTER TABLE village_points_entry ADD CONSTRAINT village_points_entry_subject_kind
       CHECK (subject_kind IN ('person', 'household'))""",
    """ALTER TABLE village_points_entry ADD CONSTRAINT village_points_entry_shape
       CHECK (points <> 0 AND valid_until > occurred_on AND item_code LIKE 'V-%'
              AND explanation_zh LIKE '村规民约积分（%')""",
    """CREATE UNIQUE INDEX village_points_entry_reversed_once ON village_points_entry (reverses_entry)
       WHERE reverses_entry IS NOT NULL""",
    """CREATE UNIQUE INDEX village_points_entry_photo ON village_points_entry (evidence_id)
       WHERE evidence_id IS NOT NULL""",
    """CREATE OR REPLACE FUNCTION cunxin_village_points_entry_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE original village_points_entry%ROWTYPE;
       BEGIN
         IF NEW.reverses_entry IS NULL THEN
           RETURN NEW;
         END IF;
         SELECT * INTO original FROM village_points_entry WHERE id = NEW.reverses_entry;
         IF NOT FOUND OR original.reverses_entry IS NOT NULL OR NEW.points <> -original.points
            OR NEW.subject_kind <> original.subject_kind OR NEW.subject_id <> original.subject_id THEN
           RAISE EXCEPTION 'a village reversal must cancel one original entry of the same subject'
             USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER village_points_entry_reversal BEFORE INSERT ON village_points_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_village_points_entry_reversal()""",
    """CREATE OR REPLACE FUNCTION cunxin_village_points_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'village_points_entry is append-only: reverse an entry with a compensating row'
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER village_points_entry_guard BEFORE UPDATE OR DELETE ON village_points_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_village_points_entry_guard()""",
    *_no_truncate("village_points_entry"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="village_rules", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
