"""Uploaded photos. Only the re-encoded, metadata-free image is kept, never the upload itself."""

from piccolo.columns import BigInt, BigSerial, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.auth.tables import Account

# evidence.status
PENDING = "pending"  # stored in the incoming area, waiting for the worker
READY = "ready"  # processed: image + thumbnail stored, metadata stripped
REJECTED = "rejected"  # not a usable image (reason in error_code / error_message_zh)


class Evidence(Table, tablename="evidence"):
    """证据照片 — one uploaded photo, optionally linked to one credit event."""

    id = BigSerial(primary_key=True)
    uploaded_by = ForeignKey(Account, null=False, index=True, on_delete=OnDelete.restrict)
    event = BigInt(null=True, default=None, index=True)
    status = Varchar(length=16, default=PENDING)
    declared_format = Varchar(length=8, default="")
    byte_size = Integer(default=0)
    incoming_key = Varchar(length=128, default="")
    image_key = Varchar(length=128, default="")
    thumbnail_key = Varchar(length=128, default="")
    width = Integer(default=0)
    height = Integer(default=0)
    sha256 = Varchar(length=64, default="", index=True)
    phash = Varchar(length=16, default="", index=True)
    detail = SmallInt(null=True, default=None)  # reuse.detail of the phash; NULL = not measured (hash unused)
    reuse_of = BigInt(null=True, default=None)
    attempts = SmallInt(default=0)  # processing attempts so far; capped (services.MAX_PROCESSING_ATTEMPTS)
    error_code = Varchar(length=32, default="")
    error_message_zh = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    processed_at = Timestamptz(null=True, default=None)
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database
