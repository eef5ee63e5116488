"""Demo data for this slice (called by :mod:`dev.demo_extras`): the demo county's list of measures
— four incentives linked to ratings and the art. 42 restriction on subsidies for serious
dishonesty — and one built eligibility list. Idempotent: measures are created only if their code
is not on the list yet, and the list only once."""

from __future__ import annotations

from datetime import date

from backend import clock, jobs
from backend.auth.services import account_actor
from backend.db import fetch
from backend.measures import build, services
from backend.measures.schemas import ListIn, MeasureIn
from dev.demo_data import COUNTY_CODE

BASIS = "《张掖市社会信用体系建设促进条例》"
MEASURES = [
    dict(code="AGRI-SUBSIDY-PRIORITY", kind="incentive", category="subsidy", name_zh="农业补贴优先",
         legal_basis=f"{BASIS}第三十九条、第四十条；信用等级与农业补贴直接挂钩",
         conditions=[{"kind": "household_grade_at_least", "grade": "A"}], office_zh="区农业农村局"),
    dict(code="LOAN-RATE-DISCOUNT", kind="incentive", category="financial", name_zh="贷款利率优惠",
         legal_basis=f"{BASIS}第三十九条；农户信用贷款利率优惠政策",
         conditions=[{"kind": "household_grade_at_least", "grade": "AA"}], office_zh="区农村商业银行"),
    dict(code="CREDIT-LINE-UP", kind="incentive", category="financial", name_zh="授信额度上浮",
         legal_basis=f"{BASIS}第三十九条；信用户授信额度上浮20%",
         conditions=[{"kind": "household_grade_in", "grades": ["AAA"]}], office_zh="区农村商业银行"),
    dict(code="CREDIT-VILLAGE-LOAN", kind="incentive", category="financial", name_zh="信用村整村授信",
         legal_basis=f"{BASIS}第三十九条；信用村农户贷款利率低于普通农户",
         conditions=[{"kind": "village_is_credit"}, {"kind": "household_grade_at_least", "grade": "A"}],
         office_zh="区农村商业银行"),
    dict(code="SD-SUBSIDY-RESTRICTION", kind="restriction", category="subsidy", name_zh="严重失信限制财政补贴",
         legal_basis=f"{BASIS}第四十一条、第四十二条第（三）项",
         conditions=[{"kind": "serious_dishonesty"}], office_zh="区财政局"),
]


async def seed(today: date) -> dict:
    county = await fetch("SELECT id FROM county WHERE code = {}", COUNTY_CODE)
    admin = await fetch("SELECT id FROM account WHERE username = 'county_admin'")
    if not county or not admin:
        return {"measures": 0}
    actor = await account_actor(admin[0]["id"])
    valid_from = date(today.year, 1, 1)
    created = 0
    for spec in MEASURES:
        if await fetch("SELECT 1 FROM measure WHERE county = {} AND code = {}", county[0]["id"], spec["code"]):
            continue
        await services.create_measure(actor, MeasureIn(**spec, valid_from=valid_from, valid_to=None))
        created += 1
    subsidy = await fetch("SELECT id FROM measure WHERE county = {} AND code = 'AGRI-SUBSIDY-PRIORITY' "
                          "ORDER BY version DESC LIMIT 1", county[0]["id"])
    built = None
    if subsidy and not await fetch("SELECT 1 FROM eligibility_list WHERE measure = {}", subsidy[0]["id"]):
        with jobs.suppressed(services.BUILD_JOB):  # built right here, not by a worker
            listing = await services.request_list(actor, subsidy[0]["id"], ListIn(as_of=min(today, clock.today())))
        status = await build.build_list(listing.id)
        built = {"list": listing.id, "status": status}
    return {"measures": created, "list": built}
