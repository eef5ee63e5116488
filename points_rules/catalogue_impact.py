"""What a new catalogue version would do to a county's existing events (pure: no I/O, no clock).

Events are scored by the version in force on their date, so adding a version changes only the
events dated on or after its effective date and before the next version's (:func:`governed_range`).
:func:`impact` scores every subject's counted events with the county's set before and after the
addition and reports, as of one day, which persons and households would change grade and how many
events would get another entry — what the county admin reads before a second admin publishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from points_rules.engine import EntryDraft, EntryView, Event, standing
from points_rules.history import score_history
from points_rules.model import CatalogueProblem, CatalogueSet, CatalogueVersion, RuleError
from points_rules.ratings import member_input, rate_household, in_force_points
from points_rules.yaml_source import YamlSource


def with_version(existing: CatalogueSet, new: CatalogueVersion) -> CatalogueSet:
    """The set as it would be once ``new`` is published (a version of the same id is replaced)."""
    return CatalogueSet(tuple(v for v in existing.versions if v.version != new.version) + (new,))


def addition_problems(existing: CatalogueSet, new: CatalogueVersion, source: YamlSource) -> list[CatalogueProblem]:
    """A version id or an effective date the county's set already has (shipped or published)."""
    out = []
    for v in existing.versions:
        if v.version == new.version:
            out.append(CatalogueProblem(source.file, source.line_of(("version",)), "version",
                                        f"版本号“{new.version}”已被使用（{v.title_zh}）",
                                        f"version id {new.version!r} is already used ({v.version})"))
        if v.effective_from == new.effective_from:
            out.append(CatalogueProblem(source.file, source.line_of(("effective_from",)), "effective_from",
                                        f"生效日期{new.effective_from.isoformat()}已有版本{v.version}",
                                        f"effective date {new.effective_from} is already that of version {v.version}"))
    return out


def governed_range(catalogues: CatalogueSet, version_id: str) -> tuple[date, date | None]:
    """[effective_from, next version's effective_from) — the event dates this version scores."""
    ordered = catalogues.versions
    for i, v in enumerate(ordered):
        if v.version == version_id:
            return v.effective_from, ordered[i + 1].effective_from if i + 1 < len(ordered) else None
    raise RuleError("RULES_UNKNOWN_VERSION", f"没有版本号为“{version_id}”的积分目录",
                    f"No catalogue version {version_id!r}", {"version": version_id})


def governs(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day < end)


@dataclass(frozen=True)
class Member:
    person_id: int
    birth_date: date
    is_head: bool


@dataclass(frozen=True)
class GradeChange:
    subject_kind: str
    subject_id: int
    old_grade: str | None
    new_grade: str | None


@dataclass(frozen=True)
class Unscorable:
    subject_kind: str
    subject_id: int
    code: str
    message_zh: str


@dataclass
class Impact:
    as_of: date
    persons: list[GradeChange] = field(default_factory=list)
    households: list[GradeChange] = field(default_factory=list)
    events_governed: int = 0       # counted events dated in the version's range
    events_changed: int = 0        # of those (and any other), events whose entry would differ
    unscorable: list[Unscorable] = field(default_factory=list)   # the new set cannot score them


def _drafts(catalogues: CatalogueSet, events: Sequence[Event]) -> dict[int, EntryDraft | None]:
    return {s.event.event_id: s.draft for s in score_history(catalogues, events)}


def _same(a: EntryDraft | None, b: EntryDraft | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.item_code, a.catalogue_version, a.points, a.valid_from, a.valid_until, a.grade_override) == \
        (b.item_code, b.catalogue_version, b.points, b.valid_from, b.valid_until, b.grade_override)


def _coded(drafts: Mapping[int, EntryDraft | None]) -> list[tuple[str, EntryView]]:
    return [(d.item_code, EntryView(entry_id=event_id, points=d.points, valid_from=d.valid_from,
                                    valid_until=d.valid_until, grade_override=d.grade_override))
            for event_id, d in sorted(drafts.items()) if d is not None]


def impact(old: CatalogueSet, new: CatalogueSet, version_id: str, *, as_of: date,
           person_events: Mapping[int, Sequence[Event]], household_events: Mapping[int, Sequence[Event]],
           members: Mapping[int, Sequence[Member]], village: Mapping[tuple[str, int], int] | None = None) -> Impact:
    """Grade changes as of ``as_of`` (persons; households rated from their members on that day and
    their own entries) and event counts, scoring each subject's counted events with ``old`` and ``new``.
    A subject the new set cannot score (an item its version no longer has…) is listed in ``unscorable``.
    ``village``: village points in force on ``as_of`` per (kind, subject id), counted as each set's
    version says (a new version that starts counting them changes grades too)."""
    village = village or {}
    start, end = governed_range(new, version_id)
    person_events = {**{sid: () for kind, sid in village if kind == "person"}, **person_events}
    household_events = {**{sid: () for kind, sid in village if kind == "household"}, **household_events}
    out = Impact(as_of=as_of)
    coded: dict[tuple[str, int], tuple[list, list] | None] = {}
    for kind, by_subject in (("person", person_events), ("household", household_events)):
        for subject_id, events in sorted(by_subject.items()):
            out.events_governed += sum(1 for e in events if governs(start, end, e.occurred_on))
            before = _drafts(old, events)
            try:
                after = _drafts(new, events)
            except RuleError as exc:
                out.unscorable.append(Unscorable(kind, subject_id, exc.code, exc.message_zh))
                coded[(kind, subject_id)] = None
                continue
            out.events_changed += sum(1 for i in before if not _same(before[i], after.get(i)))
            coded[(kind, subject_id)] = (_coded(before), _coded(after))
            if kind == "person":
                grades = [standing(s, [v for _, v in c], as_of, village.get((kind, subject_id), 0)).grade
                          for s, c in ((old, coded[(kind, subject_id)][0]), (new, coded[(kind, subject_id)][1]))]
                if grades[0] != grades[1]:
                    out.persons.append(GradeChange(kind, subject_id, grades[0], grades[1]))
    for household_id, people in sorted(members.items()):
        if any(coded.get(("person", m.person_id), ()) is None for m in people) \
                or coded.get(("household", household_id), ()) is None:
            continue  # already listed as unscorable
        grades = []
        for index, cats in enumerate((old, new)):
            try:
                inputs = [member_input(cats, m.person_id, m.birth_date, m.is_head,
                                       (coded.get(("person", m.person_id)) or ([], []))[index], as_of,
                                       village.get(("person", m.person_id), 0))
                          for m in people]
                own = (coded.get(("household", household_id)) or ([], []))[index]
                grades.append(rate_household(cats, household_id, inputs,
                                             in_force_points([v for _, v in own], as_of), as_of,
                                             village.get(("household", household_id), 0)).grade)
            except RuleError:
                grades.append(None)
        if grades[0] != grades[1]:
            out.households.append(GradeChange("household", household_id, grades[0], grades[1]))
    return out


__all__ = ["with_version", "addition_problems", "governed_range", "governs", "Member", "GradeChange", "Unscorable",
           "Impact", "impact"]
