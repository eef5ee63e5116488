"""异议 on ledger entries and credit events (art. 46).

An objection never touches the ledger: the disputed mark *is* the open objection row. While it is
open, the entries it names stop counting (live standing, official ratings, bank answers); the
decision is an update of this workflow row (its filing columns are frozen by a trigger), and an
upheld objection's correction is a reversing ledger entry (``correction_entry_id``).

What is disputed: for an entry tied to an event, the event (``event_id``) — every entry the event
has in force, so a re-scoring while the case is open cannot slip a replacement entry past the
mark; for an entry with no event, that entry alone (``entry_id``).
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# entry_objection.status
OPEN = "open"
UPHELD = "upheld"  # corrected: a reversing entry through the ledger (correction_entry_id)
REFUSED = "refused"  # not corrected: written reasons the subject sees
STATUSES = (OPEN, UPHELD, REFUSED)

# entry_objection.channel
APP = "app"  # the subject in the app
PAPER = "paper"  # a signed form, captured by the grid worker with a photo of it


class EntryObjection(Table, tablename="entry_objection"):
    """One objection to one ledger entry (or the event behind it), from filing to decision."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)
    township_id = Integer(index=True)  # the recording township: "who recorded it decides"
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    person_id = Integer(null=True, default=None, index=True)
    household_id = Integer(null=True, default=None, index=True)
    entry_id = BigInt(index=True)  # the entry objected to (an original, never a reversal)
    event_id = BigInt(null=True, default=None, index=True)  # its event: what is disputed, when there is one
    filed_by = Integer()  # the account that filed (the villager, or the grid worker for a paper form)
    filed_by_role = Varchar(length=16)
    filed_for_person_id = Integer(null=True, default=None)  # the person objecting (the subject or its head)
    channel = Varchar(length=8, default=APP)
    form_evidence_id = BigInt(null=True, default=None)  # the photo of the signed paper form
    signed_on = Date(null=True, default=None)  # the date on the paper form
    evidence_ids = JSONB(default=[])  # further evidence photos (the filer's own, unused)
    reason = Text()
    status = Varchar(length=16, default=OPEN, index=True)
    filed_at = Timestamptz(default=TimestamptzNow())
    filed_on = Date()  # local date of filed_at: the deadlines count from it
    mark_by = Date()  # legal deadline to mark the record disputed (1 working day)
    disputed_marked_on = Date()  # when it was marked: on filing, at once
    respond_by = Date()  # legal deadline for the decision (7 working days)
    warn_on = Date()  # the township is warned from this day (2 working days before respond_by)
    warned_at = Timestamptz(null=True, default=None)  # when the warning cron put it in the due-soon queue
    escalated_at = Timestamptz(null=True, default=None)  # when the escalation cron sent it to the county
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_on = Date(null=True, default=None)  # local date of decided_at
    decision_reason = Text(default="")  # written reasons (required either way)
    correction_entry_id = BigInt(null=True, default=None)  # upheld: the reversing entry
