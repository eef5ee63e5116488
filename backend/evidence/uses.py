"""What a photo is used for, in one place: a photo serves one purpose — an event's evidence, a paper
consent form, an objection (its form or its evidence), a signed paper commitment, a repair
application (its form or its documents), or a village-points entry. A slice that attaches photos asks :func:`unusable` first,
inside its transaction; the slice's own unique indexes catch a concurrent second use."""

from __future__ import annotations

from collections.abc import Iterable

from backend.db import fetch
from backend.errors import InvalidInput

EVIDENCE_UNKNOWN = InvalidInput("证据照片不存在、已被使用或未通过检查", "Evidence unknown, already used, or rejected",
                                code="EVIDENCE_UNKNOWN")
"""The one answer for a photo that is not the caller's, not there, rejected or used already
(``details.evidence_ids`` names them)."""

_FREE_SQL = """
SELECT ev.id FROM evidence ev
WHERE ev.id = ANY({}) AND ev.uploaded_by = {} AND ev.event IS NULL AND ev.status <> 'rejected'
  AND NOT EXISTS (SELECT 1 FROM consent_event c WHERE c.evidence_id = ev.id)
  AND NOT EXISTS (SELECT 1 FROM entry_objection o
                  WHERE o.form_evidence_id = ev.id OR o.evidence_ids @> to_jsonb(ev.id))
  AND NOT EXISTS (SELECT 1 FROM credit_commitment k WHERE k.paper_evidence_id = ev.id)
  AND NOT EXISTS (SELECT 1 FROM repair_application a
                  WHERE a.form_evidence_id = ev.id OR a.photo_ids @> to_jsonb(ev.id))
  AND NOT EXISTS (SELECT 1 FROM village_points_entry vp WHERE vp.evidence_id = ev.id)
"""


async def unusable(uploader_id: int, evidence_ids: Iterable[int]) -> list[int]:
    """The ids among ``evidence_ids`` that ``uploader_id`` may not attach (sorted): not theirs, not
    there, rejected, or used already. Empty: all may be used."""
    wanted = sorted(set(evidence_ids))
    if not wanted:
        return []
    free = {r["id"] for r in await fetch(_FREE_SQL, wanted, uploader_id)}
    return [i for i in wanted if i not in free]
