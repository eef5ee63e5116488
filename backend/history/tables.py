"""History imports: one row per import run (an admin's upload or a ``cunxin import-events``).

The run holds its progress, counts and row report (bad rows by number, code and reason; ID
numbers only masked) and the file's SHA-256. The uploaded file itself is kept encrypted only
until the run ends (``content`` is cleared then): the events it brought are in the ledger, and the
ledger — not this table — is the record.
"""

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import County

QUEUED, RUNNING, DONE, REJECTED, FAILED = "queued", "running", "done", "rejected", "failed"
STATUSES = (QUEUED, RUNNING, DONE, REJECTED, FAILED)
ALL_OR_NOTHING, VALID_ROWS = "all_or_nothing", "valid_rows"


class HistoryImport(Table, tablename="history_import"):
    """历史事件导入 — one import run of a county's history file."""

    id = Serial(primary_key=True)
    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    channel = Varchar(length=8)                     # api | cli
    file_name = Varchar(length=255, default="")
    file_kind = Varchar(length=8)                   # xlsx | csv
    file_sha256 = Varchar(length=64, index=True)
    content = Text(null=True, default=None)         # the file, encrypted, until the run ends
    mode = Varchar(length=16, default=ALL_OR_NOTHING)
    dry_run = Boolean(default=False)
    status = Varchar(length=16, default=QUEUED)
    progress_done = Integer(default=0)
    progress_total = Integer(null=True, default=None)
    rows_read = Integer(null=True, default=None)
    rows_invalid = Integer(null=True, default=None)
    rows_imported = Integer(null=True, default=None)
    rows_already = Integer(null=True, default=None)
    report = JSONB(default=[])                      # bad rows: {row, field, column, code, message_zh, message_en}
    already_rows = JSONB(default=[])                # row numbers whose events were imported before
    error_code = Varchar(length=48, default="")
    error_zh = Text(default="")
    requested_by = Integer(null=True, default=None)  # the account (None: the command line)
    requested_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
