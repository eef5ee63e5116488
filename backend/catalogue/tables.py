"""A county's own catalogue versions (目录版本), uploaded by one county admin and published by another.

A row is an upload: the exact YAML text as sent, its SHA-256, and what the file says it is
(version id, effective date, title). It stays a ``draft`` until a *second* county admin of the
same county publishes it (maker-checker: ``published_by`` ≠ ``uploaded_by``, also a CHECK in the
database). Nothing about the file ever changes — not even in a draft (a correction is a new
upload) — and no row is ever deleted; a trigger enforces both. Once published, the version is in
that county's catalogue set (``backend.ledger.catalogue.catalogues(county_id)``) beside the shipped
versions; the re-scoring of the events it now governs is tracked on the row (``rescore_*``).
"""

from piccolo.columns import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import County

DRAFT, PUBLISHED = "draft", "published"
STATUSES = (DRAFT, PUBLISHED)
# rescore_status: nothing to do (future date) / queued / running / done / failed
RESCORE_NONE, RESCORE_QUEUED, RESCORE_RUNNING, RESCORE_DONE, RESCORE_FAILED = "none", "queued", "running", "done", "failed"
RESCORE_STATUSES = (RESCORE_NONE, RESCORE_QUEUED, RESCORE_RUNNING, RESCORE_DONE, RESCORE_FAILED)


class CountyCatalogueVersion(Table, tablename="county_catalogue_version"):
    """县（区）积分目录版本 — one uploaded version of a county's catalogue, draft or published."""

    id = Serial(primary_key=True)
    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    version = Varchar(length=16)                  # "2026.3": unique among the county's set, never a shipped id
    effective_from = Date()
    title_zh = Text()
    yaml = Text()                                 # the exact text uploaded
    sha256 = Varchar(length=64)                   # of the UTF-8 bytes of ``yaml``
    status = Varchar(length=16, default=DRAFT, index=True)
    uploaded_by = Integer()
    uploaded_at = Timestamptz(default=TimestamptzNow())
    published_by = Integer(null=True, default=None)
    published_at = Timestamptz(null=True, default=None)
    rescore_status = Varchar(length=16, default=RESCORE_NONE)
    rescore_total = Integer(null=True, default=None)   # subjects to re-score
    rescore_done = Integer(default=0)
    rescore_entries = Integer(default=0)               # compensating entries appended
    rescore_error = Text(default="")
    rescore_started_at = Timestamptz(null=True, default=None)
    rescore_heartbeat_at = Timestamptz(null=True, default=None)
    rescore_finished_at = Timestamptz(null=True, default=None)
