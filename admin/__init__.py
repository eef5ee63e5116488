"""The back office (piccolo-admin) for county staff, mounted at ``/admin/``.

Built once at start-up (per-request building would reset its login rate limiter). The admin
does not filter rows per user, so it is for county staff only (admin users are created with
``cunxin create-user --role county_admin``); township-scoped work happens through the scoped
API endpoints.

Personal, account, ledger, rating and audit tables are read-only here: people come in through
the roster import, corrections are reversing entries through the API, accounts through
``cunxin create-user``. Structure tables (county … grid, household, organisation) stay
editable, but the database refuses a delete that would take history with it (ON DELETE
RESTRICT). Every write leaves a security event and every read of personal data an access-log
row naming the township, person and household it concerns (:mod:`admin.audit`).
"""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_admin.translations.data import SIMPLIFIED_CHINESE, ENGLISH
from piccolo_api.crud.validators import Validators
from piccolo_api.session_auth.tables import SessionsBase
from starlette.exceptions import HTTPException

from backend.audit.tables import AccessLog, SecurityEvent
from backend.auth.tables import Account, BankClient, GridAssignment
from backend.consent import tables as consent
from backend.evidence.tables import Evidence
from backend.ledger.tables import CreditEvent, LedgerEntry
from backend.ratings import tables as rt
from backend.registry import tables as reg
from backend.settings import get_settings

from admin import bank as admin_bank
from admin import feeds as admin_feeds
from admin import measures as admin_measures
from admin import objections as admin_objections
from admin import repair as admin_repair
from admin import commitments as admin_commitments
from admin import history as admin_history
from admin import fieldwork as admin_fieldwork
from admin import catalogue as admin_catalogue
from admin import village_rules as admin_village_rules
from admin import reports as admin_reports
from admin import webhooks as admin_webhooks
from admin import notifications as admin_notifications
from admin.audit import AdminAudit


def _read_only(piccolo_crud, request) -> None:
    raise HTTPException(status_code=405, detail="只读记录，不能在后台修改 / read-only records")


async def _no_move(piccolo_crud, request) -> None:
    """A household's grid and village are its current residence: a move is a new residence row
    (through the API), never an overwrite here that would leave no history."""
    body = await request.json() if request.method in ("PUT", "PATCH") else {}
    if request.method == "PUT" or (isinstance(body, dict) and {"village", "grid"} & set(body)):
        raise HTTPException(status_code=405, detail="迁户请通过业务系统办理 / moves go through the API")


READ_ONLY = Validators(post_single=[_read_only], put_single=[_read_only], patch_single=[_read_only],
                       delete_single=[_read_only], delete_all=[_read_only])


def build_admin():
    structure = "区划 Structure"
    people = "户籍 People"
    access = "账户 Accounts"
    audit = "审计 Audit"
    ledger = "积分账本 Ledger"
    ratings = "信用评定 Ratings"
    tables = [
        TableConfig(reg.County, menu_group=structure),
        TableConfig(reg.Township, menu_group=structure),
        TableConfig(reg.Village, menu_group=structure),
        TableConfig(reg.Grid, menu_group=structure),
        TableConfig(reg.PartyBranch, menu_group=structure),
        TableConfig(reg.Organisation, menu_group=structure),
        # Identifiers are encrypted; new people come in through the roster import so that
        # validation and encryption always happen.
        TableConfig(reg.Person, menu_group=people, validators=READ_ONLY,
                    exclude_visible_columns=[reg.Person.id_number_cipher, reg.Person.id_number_hash,
                                             reg.Person.phone_cipher, reg.Person.phone_hash]),
        TableConfig(reg.Household, menu_group=people, validators=Validators(put_single=[_no_move],
                                                                            patch_single=[_no_move])),
        TableConfig(reg.HouseholdMembership, menu_group=people, validators=READ_ONLY),
        TableConfig(reg.HouseholdResidence, menu_group=people, validators=READ_ONLY),
        TableConfig(reg.PartyMemberLink, menu_group=people, validators=READ_ONLY),
        TableConfig(Account, menu_group=access, validators=READ_ONLY, exclude_visible_columns=[Account.password_hash]),
        TableConfig(GridAssignment, menu_group=access, validators=READ_ONLY),
        TableConfig(BankClient, menu_group=access, validators=READ_ONLY, exclude_visible_columns=[BankClient.secret_hash]),
        TableConfig(CreditEvent, menu_group=ledger, validators=READ_ONLY),
        TableConfig(LedgerEntry, menu_group=ledger, validators=READ_ONLY),
        TableConfig(Evidence, menu_group=ledger, validators=READ_ONLY),
        # Ratings: approval happens through the scoped API; here county staff look, and enter holidays.
        TableConfig(rt.RatingPeriod, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.RatingProposal, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.RatingDecision, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.RatingObjection, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.StandingHousehold, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.StandingVillage, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.StandingTownship, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.CalendarOverride, menu_group=ratings),
        # Notices: new versions here or through the API (the database numbers and hashes them and
        # refuses a change once a consent names one); consent events are append-only.
        TableConfig(consent.ConsentRecipient, menu_group="授权同意 Consent"),
        TableConfig(consent.ConsentNotice, menu_group="授权同意 Consent"),
        TableConfig(consent.ConsentEvent, menu_group="授权同意 Consent", validators=READ_ONLY),
        TableConfig(consent.SigningKey, menu_group="授权同意 Consent", validators=READ_ONLY,
                    exclude_visible_columns=[consent.SigningKey.private_key_cipher]),
        *admin_bank.table_configs(),
        *admin_measures.table_configs(),
        *admin_webhooks.table_configs(),
        *admin_feeds.table_configs(),
        *admin_objections.table_configs(),
        *admin_repair.table_configs(),
        *admin_commitments.table_configs(),
        *admin_history.table_configs(),
        *admin_fieldwork.table_configs(),
        *admin_catalogue.table_configs(),
        *admin_village_rules.table_configs(),
        *admin_reports.table_configs(),
        *admin_notifications.table_configs(),
        TableConfig(AccessLog, menu_group=audit, validators=READ_ONLY),
        TableConfig(SecurityEvent, menu_group=audit, validators=READ_ONLY),
    ]
    return AdminAudit(create_admin(
        tables=tables,
        forms=[*admin_catalogue.form_configs(), *admin_reports.form_configs()],
        auth_table=BaseUser,
        session_table=SessionsBase,
        site_name="村信 Cunxin 管理后台",
        default_language_code="zh-CN",
        translations=[SIMPLIFIED_CHINESE, ENGLISH],
        auto_include_related=False,
        production=get_settings().is_production,
        sidebar_links={"积分目录 Catalogue": "/catalogue", "API 文档": "/schema"},
    ))
