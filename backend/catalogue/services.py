"""The catalogue as the API shows it (points as decimal strings)."""

from __future__ import annotations

from backend import clock

from backend.catalogue.schemas import GradeBandOut, ItemOut, LevelOut, TierOut, VersionOut, VersionSummary
from backend.errors import NotFound
from backend.ledger.catalogue import catalogues, points_text
from points_rules import CatalogueVersion, Item


def _item(item: Item) -> ItemOut:
    rule = item.points
    d = item.disclosure
    out = ItemOut(
        code=item.code, name_zh=item.name_zh, behaviour_zh=item.behaviour_zh, category=item.category,
        direction=item.direction, scoring_kind=rule.kind, subject_kinds=list(item.subject_kinds),
        validity_years=item.validity_years, logged_by=list(item.logged_by), evidence=item.evidence,
        needs_review=item.needs_review, repeat_doubles=item.repeat_doubles,
        cap_per_year=points_text(item.cap_per_year) if item.cap_per_year is not None else None,
        publicity=d.publicity, sharing_scope=d.sharing_scope, source=d.source, channel=d.channel,
        update_frequency=d.update_frequency, legal_basis=d.legal_basis,
    )
    if rule.kind == "fixed":
        out.points = points_text(rule.points)
    elif rule.kind == "by_level":
        out.levels = [LevelOut(key=lv.key, name_zh=lv.name_zh, points=points_text(lv.points)) for lv in rule.levels]
    elif rule.kind == "tiered":
        out.unit_zh = rule.unit_zh
        out.tiers = [TierOut(at=str(t.at), total_points=points_text(t.total)) for t in rule.tiers]
    else:
        out.direct_grade = rule.grade
    return out


def _summary(v: CatalogueVersion) -> VersionSummary:
    return VersionSummary(version=v.version, effective_from=v.effective_from, title_zh=v.title_zh, items=len(v.items))


def list_versions(county_id: int | None = None) -> list[VersionSummary]:
    """The county's versions (shipped + its published ones); ``None``: the shipped default."""
    return [_summary(v) for v in catalogues(county_id).versions]


def version_in_force(county_id: int | None) -> VersionOut:
    """The county's version in force today (in the county's clock)."""
    return get_version(catalogues(county_id).version_on(clock.today()).version, county_id)


def get_version(version: str, county_id: int | None = None) -> VersionOut:
    found = next((v for v in catalogues(county_id).versions if v.version == version), None)
    if found is None:
        raise NotFound("目录版本不存在", "No such catalogue version", code="CATALOGUE_VERSION_UNKNOWN")
    s = found.scoring
    return VersionOut(
        **_summary(found).model_dump(),
        base=points_text(s.base, signed=False),
        grades=[GradeBandOut(grade=b.grade, min_score=points_text(b.min, signed=False) if b.min is not None else None)
                for b in s.grades],
        direct_downgrade_years=dict(s.direct_downgrade_years),
        catalogue=[_item(i) for i in found.items],
    )
