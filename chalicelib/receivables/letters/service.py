"""Collection letters as a workflow: drafted from a receivables request (render_letter),
approved and signed by the head of the letter's branch, or rejected with a reason; once
signed, announced to the employer and downloadable through short-lived links; verifiable by
anyone holding it through the QR code's URL.

States: RENDERING -> DRAFT -> SIGNED, or DRAFT -> REJECTED (a later request for the same
debtor and step drafts a new letter with a new number). fpdf2 and pyHanko are imported only
on the render and approve paths.
"""
from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import random
import secrets
import time
import uuid
from datetime import date
from typing import Callable

from pydantic import ValidationError

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.calendar import Period, jakarta_today
from chalicelib.shared_kernel.errors import (BadRequest, Conflict, Forbidden, NotFound,
                                             ValidationFailed)
from chalicelib.shared_kernel.messaging import MessageRequest
from chalicelib.shared_kernel.records import audit_entry, audit_trail

from .model import Addressee, ArrearsLine, Branch, LetterData, LetterType
from .numbering import InvalidLetterNumber, LetterNumber, format_letter_number, parse_letter_number
from .schemas import LetterRequest
from .store import (DRAFT, NOTHING_OWED, REJECTED, RENDERING, SIGNED, LetterRecord,
                    LetterStore, NumberTaken, RequestTaken)

SYSTEM_ACTOR = "system:render_letter"
# PP 86/2013: a written warning lasts at most 10 working days; the same span is given to
# pay after a surat penagihan and before a handover is pursued.
DEADLINE_WORKING_DAYS = {LetterType.REMINDER: 10, LetterType.SP1: 10, LetterType.SP2: 10,
                         LetterType.LEGAL_HANDOVER: 10}
COPIES_TO = {LetterType.SP2: ("Dinas Tenaga Kerja {city}", "Arsip"),
             LetterType.LEGAL_HANDOVER: ("Arsip",)}
TYPE_LABELS = {LetterType.REMINDER: "Surat Penagihan",
               LetterType.SP1: "Surat Peringatan Pertama (SP1)",
               LetterType.SP2: "Surat Peringatan Kedua (SP2)",
               LetterType.LEGAL_HANDOVER: "Surat Penyerahan Penagihan"}
# Letters the employer receives: a handover goes to the state attorney or KPKNL, not to the
# debtor, through official channels.
TO_EMPLOYER = (LetterType.REMINDER, LetterType.SP1, LetterType.SP2)
DOWNLOAD_LINK_SECONDS = 300
# WhatsApp fetches the document when blast sends, which quiet hours and rate limits can
# delay to the next morning.
DISPATCH_LINK_SECONDS = 48 * 3600
MAX_NUMBER_ATTEMPTS = 40
LIST_ROLES = (Role.BRANCH_HEAD, Role.RECEIVABLES, Role.ADMIN)


class InvalidLetterRequest(ValidationFailed):
    code = "INVALID_LETTER_REQUEST"


class LetterService:
    def __init__(self, store: LetterStore, documents, arrears, employers, keys, calendar, *,
                 clock: Callable, notify: Callable[[MessageRequest], None],
                 requeue: Callable[[dict], None], public_base_url: str,
                 letterhead: Callable[[str], Branch] | None = None, log=None):
        from .sources import letterhead as shared_letterhead

        self.store = store
        self.documents = documents
        self.arrears = arrears
        self.employers = employers
        self.keys = keys
        self.calendar = calendar
        self.clock = clock
        self.notify = notify
        self.requeue = requeue
        self.base_url = public_base_url.rstrip("/")
        self.letterhead = letterhead or shared_letterhead
        self.log = log

    # ================================================================== drafting
    def handle_message(self, message: dict) -> str | None:
        """The render_letter consumer's per-record work. Idempotent per dedupe key: a
        redelivered request finds its letter (and finishes it if a crash interrupted the
        rendering); only a rejected letter is replaced by a new one."""
        try:
            request = LetterRequest.model_validate(message)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise InvalidLetterRequest(
                f"letter request refused: {first.get('msg')}",
                field=".".join(str(p) for p in first.get("loc", ())) or None) from exc
        return self.draft(request)

    def draft(self, request: LetterRequest) -> str | None:
        """The letter answering `request`: its id, or None when nothing is owed any more."""
        previous = self.store.request(request.dedupe_key)
        if previous is not None:
            if previous.outcome == NOTHING_OWED:
                return None
            current = self.store.letter(previous.letter_id)
            if current.status == RENDERING:
                self._finish(current)
                return current.letter_id
            if current.status != REJECTED:
                return current.letter_id
        composed = self._compose(request)
        if composed is None:
            try:
                self.store.record_nothing_owed(request.dedupe_key, previous,
                                               request.model_dump_json(), self.clock())
            except RequestTaken:
                return self.draft(request)
            self._info("letter_nothing_owed", dedupe_key=request.dedupe_key)
            return None
        try:
            letter = self._allocate(request, *composed, previous)
        except RequestTaken:
            return self.draft(request)  # another delivery answered it: finish that one
        self._finish(letter)
        return letter.letter_id

    def _compose(self, request: LetterRequest) -> tuple[LetterData, list[str]] | None:
        """The letter's content from today's facts, and the unpaid bills it covers,
        validated before a number is drawn (a number is never spent on a letter that cannot
        be rendered). None: nothing is owed on the request's bills any more."""
        bills = self.arrears.bills(request.bill_ids)
        missing = set(request.bill_ids) - {b.bill_id for b in bills}
        if missing:
            self._info("letter_bills_missing", dedupe_key=request.dedupe_key,
                       bill_ids=sorted(missing))
        for bill in bills:
            if bill.party_key != request.debtor_key or bill.kind != "EMPLOYER":
                raise InvalidLetterRequest(f"bill {bill.bill_id} is not a bill of "
                                           f"{request.debtor_key}", field="bill_ids")
        unpaid = sorted((b for b in bills if b.outstanding), key=lambda b: b.period)
        if not unpaid:
            return None
        employer = self.employers.employer(request.employer_id)
        if employer.npp != request.npp:
            raise InvalidLetterRequest("the request's NPP is not the employer's", field="npp")
        letter_type = LetterType(request.letter_type)
        branch = self.letterhead(request.branch)
        issued_on = request.as_of
        lines: list[ArrearsLine] = []
        for bill in unpaid:
            lines.extend(self.arrears.lines(bill, issued_on))
        copies = tuple(c.format(city=branch.city) for c in COPIES_TO.get(letter_type, ()))
        placeholder = format_letter_number(1, letter_type, branch.code, issued_on,
                                           legal_handover_target=request.legal_handover_target)
        content = LetterData(
            letter_type=letter_type, number=placeholder, issued_on=issued_on, branch=branch,
            addressee=Addressee(employer_name=employer.name, npp=employer.npp,
                                address=employer.address),
            lines=tuple(lines), payment_code="-",
            deadline=self.calendar.add_working_days(issued_on,
                                                    DEADLINE_WORKING_DAYS[letter_type]),
            verification_url=f"{self.base_url}/v1/letters/verify/0",
            legal_handover_target=request.legal_handover_target, copies_to=copies)
        return content, [b.bill_id for b in unpaid]

    def _allocate(self, request: LetterRequest, content: LetterData, unpaid_ids: list[str],
                  previous) -> LetterRecord:
        """Draws the next number of the letter's scope and writes the letter in one
        transaction; when another letter took that number first, reads again and retries."""
        payment_code = self.arrears.issue_code(
            unpaid_ids, valid_from=content.deadline, issued_by=SYSTEM_ACTOR,
            reason=f"{content.letter_type.value} {request.dedupe_key}")
        letter_id = new_letter_id()
        attempt = (previous.attempt + 1) if previous is not None else 1
        scope = LetterNumber(1, content.letter_type, content.branch.code,
                             content.issued_on.month, content.issued_on.year,
                             content.legal_handover_target).sequence_scope
        now = self.clock()
        snapshot = _snapshot(content)
        for round_ in range(MAX_NUMBER_ATTEMPTS):
            last = self.store.last_number(scope)
            sequence = last + 1
            number = format_letter_number(sequence, content.letter_type, content.branch.code,
                                          content.issued_on,
                                          legal_handover_target=content.legal_handover_target)
            letter = LetterRecord(
                letter_id, dedupe_key=request.dedupe_key, attempt=attempt,
                letter_type=content.letter_type.value,
                legal_handover_target=request.legal_handover_target,
                debtor_key=request.debtor_key, employer_id=request.employer_id,
                npp=content.addressee.npp, employer_name=content.addressee.employer_name,
                branch=content.branch.code, number=number, sequence=sequence,
                number_scope=scope, issued_on=content.issued_on.isoformat(),
                deadline=content.deadline.isoformat(), status=RENDERING,
                status_key=f"{content.branch.code}#{RENDERING}",
                created_sort=f"{now.isoformat()}#{letter_id}",
                check_code=_check_code(), bill_ids=unpaid_ids, total=content.total,
                payment_code=payment_code, content=snapshot, created_at=now, updated_at=now)
            audit = audit_entry(f"letter#{letter_id}", SYSTEM_ACTOR, "LETTER_DRAFTED",
                                details={"number": number, "dedupe_key": request.dedupe_key,
                                         "bill_ids": unpaid_ids, "total": content.total},
                                at=now)
            try:
                self.store.create(letter, expected_last=last, previous=previous,
                                  request_json=request.model_dump_json(), audit=audit)
            except NumberTaken:
                # Jittered, growing pause: concurrent drafts in one scope spread out.
                time.sleep(random.uniform(0, 0.004 * (round_ + 1)))
                continue
            self._info("letter_numbered", letter_id=letter_id, number=number,
                       retries=round_)
            return letter
        raise Conflict(f"no letter number could be drawn in {scope} after "
                       f"{MAX_NUMBER_ATTEMPTS} tries; the message will be retried",
                       code="LETTER_NUMBER_CONTENDED")

    def _finish(self, letter: LetterRecord) -> None:
        """RENDERING -> DRAFT: renders the stored content (same content, same bytes) and
        stores the PDF. Safe to run twice."""
        from .render import render_letter_pdf

        pdf = render_letter_pdf(self.letter_data(letter))
        stored = self.documents.put(
            self.documents.key_for(letter.branch, letter.issued_on[:4], letter.letter_id,
                                   "draft.pdf"),
            pdf, metadata={"letter-id": letter.letter_id, "letter-number": letter.number,
                           "document": "draft"})
        try:
            self.store.store_draft(letter, key=stored.key, version=stored.version,
                                   sha256=stored.sha256, now=self.clock())
        except Conflict:
            return  # finished by another delivery of the same request
        self._info("letter_drafted", letter_id=letter.letter_id, number=letter.number,
                   branch=letter.branch, letter_type=letter.letter_type)

    def letter_data(self, letter: LetterRecord) -> LetterData:
        content = letter.content_dict()
        return LetterData(
            letter_type=LetterType(letter.letter_type), number=letter.number,
            issued_on=date.fromisoformat(letter.issued_on), branch=Branch(**content["branch"]),
            addressee=Addressee(**content["addressee"]),
            lines=tuple(ArrearsLine(Period.parse(p), program, c, f)
                        for p, program, c, f in content["lines"]),
            payment_code=letter.payment_code, deadline=date.fromisoformat(letter.deadline),
            verification_url=self.verification_url(letter),
            legal_handover_target=letter.legal_handover_target,
            copies_to=tuple(content.get("copies_to", ())))

    def verification_url(self, letter: LetterRecord) -> str:
        return (f"{self.base_url}/v1/letters/verify/{url_reference(letter.number)}"
                f"?c={letter.check_code}")

    # ================================================================== approval
    def approve(self, letter_id: str, principal: Principal) -> dict:
        """Signs the letter with its branch head's key (PAdES) and announces it. Approving a
        signed letter answers it again (and re-sends an announcement that failed): one
        letter, one signature."""
        letter = self.store.letter(letter_id)
        self._require_head(letter, principal)
        if letter.status == SIGNED:
            self._dispatch(letter)
            return self.view(letter)
        if letter.status != DRAFT:
            raise Conflict(f"the letter is {letter.status}; only a DRAFT can be approved",
                           code="LETTER_NOT_DRAFT")
        unpaid = {b.bill_id for b in self.arrears.bills(letter.bill_ids) if b.outstanding}
        settled = set(letter.bill_ids) - unpaid
        if settled:
            raise Conflict(f"{len(settled)} of the letter's bills were settled after it was "
                           "drafted, so its figures no longer hold; reject it and a new "
                           "letter will be drafted", code="LETTER_OUTDATED",
                           details={"settled_bill_ids": sorted(settled)})
        identity = self.keys.identity(letter.branch)  # SigningKeyMissing: stays DRAFT
        draft = self.documents.get(letter.pdf_key, letter.pdf_version, letter.pdf_sha256)
        from .signing import DEFAULT_REASON, sign_pdf

        content = letter.content_dict()
        signed = sign_pdf(draft, identity.key_pem, identity.cert_pem, identity.ca_cert_pem,
                          reason=DEFAULT_REASON, location=content["branch"]["city"],
                          signer_name=content["branch"]["head_name"])
        now = self.clock()
        stored = self.documents.put(
            self.documents.key_for(letter.branch, letter.issued_on[:4], letter.letter_id,
                                   f"signed-{uuid.uuid4().hex[:8]}.pdf"),
            signed, metadata={"letter-id": letter.letter_id, "letter-number": letter.number,
                              "document": "signed", "draft-sha256": letter.pdf_sha256})
        audit = audit_entry(f"letter#{letter.letter_id}", principal.subject, "LETTER_SIGNED",
                            reason=DEFAULT_REASON, at=now,
                            details={"number": letter.number, "sha256": stored.sha256,
                                     "draft_sha256": letter.pdf_sha256})
        try:
            self.store.sign(letter, key=stored.key, version=stored.version,
                            sha256=stored.sha256, signed_by=principal.subject,
                            signer_name=content["branch"]["head_name"], now=now, audit=audit)
        except Conflict:
            # Another approval (or a rejection) won: this signature is not the letter's.
            self._discard(stored)
            winner = self.store.letter(letter_id)
            if winner.status == SIGNED:
                return self.view(winner)
            raise
        letter = self.store.letter(letter_id)
        self._info("letter_signed", letter_id=letter_id, number=letter.number)
        self._dispatch(letter)
        return self.view(letter)

    def _discard(self, stored) -> None:
        """Best effort: an unreferenced signed copy is harmless, a failed request is not."""
        try:
            self.documents.discard(stored.key, stored.version)
        except Exception as exc:  # noqa: BLE001 - logged; the record decides what counts
            if self.log:
                self.log.warning("letter_discard_failed",
                                 extra={"key": stored.key, "error": str(exc)})

    def reject(self, letter_id: str, reason: str, principal: Principal) -> dict:
        letter = self.store.letter(letter_id)
        self._require_head(letter, principal)
        if letter.status == REJECTED:
            return self.view(letter)
        if letter.status == SIGNED:
            raise Conflict("a signed letter is final and cannot be rejected",
                           code="LETTER_ALREADY_SIGNED")
        if letter.status != DRAFT:
            raise Conflict(f"the letter is {letter.status}; only a DRAFT can be rejected",
                           code="LETTER_NOT_DRAFT")
        now = self.clock()
        audit = audit_entry(f"letter#{letter_id}", principal.subject, "LETTER_REJECTED",
                            reason=reason, details={"number": letter.number}, at=now)
        self.store.reject(letter, reason=reason, rejected_by=principal.subject, now=now,
                          audit=audit)
        return self.view(self.store.letter(letter_id))

    def regenerate(self, letter_id: str, principal: Principal) -> dict:
        """Queues the request of a rejected letter again, as of today: the consumer drafts a
        new letter (new number) from the facts of today."""
        letter = self.store.letter(letter_id)
        principal.require_role([Role.BRANCH_HEAD, Role.RECEIVABLES, Role.ADMIN])
        principal.require_branch(letter.branch)
        request = self.store.request(letter.dedupe_key)
        if letter.status != REJECTED or request is None or request.letter_id != letter_id:
            raise Conflict("only the latest letter of a request, once rejected, can be "
                           "drafted again", code="LETTER_NOT_REJECTED")
        message = {**json.loads(request.request),
                   "as_of": jakarta_today(self.clock()).isoformat()}
        self.requeue(message)
        return {"dedupe_key": letter.dedupe_key, "queued": True}

    def _require_head(self, letter: LetterRecord, principal: Principal) -> None:
        if principal.role is not Role.BRANCH_HEAD:
            raise Forbidden("only the head of the letter's branch may approve or reject it",
                            code="ROLE_FORBIDDEN")
        if principal.branch != letter.branch:
            raise Forbidden("this letter belongs to another branch", code="BRANCH_FORBIDDEN")

    # ================================================================== dispatch
    def _dispatch(self, letter: LetterRecord) -> None:
        """Asks blast to announce the signed letter to the employer (WhatsApp document, SMS
        link as fallback). blast sends at most once per dedupe key; a failure here leaves the
        letter undispatched and the next approve call retries it."""
        if letter.dispatched_at is not None or LetterType(letter.letter_type) not in TO_EMPLOYER:
            return
        try:
            url = self.documents.presigned_url(letter.signed_key, letter.signed_version,
                                               download_filename(letter), DISPATCH_LINK_SECONDS)
            self.notify(MessageRequest(
                dedupe_key=f"letter:{letter.letter_id}:available", template="letter_available",
                recipient_kind="EMPLOYER", recipient_id=letter.employer_id,
                params={"nama": letter.employer_name, "npp": letter.npp,
                        "jenis_surat": TYPE_LABELS[LetterType(letter.letter_type)],
                        "nomor_surat": letter.number, "total_tunggakan": int(letter.total),
                        "dokumen_url": url, "dokumen_nama": download_filename(letter),
                        "tautan": f"{self.base_url}/v1/letters/{letter.letter_id}/download"},
                source="letter", branch=letter.branch))
            self.store.mark_dispatched(letter, self.clock())
        except Exception as exc:  # noqa: BLE001 - the signature stands; approve retries this
            if self.log:
                self.log.warning("letter_dispatch_failed",
                                 extra={"letter_id": letter.letter_id, "error": str(exc)})

    # ================================================================== reading
    def get(self, letter_id: str, principal: Principal) -> dict:
        letter = self.store.letter(letter_id)
        self._require_reader(letter, principal)
        view = self.view(letter)
        if principal.is_staff:
            view["audit"] = audit_trail(f"letter#{letter_id}")
        return view

    def download(self, letter_id: str, principal: Principal) -> dict:
        letter = self.store.letter(letter_id)
        self._require_reader(letter, principal)
        if letter.status == SIGNED:
            key, version, sha, document = (letter.signed_key, letter.signed_version,
                                           letter.signed_sha256, "signed")
        elif letter.pdf_key:
            key, version, sha, document = (letter.pdf_key, letter.pdf_version,
                                           letter.pdf_sha256, "draft")
        else:
            raise Conflict("the letter is still being rendered; try again shortly",
                           code="LETTER_NOT_READY")
        filename = download_filename(letter)
        return {"letter_id": letter.letter_id, "number": letter.number, "document": document,
                "url": self.documents.presigned_url(key, version, filename,
                                                    DOWNLOAD_LINK_SECONDS),
                "expires_in": DOWNLOAD_LINK_SECONDS, "filename": filename, "sha256": sha}

    def _require_reader(self, letter: LetterRecord, principal: Principal) -> None:
        """Staff of the letter's branch; the employer it is addressed to, once signed."""
        if principal.role is Role.EMPLOYER:
            if principal.npp != letter.npp:
                raise Forbidden("this letter is not addressed to you", code="NPP_FORBIDDEN")
            if (letter.status != SIGNED
                    or LetterType(letter.letter_type) not in TO_EMPLOYER):
                raise NotFound(f"no letter {letter.letter_id}", code="LETTER_NOT_FOUND")
            return
        if not principal.is_staff:
            raise Forbidden("letters are for the employer and branch staff",
                            code="ROLE_FORBIDDEN")
        principal.require_branch(letter.branch)

    def list(self, principal: Principal, *, branch: str | None, status: str | None,
             limit: int, next_token: str | None) -> dict:
        start = _decode_token(next_token)
        if principal.role is Role.EMPLOYER:
            if status not in (None, SIGNED):
                raise Forbidden("employers see their signed letters only",
                                code="STATUS_FORBIDDEN")
            items, last = self.store.of_npp(principal.npp, SIGNED, limit, start)
            items = [i for i in items if LetterType(i.letter_type) in TO_EMPLOYER]
        else:
            principal.require_role(LIST_ROLES)
            branch = branch or principal.branch
            if not branch:
                raise BadRequest("branch is required", code="BRANCH_REQUIRED")
            principal.require_branch(branch)
            items, last = self.store.of_branch(branch, status or DRAFT, limit, start)
        return {"items": [self.view(i) for i in items], "next_token": _encode_token(last)}

    def view(self, letter: LetterRecord) -> dict:
        content = letter.content_dict()
        lines = [{"period": p, "program": program, "contribution": c, "fine": f}
                 for p, program, c, f in content["lines"]]
        return {
            "letter_id": letter.letter_id, "number": letter.number,
            "letter_type": letter.letter_type,
            "legal_handover_target": letter.legal_handover_target, "status": letter.status,
            "branch_code": letter.branch, "employer_id": letter.employer_id, "npp": letter.npp,
            "employer_name": letter.employer_name, "issued_on": letter.issued_on,
            "deadline": letter.deadline, "total": int(letter.total),
            "total_contribution": sum(line["contribution"] for line in lines),
            "total_fine": sum(line["fine"] for line in lines),
            "payment_code": letter.payment_code, "bill_ids": list(letter.bill_ids),
            "lines": lines, "pdf_sha256": letter.pdf_sha256,
            "signed_sha256": letter.signed_sha256,
            "signed_at": letter.signed_at.isoformat() if letter.signed_at else None,
            "signed_by": letter.signer_name, "rejected_reason": letter.rejected_reason,
            "dispatched": letter.dispatched_at is not None,
            "verification_url": self.verification_url(letter),
            "created_at": letter.created_at.isoformat(),
        }

    # ================================================================== verification
    def verify(self, reference: str, code: str | None, sha256: str | None) -> dict:
        """Whether a letter with this number (and the QR's code, or the hash of the file
        held) was issued and signed. Says nothing beyond the employer's name, and nothing at
        all without a matching code or hash (numbers are sequential, so guessable)."""
        number = number_from_reference(reference)
        if not code and not sha256:
            raise BadRequest("give the code from the QR URL (c) or the file's SHA-256 (h)",
                             code="VERIFICATION_CODE_REQUIRED")
        sha256 = sha256.lower() if sha256 else None
        letter = self.store.by_number(number)
        known = letter is not None and (
            (code is not None and hmac.compare_digest(code.encode(), letter.check_code.encode()))
            or (sha256 is not None and sha256 in (letter.signed_sha256, letter.pdf_sha256)))
        if not known:
            return {"number": number, "issued": False, "signed": False,
                    "message": "Tidak ada surat BPJS Ketenagakerjaan dengan nomor dan kode "
                               "tersebut. Surat ini tidak dapat dipastikan keasliannya."}
        content = letter.content_dict()
        signed = letter.status == SIGNED
        result = {"number": number, "issued": signed, "signed": signed,
                  "status": letter.status,
                  "letter_type": TYPE_LABELS[LetterType(letter.letter_type)],
                  "issued_on": letter.issued_on, "branch_name": content["branch"]["name"],
                  "employer_name": letter.employer_name}
        if signed:
            matches = None if sha256 is None else sha256 == letter.signed_sha256
            result.update(signed_at=letter.signed_at.isoformat(), signer=letter.signer_name,
                          document_sha256=letter.signed_sha256, hash_matches=matches)
            result["message"] = (
                "Surat ini asli: diterbitkan dan ditandatangani secara elektronik oleh "
                f"{letter.signer_name}, {content['branch']['head_title']} "
                f"{content['branch']['name']}."
                if matches is not False else
                "Nomor surat terdaftar, tetapi berkas ini bukan salinan yang ditandatangani: "
                "periksa kembali berkas Anda.")
        elif letter.status == REJECTED:
            result["message"] = "Surat dengan nomor ini dibatalkan dan tidak berlaku."
        else:
            result["message"] = "Surat ini belum ditandatangani dan belum berlaku."
        return result

    def _info(self, event: str, **fields) -> None:
        if self.log:
            self.log.info(event, extra=fields)


# ---------------------------------------------------------------- helpers

def new_letter_id() -> str:
    """Short (it goes into SMS links) and unguessable: "L" + 12 base32 characters."""
    return "L" + base64.b32encode(secrets.token_bytes(8)).decode()[:12]


def _check_code() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode()[:12]


def url_reference(number: str) -> str:
    """A letter number in a URL path: "12/SP1/KC-BLT/XII/2026" -> "12-SP1-KC-BLT-XII-2026"
    (slashes would be path separators; branch codes and type codes hold no dash)."""
    return number.replace("/", "-")


def number_from_reference(reference: str) -> str:
    parts = reference.split("-")
    if len(parts) != 6 or parts[2] != "KC":
        raise InvalidLetterNumber(f"{reference!r} is not a letter reference like "
                                  "'12-SP1-KC-BLT-XII-2026'", field="reference")
    number = f"{parts[0]}/{parts[1]}/KC-{parts[3]}/{parts[4]}/{parts[5]}"
    parse_letter_number(number)  # canonical form only
    return number


def download_filename(letter: LetterRecord) -> str:
    return f"Surat_{url_reference(letter.number)}.pdf"


def _snapshot(content: LetterData) -> str:
    return json.dumps({
        "branch": dataclasses.asdict(content.branch),
        "addressee": dataclasses.asdict(content.addressee),
        "lines": [[str(line.period), line.program, line.contribution, line.fine]
                  for line in content.sorted_lines()],
        "copies_to": list(content.copies_to),
    }, separators=(",", ":"))


def _encode_token(last: dict | None) -> str | None:
    if not last:
        return None
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode()


def _decode_token(token: str | None) -> dict | None:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("next_token is not one this API issued",
                               field="next_token") from exc
