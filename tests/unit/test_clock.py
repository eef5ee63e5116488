"""One clock (invariant 10): the county's zone, its "today", frozen time for tests, and the
worker's cron schedule read in the same zone."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend import clock

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# 07:30 in Beijing on 15 July is still 14 July in UTC.
BEIJING_MORNING = datetime(2026, 7, 14, 23, 30, tzinfo=timezone.utc)


@pytest.fixture
def fresh_zone(monkeypatch):
    """Let a test change CUNXIN_TZ: the zone is read once, so forget it before and after."""
    clock.zone.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    clock.zone.cache_clear()


def test_default_zone_is_beijing(fresh_zone):
    fresh_zone.delenv("CUNXIN_TZ", raising=False)
    assert clock.zone() == ZoneInfo("Asia/Shanghai")


def test_empty_setting_means_the_default(fresh_zone):
    fresh_zone.setenv("CUNXIN_TZ", "")
    assert clock.zone() == ZoneInfo(clock.DEFAULT_TZ)


def test_environment_overrides_the_zone(fresh_zone):
    fresh_zone.setenv("CUNXIN_TZ", "Asia/Urumqi")
    assert clock.zone() == ZoneInfo("Asia/Urumqi")
    with clock.frozen(datetime(2026, 7, 14, 20, 30, tzinfo=timezone.utc)):
        assert clock.today() == date(2026, 7, 15)  # 02:30 in Urumqi (UTC+6)
        assert clock.now().utcoffset() == timedelta(hours=6)


def test_environment_override_in_a_fresh_process():
    """A real start: the variable set before anything imports the clock."""
    code = ("from datetime import datetime, timezone\nfrom backend import clock\n"
            "print(clock.zone().key)\n"
            "with clock.frozen(datetime(2026, 7, 14, 23, 30, tzinfo=timezone.utc)):\n"
            "    print(clock.today().isoformat())\n")
    env = {**os.environ, "CUNXIN_TZ": "America/Los_Angeles"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["America/Los_Angeles", "2026-07-14"]


def test_frozen_clock_reads_local_time():
    with clock.frozen(BEIJING_MORNING):
        now = clock.now()
        assert now == BEIJING_MORNING  # the same instant …
        assert (now.hour, now.minute) == (7, 30) and now.utcoffset() == timedelta(hours=8)  # … read in Beijing
        assert now.tzinfo is not None
        assert clock.today() == date(2026, 7, 15)
        assert BEIJING_MORNING.date() == date(2026, 7, 14)  # what a UTC "today" would have said


def test_frozen_nests_and_restores():
    real_before = clock.now()
    with clock.frozen(BEIJING_MORNING):
        with clock.frozen(datetime(2030, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))):
            assert clock.today() == date(2030, 1, 1)
        assert clock.today() == date(2026, 7, 15)
    after = clock.now()
    assert real_before <= after <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_frozen_refuses_a_naive_instant():
    with pytest.raises(ValueError):
        with clock.frozen(datetime(2026, 7, 15, 7, 30)):
            pass


def test_local_date_of_a_stored_timestamp():
    # asyncpg returns timestamptz in UTC: its .date() would be the UTC day.
    assert clock.local_date(BEIJING_MORNING) == date(2026, 7, 15)
    assert clock.local_date(datetime(2026, 7, 15, 15, 59, tzinfo=timezone.utc)) == date(2026, 7, 15)
    assert clock.local_date(datetime(2026, 7, 15, 16, 0, tzinfo=timezone.utc)) == date(2026, 7, 16)


def test_settings_refuse_an_unknown_zone(fresh_zone):
    from backend.settings import get_settings

    fresh_zone.setenv("CUNXIN_TZ", "Mars/Olympus_Mons")
    get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="CUNXIN_TZ"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_worker_crons_run_in_the_county_zone():
    """arq evaluates cron fields against ``datetime.now(tz=Worker.timezone)`` (system zone if unset):
    the worker passes the clock's zone, so "02:30" is 02:30 in Beijing whatever the server's zone."""
    from arq.worker import get_kwargs

    from backend.worker import WorkerSettings

    assert get_kwargs(WorkerSettings)["timezone"] == clock.zone() == ZoneInfo("Asia/Shanghai")
    job = copy.copy(next(c for c in WorkerSettings.cron_jobs if c.name == "cron:nightly_full_recompute"))
    job.calculate_next(datetime(2026, 7, 14, 18, 5, tzinfo=timezone.utc).astimezone(clock.zone()))  # 02:05 Beijing
    assert job.next_run.astimezone(timezone.utc).replace(microsecond=0) == datetime(2026, 7, 14, 18, 30,
                                                                                   tzinfo=timezone.utc)
    finalize = copy.copy(next(c for c in WorkerSettings.cron_jobs if c.name == "cron:finalize_ratings"))
    finalize.calculate_next(datetime(2026, 7, 14, 12, 0, tzinfo=timezone.utc).astimezone(clock.zone()))
    assert finalize.next_run.astimezone(clock.zone()).date() == date(2026, 7, 15)
    assert (finalize.next_run.astimezone(clock.zone()).hour, finalize.next_run.minute) == (0, 10)
