"""The catalogue slice's guarantees, in the database: the stored SHA-256 is that of the stored YAML
(the database computes it); a file never changes once uploaded (version, date, title, text, hash,
uploader); a published version stays published with its publisher; the publisher is a second person
(maker-checker); a county has one published version per id and per effective date; rows are never
deleted."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T12:30:42:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue guarantees"

STATEMENTS = [
    "ALTER TABLE county_catalogue_version ADD CONSTRAINT county_catalogue_version_status CHECK (status IN ('draft', 'published'))",
    """ALTER TABLE county_catalogue_version ADD CONSTRAINT county_catalogue_version_rescore_status
       CHECK (rescore_status IN ('none', 'queued', 'running', 'done', 'failed'))""",
    """ALTER TABLE county_catalogue_version ADD CONSTRAINT county_catalogue_version_sha
       CHECK (sha256 = encode(sha256(convert_to(yaml, 'UTF8')), 'hex'))""",
    """ALTER TABLE county_catalogue_version ADD CONSTRAINT county_catalogue_version_version_id
       CHECK (version ~ '^[0-9]{4}\\.[0-9]+$')""",
    """ALTER TABLE county_catalogue_version ADD CONSTRAINT county_catalogue_version_maker_checker
       CHECK ((status = 'draft' AND published_by IS NULL AND published_at IS NULL)
              OR (status = 'published' AND published_by IS NOT NULL AND published_at IS NOT NULL
                  AND published_by <> uploaded_by))""",
    """ALTER TABLE county_catalogue_version ADD CONSTRAINT county_catalogue_version_counts
       CHECK (rescore_done >= 0 AND rescore_entries >= 0 AND coalesce(rescore_total, 0) >= 0)""",
    """CREATE UNIQUE INDEX county_catalogue_version_one_id ON county_catalogue_version (county, version)
       WHERE status = 'published'""",
    """CREATE UNIQUE INDEX county_catalogue_version_one_date ON county_catalogue_version (county, effective_from)
       WHERE status = 'published'""",
    """CREATE OR REPLACE FUNCTION cunxin_catalogue_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (NEW.county, NEW.version, NEW.effective_from, NEW.title_zh, NEW.yaml, NEW.sha256, NEW.uploaded_by,
             NEW.uploaded_at) IS DISTINCT FROM (OLD.county, OLD.version, OLD.effective_from, OLD.title_zh, OLD.yaml,
             OLD.sha256, OLD.uploaded_by, OLD.uploaded_at) THEN
           RAISE EXCEPTION 'an uploaded catalogue version never changes (upload a new one)'
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF OLD.status = 'published' AND (NEW.status, NEW.published_by, NEW.published_at)
              IS DISTINCT FROM (OLD.status, OLD.published_by, OLD.published_at) THEN
           RAISE EXCEPTION 'a published catalogue version is immutable' USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER county_catalogue_version_guard BEFORE UPDATE ON county_catalogue_version
       FOR EACH ROW EXECUTE FUNCTION cunxin_catalogue_version_guard()""",
    """CREATE TRIGGER county_catalogue_version_no_delete BEFORE DELETE OR TRUNCATE ON county_catalogue_version
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
