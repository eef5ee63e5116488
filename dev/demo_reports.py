"""Demo data for the semi-annual report (called from :mod:`dev.demo_extras`): the last finished
half-year's report and the current one's provisional report (up to yesterday), built by the county
admin through the real service, so the back office's 报表 menu has something to download. Idempotent:
a half-year (and cut) already built is left alone."""

from __future__ import annotations

from datetime import date

from backend.auth.services import account_actor
from backend.db import fetch
from backend.errors import CunxinError
from backend.reports import services
from points_rules.reports import HalfYear


async def seed(today: date) -> list[int]:
    admin = await fetch("SELECT id FROM account WHERE username = 'county_admin'")
    if not admin:
        return []
    actor = await account_actor(admin[0]["id"])
    current = HalfYear.of(today)
    built = []
    for code in (current.previous().code, current.code):
        try:
            period = services.half_year(code, today=today)
        except CunxinError:  # the half-year began today: nothing to report yet
            continue
        done = await fetch("SELECT id FROM report_run WHERE county_id = {} AND period_code = {} "
                           "AND through IS NOT DISTINCT FROM {} AND status = 'done'", actor.county_id, code, period.through)
        if done:
            continue
        run = await services.request_report(actor, code, period.through)
        await services.run_report(run.id)
        built.append(run.id)
    return built
