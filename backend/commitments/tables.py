"""信用承诺 — commitment templates of a county and the commitments subjects sign from them.

A template's text never changes (a trigger refuses it; the database checks ``text_sha256`` is the
SHA-256 of ``text``): a new wording is a new template row, and a commitment keeps the template id
and the text's hash it was signed under. Only ``active`` may change on a template (withdrawn from
new signing).

A commitment is signed (in the app, or on paper captured with a photo of the signed sheet), runs
for its term and is decided once, kept or broken; the decision and its ledger event
(COMMITMENT-KEPT / COMMITMENT-BROKEN, idempotency key ``commitment:{id}``) are written in one
transaction. The signing columns never change; a decided commitment never changes at all; nothing
is ever deleted (triggers in the guarantees migration).
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Date, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# credit_commitment.status
SIGNED = "signed"  # running (or due: check date reached, not decided yet)
KEPT = "kept"  # fulfilled: a COMMITMENT-KEPT event
BROKEN = "broken"  # breached, with evidence: a COMMITMENT-BROKEN event
STATUSES = (SIGNED, KEPT, BROKEN)

# credit_commitment.channel
APP = "app"  # the villager in the app (for themself, or as head for the household)
PAPER = "paper"  # a signed sheet, captured with a photo of it


class CommitmentTemplate(Table, tablename="commitment_template"):
    """承诺书模板 — one wording of a commitment for one purpose in one county; immutable text."""

    id = Serial(primary_key=True)
    county_id = Integer(index=True)
    purpose = Varchar(length=32, index=True)  # points_rules.commitments.PURPOSES
    title = Varchar(length=100)
    text = Text()
    text_sha256 = Varchar(length=64, default="")  # set by the database on insert (SHA-256 of text)
    term_months = Integer(default=12)  # the default term of commitments signed from it
    active = Boolean(default=True)  # offered for new signing
    created_by = Integer(null=True, default=None)  # the county admin's account; NULL for the shipped defaults
    created_at = Timestamptz(default=TimestamptzNow())


class CreditCommitment(Table, tablename="credit_commitment"):
    """信用承诺 — one signed commitment of a person, household or organisation, from signing to decision."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)
    township_id = Integer(index=True)  # where the subject sat when it signed: the township decides
    village_id = Integer(null=True, default=None)
    grid_id = Integer(null=True, default=None)  # the grid worker's view: commitments of their grids
    household_id = Integer(null=True, default=None, index=True)
    person_id = Integer(null=True, default=None, index=True)  # a person subject
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    template_id = Integer(index=True)
    purpose = Varchar(length=32)  # the template's, kept here: what a repair asks for
    text_sha256 = Varchar(length=64)  # the text signed
    signed_by_person_id = Integer(null=True, default=None)  # the person who signed (self, or the head); NULL: an organisation
    recorded_by = Integer()  # the account: the villager, or the grid worker who captured the paper
    recorded_by_role = Varchar(length=16)
    idempotency_key = Varchar(length=64)  # the client's, unique per recorder (a retried signing writes once)
    payload_hash = Varchar(length=64)
    channel = Varchar(length=8, default=APP)
    paper_evidence_id = BigInt(null=True, default=None)  # the photo of the signed sheet (paper only)
    signed_on = Date()
    term_months = Integer()
    check_on = Date()  # the term's last day: decided kept from then on
    status = Varchar(length=16, default=SIGNED, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_on = Date(null=True, default=None)  # local date of decided_at
    decision_evidence_ids = JSONB(default=[])  # photos linked to the decision's ledger event
    decision_note = Text(default="")
    event_id = BigInt(null=True, default=None)  # the COMMITMENT-KEPT / COMMITMENT-BROKEN event
