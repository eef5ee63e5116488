"""信用修复 applications (art. 45).

An application names one negative ledger entry (an original, tied to an event) and a route; its
documents are stored as given (photo ids, the commitment's id). The workflow: ``incomplete`` (every
missing document told at once, 一次性告知, and supplemented later) → ``open`` (complete: the
decision deadline counts from that day) → ``approved`` (the event is repaired through the ledger
and the catalogue's replacement event recorded, ``replacement_event_id``) or ``refused`` (written
reasons the subject reads). An application not yet decided may be withdrawn by its applicant.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# repair_application.status
INCOMPLETE = "incomplete"  # documents missing: listed in ``missing``, all at once
OPEN = "open"  # complete: the recording township decides by ``decide_by``
APPROVED = "approved"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
PENDING = (INCOMPLETE, OPEN)
STATUSES = (INCOMPLETE, OPEN, APPROVED, REFUSED, WITHDRAWN)

# repair_application.channel
APP = "app"  # the subject (or the head of household) in the app
PAPER = "paper"  # a signed paper application, captured by the grid worker with a photo of it


class RepairApplication(Table, tablename="repair_application"):
    """One application to repair one negative entry, from filing to decision."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)
    township_id = Integer(index=True)  # the recording township: "谁认定、谁修复"
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    person_id = Integer(null=True, default=None, index=True)
    household_id = Integer(null=True, default=None, index=True)
    entry_id = BigInt(index=True)  # the negative entry (an original) applied for
    event_id = BigInt(index=True)  # its event: what is repaired
    item_code = Varchar(length=48)
    severity = Varchar(length=16)  # minor | general | serious, as the catalogue says for the item
    display_ends_on = Date()  # the first day a repair could be asked
    route = Varchar(length=24)  # commitment | rectification | training | public_interest
    documents = JSONB(default={})  # name → photo ids (or the commitment id), as given and supplemented
    photo_ids = JSONB(default=[])  # every photo id in ``documents`` (what the evidence slice checks for reuse)
    commitment_id = Integer(null=True, default=None)  # the 守信承诺 commitment, when the route names one
    missing = JSONB(default=[])  # the documents still missing (一次性告知), with their Chinese names
    corrected_on = Date()  # the day the behaviour was corrected (e.g. paid in full): the replacement's date
    statement = Text()  # the applicant's account of the correction
    filed_by = Integer()  # the account that filed (the villager, or the grid worker for a paper form)
    filed_by_role = Varchar(length=16)
    applicant_person_id = Integer(null=True, default=None)  # the person applying (the subject or its head)
    channel = Varchar(length=8, default=APP)
    form_evidence_id = BigInt(null=True, default=None)  # the photo of the signed paper application
    signed_on = Date(null=True, default=None)  # the date on the paper form
    status = Varchar(length=16, default=INCOMPLETE, index=True)
    filed_at = Timestamptz(default=TimestamptzNow())
    filed_on = Date()
    complete_on = Date(null=True, default=None)  # the day the last document came: the deadline counts from it
    decide_by = Date(null=True, default=None)
    warn_on = Date(null=True, default=None)
    warned_at = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_on = Date(null=True, default=None)
    decision_reason = Text(default="")  # written reasons (required either way)
    replacement_event_id = BigInt(null=True, default=None)  # approved: the catalogue's replacement event
