"""Registry constraints the ORM cannot express: one open membership per person, one open
head per household, one open residence per household, open-ended intervals well-formed."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "registry constraints"

STATEMENTS = [s.strip() for s in """
CREATE UNIQUE INDEX household_membership_one_open_per_person
    ON household_membership (person) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX household_membership_one_open_head
    ON household_membership (household) WHERE valid_to IS NULL AND relation = '户主';
CREATE UNIQUE INDEX household_residence_one_open
    ON household_residence (household) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX party_member_link_one_open_per_household
    ON party_member_link (household) WHERE valid_to IS NULL;
ALTER TABLE household_membership ADD CONSTRAINT household_membership_interval
    CHECK (valid_to IS NULL OR valid_to >= valid_from);
ALTER TABLE household_residence ADD CONSTRAINT household_residence_interval
    CHECK (valid_to IS NULL OR valid_to >= valid_from);
ALTER TABLE party_member_link ADD CONSTRAINT party_member_link_interval
    CHECK (valid_to IS NULL OR valid_to >= valid_from);
ALTER TABLE household_membership ADD CONSTRAINT household_membership_relation
    CHECK (relation IN ('户主','配偶','子女','父母','孙子女','兄弟姐妹','其他'));
ALTER TABLE person ADD CONSTRAINT person_sex CHECK (sex IN ('M','F'));
""".split(";\n") if s.strip()]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
