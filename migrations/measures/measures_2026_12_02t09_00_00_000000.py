"""Measures (versions), eligibility lists and their entries, with the guarantees in the database:
a measure a list was built from cannot change or disappear; entries are append-only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "measures: list-only incentives and restrictions, eligibility lists"

STATEMENTS = [
    """CREATE TABLE measure (
        id serial PRIMARY KEY,
        county integer NOT NULL REFERENCES county (id) ON DELETE RESTRICT,
        code varchar(32) NOT NULL,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        kind varchar(16) NOT NULL CHECK (kind IN ('incentive', 'restriction')),
        category varchar(24) NOT NULL
            CHECK (category IN ('subsidy', 'financial', 'administrative', 'publicity', 'supervision', 'other')),
        name_zh varchar(128) NOT NULL CHECK (length(name_zh) > 0),
        legal_basis text NOT NULL CHECK (length(legal_basis) > 0),
        conditions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(conditions) = 'array'
                                                      AND jsonb_array_length(conditions) > 0),
        valid_from date NOT NULL,
        valid_to date CHECK (valid_to IS NULL OR valid_to >= valid_from),
        office_zh varchar(128) NOT NULL CHECK (length(office_zh) > 0),
        supersedes integer REFERENCES measure (id) ON DELETE RESTRICT,
        created_by integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (county, code, version)
    )""",
    "CREATE INDEX measure_county ON measure (county)",
    """CREATE TABLE eligibility_list (
        id serial PRIMARY KEY,
        county integer NOT NULL REFERENCES county (id) ON DELETE RESTRICT,
        measure integer NOT NULL REFERENCES measure (id) ON DELETE RESTRICT,
        as_of date NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
        progress_done integer NOT NULL DEFAULT 0,
        progress_total integer,
        households integer,
        error_code varchar(48) NOT NULL DEFAULT '',
        error_zh text NOT NULL DEFAULT '',
        requested_by integer NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        heartbeat_at timestamptz,
        finished_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        CHECK (status <> 'done' OR households IS NOT NULL)
    )""",
    "CREATE INDEX eligibility_list_measure ON eligibility_list (measure)",
    "CREATE INDEX eligibility_list_county ON eligibility_list (county)",
    """CREATE TABLE eligibility_list_entry (
        id bigserial PRIMARY KEY,
        list integer NOT NULL REFERENCES eligibility_list (id) ON DELETE RESTRICT,
        seq integer NOT NULL,
        household_id integer NOT NULL,
        household_code varchar(24) NOT NULL,
        township_id integer NOT NULL,
        township_name varchar(64) NOT NULL,
        village_id integer NOT NULL,
        village_name varchar(64) NOT NULL,
        grid_id integer NOT NULL,
        head_person_id integer,
        head_name_masked varchar(32) NOT NULL DEFAULT '',
        head_id_masked varchar(18) NOT NULL DEFAULT '',
        grade varchar(8) NOT NULL DEFAULT '',
        period_code varchar(16) NOT NULL DEFAULT '',
        period_name_zh varchar(64) NOT NULL DEFAULT '',
        publicity_starts_on date,
        publicity_ends_on date,
        reason_zh text NOT NULL DEFAULT '',
        UNIQUE (list, seq),
        UNIQUE (list, household_id),
        -- only ever a masked identifier: 6 digits, 8 stars, 4 characters
        CHECK (head_id_masked = '' OR head_id_masked ~ '^[0-9]{6}\\*{8}[0-9]{3}[0-9X]$'
               OR head_id_masked = '******')
    )""",
    "CREATE INDEX eligibility_list_entry_list ON eligibility_list_entry (list)",
    """CREATE OR REPLACE FUNCTION cunxin_measure_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM eligibility_list l WHERE l.measure = OLD.id) THEN
            RAISE EXCEPTION 'measure % has eligibility lists: create a new version instead', OLD.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER measure_frozen BEFORE UPDATE OR DELETE ON measure
       FOR EACH ROW EXECUTE FUNCTION cunxin_measure_frozen()""",
    """CREATE TRIGGER eligibility_list_entry_append_only BEFORE UPDATE OR DELETE ON eligibility_list_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER eligibility_list_entry_no_truncate BEFORE TRUNCATE ON eligibility_list_entry
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="measures", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
