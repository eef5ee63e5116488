"""The six checks as SQL, each evaluated *as of the end of a day* ``on`` from the data alone
(recording dates, review and processing instants, membership and residence validity), so the state
at a past week's end is the same whenever it is computed. Each builder returns the FROM/WHERE part
and its arguments; ``area`` is the scope module's condition (``scope.area_filter_sql``) on the
columns each check names in ``AREA_COLUMNS``."""

from __future__ import annotations

from datetime import date
from typing import Any

from backend import clock
from backend.registry.tables import HEAD
from points_rules import quality as rules

# (county column, township column) each check's area condition is put on.
AREA_COLUMNS = {
    rules.LATE_ENTRIES: ("e.county_id", "e.township_id"),
    rules.REVIEWS_WAITING: ("e.county_id", "e.township_id"),
    rules.MISSING_PHOTOS: ("e.county_id", "e.township_id"),
    rules.UNMATCHED_FEED_RECORDS: ("r.county_id", "r.township_id"),
    rules.HOUSEHOLDS_WITHOUT_HEAD: ("h.county_id", "v.township"),
    rules.PERSONS_WITHOUT_HOUSEHOLD: ("p.county_id", "COALESCE(v.township, ev.township_id)"),
}


def _local(column: str) -> str:
    return f"({column} AT TIME ZONE {{}})::date"


def late_entries(area: str, area_args: list[Any], start: date, end: date) -> tuple[str, list[Any]]:
    """Events flagged late (recorded after the catalogue's recording window) that a grid worker
    recorded between ``start`` and ``end``."""
    return (f"""FROM credit_event e JOIN account a ON a.id = e.recorded_by
                LEFT JOIN person p ON p.county_id = e.county_id AND p.id = e.person_id
                WHERE e.late AND a.role = 'grid_worker' AND e.recorded_on BETWEEN {{}} AND {{}} AND {area}""",
            [start, end, *area_args])


def reviews_waiting(area: str, area_args: list[Any], cutoff: date, on: date) -> tuple[str, list[Any]]:
    """Events still waiting for review at the end of ``on`` (pending now, or reviewed after that day)
    recorded on or before ``cutoff``. Only a review takes an event out of ``pending_review``, so an
    event reviewed later was pending until its ``reviewed_at``."""
    return (f"""FROM credit_event e LEFT JOIN person p ON p.county_id = e.county_id AND p.id = e.person_id
                WHERE e.recorded_on <= {{}}
                  AND (e.status = 'pending_review' OR {_local('e.reviewed_at')} > {{}}) AND {area}""",
            [cutoff, str(clock.zone()), on, *area_args])


def missing_photos(area: str, area_args: list[Any], on: date, required: list[tuple[str, str]]
                   ) -> tuple[str, list[Any]]:
    """Events whose item requires evidence in the catalogue version that scored them, standing at
    the end of ``on`` (recorded by then, not rejected, reversed or repaired by then), with no linked
    photo that was usable then (every linked one rejected by then, or none linked). A photo still
    being processed counts as usable until it is rejected."""
    zone = str(clock.zone())
    versions, items = [v for v, _ in required], [i for _, i in required]
    return (f"""FROM credit_event e LEFT JOIN person p ON p.county_id = e.county_id AND p.id = e.person_id
                WHERE (e.catalogue_version, e.item_code) IN (SELECT * FROM unnest({{}}::text[], {{}}::text[]))
                  AND e.recorded_on <= {{}}
                  AND NOT (e.status = 'rejected' AND {_local('e.reviewed_at')} <= {{}})
                  AND NOT (e.status IN ('reversed', 'repaired') AND COALESCE(
                      (SELECT max({_local('r.created_at')}) FROM ledger_entry o
                       JOIN ledger_entry r ON r.county_id = o.county_id AND r.reverses_entry = o.id
                       WHERE o.county_id = e.county_id AND o.event = e.id), DATE '0001-01-01') <= {{}})
                  AND NOT EXISTS (SELECT 1 FROM evidence ev WHERE ev.county_id = e.county_id AND ev.event = e.id
                                  AND NOT (ev.status = 'rejected' AND {_local('ev.processed_at')} <= {{}}))
                  AND {area}""",
            [versions, items, on, zone, on, zone, on, zone, on, *area_args])


def unmatched_feed_records(area: str, area_args: list[Any], on: date) -> tuple[str, list[Any]]:
    """Records of a neighbouring system that were in a matching queue at the end of ``on``: received
    by then and still unmatched, or dismissed / withdrawn after that day, or matched by hand (their
    event recorded) after that day. A record matched automatically on arrival never waited."""
    zone = str(clock.zone())
    return (f"""FROM feed_record r JOIN feed_source s ON s.id = r.source
                LEFT JOIN credit_event ev ON ev.county_id = r.county_id AND ev.id = r.event
                WHERE r.action = 'add' AND {_local('r.created_at')} <= {{}}
                  AND (r.status = 'unmatched'
                       OR (r.status IN ('dismissed', 'withdrawn') AND {_local('r.resolved_at')} > {{}})
                       OR (r.status IN ('recorded', 'removed') AND r.resolved_by IS NOT NULL
                           AND ev.recorded_on > {{}}))
                  AND {area}""",
            [zone, on, zone, on, on, *area_args])


def _valid_on(alias: str) -> str:
    return f"{alias}.valid_from <= {{}} AND ({alias}.valid_to IS NULL OR {alias}.valid_to >= {{}})"


def households_without_head(area: str, area_args: list[Any], on: date) -> tuple[str, list[Any]]:
    """Households that existed on ``on`` (a residence valid then, or registered by then) with no
    membership valid that day whose relation is the head (户主); placed by the residence valid that
    day (else their current village)."""
    zone = str(clock.zone())
    return (f"""FROM household h
                LEFT JOIN LATERAL (SELECT g.village FROM household_residence hr JOIN grid g ON g.id = hr.grid
                                   WHERE hr.county_id = h.county_id AND hr.household = h.id AND {_valid_on('hr')}
                                   ORDER BY hr.valid_from DESC LIMIT 1) res ON true
                JOIN village v ON v.id = COALESCE(res.village, h.village)
                WHERE (res.village IS NOT NULL OR {_local('h.created_at')} <= {{}})
                  AND NOT EXISTS (SELECT 1 FROM household_membership m
                                  WHERE m.county_id = h.county_id AND m.household = h.id AND m.relation = {{}}
                                    AND {_valid_on('m')})
                  AND {area}""",
            [on, on, zone, on, HEAD, on, on, *area_args])


def persons_without_household(area: str, area_args: list[Any], on: date) -> tuple[str, list[Any]]:
    """Persons registered by ``on`` with no household membership valid that day; placed in the
    township of their last household before that day (its current village), else of the township
    that recorded their latest event by then, else in the county only."""
    zone = str(clock.zone())
    return (f"""FROM person p
                LEFT JOIN LATERAL (SELECT m.household FROM household_membership m
                                   WHERE m.county_id = p.county_id AND m.person = p.id AND m.valid_from <= {{}}
                                   ORDER BY m.valid_from DESC, m.id DESC LIMIT 1) last ON true
                LEFT JOIN household h ON h.county_id = p.county_id AND h.id = last.household
                LEFT JOIN village v ON v.id = h.village
                LEFT JOIN LATERAL (SELECT e.township_id FROM credit_event e
                                   WHERE e.county_id = p.county_id AND e.person_id = p.id AND e.recorded_on <= {{}}
                                   ORDER BY e.recorded_on DESC, e.id DESC LIMIT 1) ev ON true
                WHERE {_local('p.created_at')} <= {{}}
                  AND NOT EXISTS (SELECT 1 FROM household_membership m
                                  WHERE m.county_id = p.county_id AND m.person = p.id AND {_valid_on('m')})
                  AND {area}""",
            [on, on, zone, on, on, on, *area_args])
