"""The back office (piccolo-admin) for county staff, mounted at ``/admin/``.

Built once at start-up (per-request building would reset its login rate limiter). The admin
does not filter rows per user, so it is for county staff only (admin users are created with
``cunxin create-user --role county_admin``); township-scoped work happens through the scoped
API endpoints. Audit tables are read-only here and append-only in the database; tables holding
personal data log every admin read into the access log.
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
from backend.evidence.tables import Evidence
from backend.ledger.tables import CreditEvent, LedgerEntry
from backend.ratings import tables as rt
from backend.registry import tables as reg
from backend.settings import get_settings


def _read_only(piccolo_crud, request) -> None:
    raise HTTPException(status_code=405, detail="只读记录，不能在后台修改 / read-only records")


async def _log_admin_read(piccolo_crud, request) -> None:
    """Admin reads of personal tables go into the access log like every other read."""
    user = getattr(getattr(request, "user", None), "user", None)
    row_id = request.path_params.get("row_id")
    await AccessLog.insert(
        AccessLog(
            actor_kind="admin_user",
            actor_id=getattr(user, "id", 0) or 0,
            actor_role="county_admin",
            actor_label=(getattr(user, "username", "") or "")[:64],
            subject_kind=piccolo_crud.table._meta.tablename[:16],
            subject_id=int(row_id) if row_id and str(row_id).isdigit() else 0,
            fields=["admin_ui"],
            purpose=f"admin_ui:{request.method.lower()}",
        )
    )


READ_ONLY = Validators(post_single=[_read_only], put_single=[_read_only], patch_single=[_read_only],
                       delete_single=[_read_only], delete_all=[_read_only])
LOGGED = Validators(get_single=[_log_admin_read], get_all=[_log_admin_read])
# Ledger and events: read-only here (corrections are reversing entries via the API), reads logged.
LOGGED_READ_ONLY = Validators(get_single=[_log_admin_read], get_all=[_log_admin_read], post_single=[_read_only],
                              put_single=[_read_only], patch_single=[_read_only], delete_single=[_read_only],
                              delete_all=[_read_only])


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
        # validation and encryption always happen. The admin may correct names and flags.
        TableConfig(reg.Person, menu_group=people, validators=LOGGED,
                    exclude_visible_columns=[reg.Person.id_number_cipher, reg.Person.id_number_hash,
                                             reg.Person.phone_cipher, reg.Person.phone_hash]),
        TableConfig(reg.Household, menu_group=people, validators=LOGGED),
        TableConfig(reg.HouseholdMembership, menu_group=people, validators=LOGGED),
        TableConfig(reg.HouseholdResidence, menu_group=people, validators=LOGGED),
        TableConfig(reg.PartyMemberLink, menu_group=people, validators=LOGGED),
        TableConfig(Account, menu_group=access, exclude_visible_columns=[Account.password_hash]),
        TableConfig(GridAssignment, menu_group=access),
        TableConfig(BankClient, menu_group=access, exclude_visible_columns=[BankClient.secret_hash]),
        TableConfig(CreditEvent, menu_group=ledger, validators=LOGGED_READ_ONLY),
        TableConfig(LedgerEntry, menu_group=ledger, validators=LOGGED_READ_ONLY),
        TableConfig(Evidence, menu_group=ledger, validators=LOGGED_READ_ONLY),
        # Ratings: approval happens through the scoped API; here county staff look, and enter holidays.
        TableConfig(rt.RatingPeriod, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.RatingProposal, menu_group=ratings, validators=LOGGED_READ_ONLY),
        TableConfig(rt.RatingDecision, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.RatingObjection, menu_group=ratings, validators=LOGGED_READ_ONLY),
        TableConfig(rt.StandingHousehold, menu_group=ratings, validators=LOGGED_READ_ONLY),
        TableConfig(rt.StandingVillage, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.StandingTownship, menu_group=ratings, validators=READ_ONLY),
        TableConfig(rt.CalendarOverride, menu_group=ratings),
        TableConfig(AccessLog, menu_group=audit, validators=READ_ONLY),
        TableConfig(SecurityEvent, menu_group=audit, validators=READ_ONLY),
    ]
    return create_admin(
        tables=tables,
        auth_table=BaseUser,
        session_table=SessionsBase,
        site_name="村信 Cunxin 管理后台",
        default_language_code="zh-CN",
        translations=[SIMPLIFIED_CHINESE, ENGLISH],
        auto_include_related=False,
        production=get_settings().is_production,
        sidebar_links={"积分目录 Catalogue": "/catalogue", "API 文档": "/schema"},
    )
