"""Collection letters on moto: drafted by the render_letter consumer from real bills, numbered
gap-free, approved and signed by the head of the branch, announced, downloaded, verified."""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from io import BytesIO

import pytest

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.integration.factories import CONTEXT, Parties, drain, handler, post

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
MONTH_STARTS = [datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA),
                datetime(2027, 1, 1, 0, 5, tzinfo=JAKARTA),
                datetime(2027, 2, 1, 0, 5, tzinfo=JAKARTA)]
DEC_16 = date(2026, 12, 16)
FEB_16 = date(2027, 2, 16)
HEAD_HEADERS = {"role": "BRANCH_HEAD", "branch": "BLT"}
# The Blitar branch head in shared_kernel/data/branches.toml signs BLT's letters.
HEAD_NAME = "Drs. Hendra Wijaya, M.M."
MONTHLY = 477_000  # the employer's bill: one worker on 5,000,000, JKK risk group II


@pytest.fixture(scope="session")
def signing_dir(tmp_path_factory):
    from chalicelib.receivables.letters.keys import ensure_local_signing_keys

    directory = tmp_path_factory.mktemp("signing")
    ensure_local_signing_keys(directory, ["BLT"])  # no key for MDN or MJK
    return directory


@pytest.fixture
def settings(jwt_keys, signing_dir):
    from chalicelib.shared_kernel.config import Settings

    _, public_path = jwt_keys
    return Settings(stage="test", resource_prefix="smile-test",
                    bucket_name="smile-test-documents", jwt_public_key_path=str(public_path),
                    public_base_url="https://smile.test", signing_keys_dir=str(signing_dir))


_HEADERS: dict = {}


@pytest.fixture
def auth_header(token):
    """Headers per principal, signed once per session (parsing the RS256 key for each
    token costs ~70 ms; the session's tokens live an hour)."""
    made = _HEADERS

    def make(role: str = "ADMIN", **kwargs) -> dict:
        key = (role, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = {"Authorization": f"Bearer {token(role, **kwargs)}",
                         "Content-Type": "application/json"}
        return made[key]

    return make


@pytest.fixture
def at(stack):
    def set_clock(moment):
        if isinstance(moment, date) and not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day, 9, 0, tzinfo=JAKARTA)
        stack.clock = lambda: moment
    set_clock(NOV_20)
    return set_clock


@pytest.fixture
def debtor(client, auth_header, at):
    """An employer registered in November 2026 with one worker, billed for `months` months
    (November 2026 onwards) and paying none of them."""
    from tests.integration.factories import run_schedule

    parties = Parties(client, auth_header)

    def make(months: int = 1, **employer_fields) -> dict:
        at(NOV_20)
        employer = parties.employer(jkk_risk_class=2, **employer_fields)
        employer.update(client.http.get(f"/v1/employers/{employer['employer_id']}",
                                        headers=auth_header("ADMIN", branch=None)).json_body)
        parties.worker(employer["npp"], 5_000_000)
        for moment in MONTH_STARTS[:months]:
            at(moment)
            run_schedule("generate_monthly_bills", moment)
        bills = client.http.get(f"/v1/bills?npp={employer['npp']}",
                                headers=auth_header("RECEIVABLES", branch="BLT")).json_body
        employer["bills"] = sorted(bills["items"], key=lambda b: b["period"])
        assert len(employer["bills"]) == months
        return employer

    return make


def letter_request(employer: dict, letter_type: str = "REMINDER", as_of: date = DEC_16, *,
                   target: str | None = None, bill_ids=None, step: str | None = None) -> dict:
    bill_ids = bill_ids or [b["bill_id"] for b in employer["bills"]]
    anchor = employer["bills"][0]["due_date"]
    return {"type": "letter_request",
            "dedupe_key": f"letter:EMP#{employer['employer_id']}:{step or letter_type}:{anchor}",
            "letter_type": letter_type, "legal_handover_target": target,
            "debtor_key": f"EMP#{employer['employer_id']}", "employer_id": employer["employer_id"],
            "npp": employer["npp"], "branch": "BLT", "bill_ids": bill_ids,
            "as_of": as_of.isoformat()}


def submit(stack, *messages) -> int:
    for message in messages:
        stack.queues.send("letters", message)
    return drain("letters")


def letters_of(client, auth_header, status="DRAFT", **who) -> list[dict]:
    headers = auth_header(**(who or {"role": "RECEIVABLES", "branch": "BLT"}))
    response = client.http.get(f"/v1/letters?status={status}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def only_letter(client, auth_header, status="DRAFT") -> dict:
    [letter] = letters_of(client, auth_header, status)
    return letter


def stored_pdf(stack, letter: dict, document: str = "draft") -> tuple[bytes, dict]:
    from chalicelib.shared_kernel.aws import client as aws

    record = stack.letters.store.letter(letter["letter_id"])
    key, version = ((record.pdf_key, record.pdf_version) if document == "draft"
                    else (record.signed_key, record.signed_version))
    obj = aws("s3", stack.settings.region).get_object(
        Bucket=stack.settings.bucket_name, Key=key, VersionId=version)
    return obj["Body"].read(), obj


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages))


def approve(client, auth_header, letter_id: str, **who):
    return post(client, f"/v1/letters/{letter_id}/approve", {},
                auth_header(**(who or HEAD_HEADERS)))


def amount_due_on(client, auth_header, at, day: date, npp: str) -> int:
    at(day)
    bills = client.http.get(f"/v1/bills?npp={npp}",
                            headers=auth_header("RECEIVABLES", branch="BLT")).json_body["items"]
    return sum(b["amount_due"] for b in bills if b["status"] != "PAID")


# ---------------------------------------------------------------- drafting

def test_reminder_is_drafted_from_the_bills_with_fines_to_the_rupiah(client, auth_header,
                                                                      stack, debtor, at):
    employer = debtor(months=1)
    at(DEC_16)
    assert submit(stack, letter_request(employer)) == 1

    letter = only_letter(client, auth_header)
    assert letter["number"] == "1/TGH/KC-BLT/XII/2026"
    assert (letter["status"], letter["issued_on"]) == ("DRAFT", "2026-12-16")
    # One started month late: 2 % of each program (JKK 0.54 %, JKM 0.30 %, JHT 5.7 %, JP 3 %
    # of 5,000,000).
    assert [(l["program"], l["contribution"], l["fine"]) for l in letter["lines"]] == [
        ("JKK", 27_000, 540), ("JKM", 15_000, 300), ("JHT", 285_000, 5_700),
        ("JP", 150_000, 3_000)]
    assert letter["total"] == MONTHLY + 9_540 == 486_540
    assert letter["total"] == amount_due_on(client, auth_header, at, DEC_16, employer["npp"])
    assert letter["deadline"] == stack.calendar.add_working_days(DEC_16, 10).isoformat()

    pdf, obj = stored_pdf(stack, letter)
    import hashlib

    assert obj["ServerSideEncryption"] == "AES256"
    assert obj["Metadata"]["sha256"] == hashlib.sha256(pdf).hexdigest() == letter["pdf_sha256"]
    assert obj["Metadata"]["letter-number"] == letter["number"]
    text = pdf_text(pdf)
    for expected in (employer["name"], f"NPP {employer['npp']}", letter["number"],
                     "Penagihan Tunggakan Iuran", "Rp486.540", "November 2026",
                     "empat ratus delapan puluh enam ribu lima ratus empat puluh rupiah",
                     letter["payment_code"], HEAD_NAME, "Kepanjenkidul",
                     "Jawa Timur"):
        assert expected in text, expected


def test_the_letters_payment_code_pays_all_its_bills_at_once(client, auth_header, stack,
                                                             debtor, at):
    employer = debtor(months=2)
    at(FEB_16)
    submit(stack, letter_request(employer, "SP1", FEB_16))
    letter = only_letter(client, auth_header)
    lookup = stack.payments.lookup(letter["payment_code"], FEB_16)
    assert sorted(b.bill_id for b in lookup.bills) == sorted(letter["bill_ids"])
    assert lookup.amount_due == letter["total"]


def test_each_letter_type_says_what_it_is(client, auth_header, stack, debtor, at):
    employer = debtor(months=3)
    at(FEB_16)
    kinds = [("REMINDER", None, "TGH", "Penagihan Tunggakan Iuran"),
             ("SP1", None, "SP1", "teguran tertulis pertama (Surat Peringatan Pertama)"),
             ("SP2", None, "SP2", "teguran tertulis kedua (Surat Peringatan Kedua)"),
             ("LEGAL_HANDOVER", "KEJAKSAAN", "SKK", "Surat Kuasa Khusus (SKK)"),
             ("LEGAL_HANDOVER", "KPKNL", "KPKNL", "Panitia Urusan Piutang Negara (PUPN)")]
    submit(stack, *(letter_request(employer, kind, FEB_16, target=target, step=code)
                    for kind, target, code, _ in kinds))
    letters = {l["number"].split("/")[1]: l for l in letters_of(client, auth_header)}
    owed = amount_due_on(client, auth_header, at, FEB_16, employer["npp"])
    for kind, target, code, phrase in kinds:
        letter = letters[code]
        assert letter["number"] == f"1/{code}/KC-BLT/II/2027"
        assert letter["total"] == owed
        text = pdf_text(stored_pdf(stack, letter)[0])
        assert phrase in text, (code, phrase)
        assert all(p in text for p in ("November 2026", "Desember 2026", "Januari 2027"))
        if kind == "LEGAL_HANDOVER":
            assert "PERNYATAAN TUNGGAKAN IURAN" in text
            assert ("Kejaksaan Negeri Blitar" if target == "KEJAKSAAN"
                    else "KPKNL Blitar") in text


def test_settled_bills_are_left_out_and_nothing_owed_drafts_nothing(client, auth_header,
                                                                    stack, debtor, at):
    employer = debtor(months=2)
    november = employer["bills"][0]
    at(DEC_16)
    owed = client.http.get(f"/v1/bills/{november['bill_id']}",
                           headers=auth_header("RECEIVABLES", branch="BLT")).json_body
    paid = post(client, f"/v1/bills/{november['bill_id']}/payments",
                {"amount": owed["amount_due"], "receipt_number": "KW-1", "reason": "setor"},
                auth_header("RECEIVABLES", branch="BLT"))
    assert paid.status_code == 201, paid.body

    submit(stack, letter_request(employer, "SP1", FEB_16))
    letter = only_letter(client, auth_header)
    assert letter["bill_ids"] == [employer["bills"][1]["bill_id"]]
    assert {l["period"] for l in letter["lines"]} == {"2026-12"}

    only_paid = letter_request(employer, "REMINDER", DEC_16, bill_ids=[november["bill_id"]])
    assert submit(stack, only_paid, only_paid) == 2
    assert len(letters_of(client, auth_header)) == 1
    assert stack.letters.store.request(only_paid["dedupe_key"]).outcome == "NOTHING_OWED"


def test_a_redelivered_request_drafts_one_letter(client, auth_header, stack, debtor, at):
    employer = debtor()
    at(DEC_16)
    message = letter_request(employer)
    submit(stack, message, message)
    submit(stack, message)
    assert len(letters_of(client, auth_header)) == 1
    assert stack.letters.store.last_number("KC-BLT/TGH/2026") == 1


def test_bad_requests_fail_alone_with_a_stable_code(client, auth_header, stack, debtor, at):
    from chalicelib.receivables.letters.service import InvalidLetterRequest

    employer = debtor()
    other = debtor(name="PT Lain Sendiri", npwp="02.345.678.9-012.000", nib="9120002345678")
    at(DEC_16)
    good = letter_request(employer)
    not_theirs = letter_request(employer, "SP1", bill_ids=[other["bills"][0]["bill_id"]])
    malformed = {**letter_request(employer, "SP2"), "legal_handover_target": "KPKNL"}
    records = [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": json.dumps(m),
                "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:ap-southeast-3:0:l",
                "awsRegion": "ap-southeast-3"}
               for i, m in enumerate([good, not_theirs, malformed])]
    result = handler("render_letter")({"Records": records}, CONTEXT)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m1", "m2"]
    assert len(letters_of(client, auth_header)) == 1
    with pytest.raises(InvalidLetterRequest) as raised:
        stack.letters.handle_message(not_theirs)
    assert raised.value.code == "INVALID_LETTER_REQUEST" and raised.value.status == 400


def test_numbers_are_gap_free_and_unique_under_concurrent_drafting(client, auth_header,
                                                                  stack, debtor, at,
                                                                  monkeypatch):
    from chalicelib.receivables.letters.store import NumberTaken

    """Twelve requests drafted by six threads at once, in two sequences (TGH and SP1)."""
    employer = debtor()
    at(DEC_16)
    messages = [letter_request(employer, "REMINDER" if i % 2 else "SP1", step=f"s{i}")
                for i in range(12)]
    service = stack.letters
    store = service.store
    # Every thread's first read of a counter waits for the others: they all read the same
    # last number and race for the next one, so conflicts are certain, not lucky.
    barrier, first = threading.Barrier(6, timeout=30), threading.local()
    conflicts = []
    read, create = store.last_number, store.create

    def last_number(scope):
        value = read(scope)
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait()
        return value

    def counting_create(*args, **kwargs):
        try:
            return create(*args, **kwargs)
        except NumberTaken:
            conflicts.append(1)
            raise

    monkeypatch.setattr(store, "last_number", last_number)
    monkeypatch.setattr(store, "create", counting_create)
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(service.handle_message, messages))
    assert len(conflicts) >= 4  # at least two losers in each of the two sequences
    letters = [store.letter(i) for i in ids]
    for code in ("TGH", "SP1"):
        numbers = sorted(int(l.sequence) for l in letters if f"/{code}/" in l.number)
        assert numbers == list(range(1, 7)), (code, numbers)
        assert read(f"KC-BLT/{code}/2026") == 6
    assert len({l.number for l in letters}) == 12
    assert all(l.status == "DRAFT" and l.pdf_sha256 for l in letters)


def queued_messages(stack, queue_key: str) -> list[dict]:
    from chalicelib.shared_kernel.aws import client as aws
    from chalicelib.shared_kernel.resources import QUEUES

    sqs = aws("sqs", stack.settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES[queue_key].name)["QueueUrl"]
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        found += [json.loads(m["Body"]) for m in batch]
