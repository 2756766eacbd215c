"""Collection letters on moto, after drafting: the head of the branch approves (PAdES) or
rejects, the signed letter is announced and downloaded, and its QR code's URL verifies it.
(Drafting and numbering: test_letters.py, whose givens these tests share.)"""
from __future__ import annotations

import json
from datetime import date, datetime

from tests.integration.factories import drain, post
from tests.integration.test_letters import (  # noqa: F401 - fixtures are used by name
    HEAD_HEADERS,
    HEAD_NAME,
    DEC_16,
    JAKARTA,
    approve,
    at,
    auth_header,
    debtor,
    letter_request,
    letters_of,
    only_letter,
    pdf_text,
    queued_messages,
    settings,
    signing_dir,
    stored_pdf,
    submit,
)


def test_the_branch_head_signs_and_the_signature_validates(client, auth_header, stack,
                                                           debtor, at, signing_dir):
    from chalicelib.receivables.letters.signing import verify_signed_pdf
    from chalicelib.shared_kernel.records import audit_trail

    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    draft = only_letter(client, auth_header)
    at(datetime(2026, 12, 17, 10, 0, tzinfo=JAKARTA))
    response = approve(client, auth_header, draft["letter_id"])
    assert response.status_code == 200, response.body
    signed = response.json_body
    assert (signed["status"], signed["signed_by"], signed["dispatched"]) == (
        "SIGNED", HEAD_NAME, True)
    assert signed["signed_at"] == "2026-12-17T03:00:00+00:00"

    pdf, obj = stored_pdf(stack, signed, "signed")
    result = verify_signed_pdf(pdf, (signing_dir / "local-ca.pem").read_bytes())
    assert result.ok, result.problem
    assert result.signer_common_name == HEAD_NAME
    assert obj["Metadata"]["sha256"] == signed["signed_sha256"] != signed["pdf_sha256"]
    assert obj["ServerSideEncryption"] == "AES256"
    original, _ = stored_pdf(stack, signed, "draft")  # the unsigned original is kept
    assert pdf.startswith(original)  # an incremental update: the page is what was drafted
    [entry] = [e for e in audit_trail(f"letter#{draft['letter_id']}")
               if e["action"] == "LETTER_SIGNED"]
    assert entry["actor"] == "user-branch_head"
    assert entry["details"]["sha256"] == signed["signed_sha256"]

    [announcement] = queued_messages(stack, "reminders")
    assert announcement["template"] == "letter_available"
    assert announcement["dedupe_key"] == f"letter:{draft['letter_id']}:available"
    assert (announcement["source"], announcement["branch"]) == ("letter", "BLT")
    assert (announcement["recipient_kind"], announcement["recipient_id"]) == (
        "EMPLOYER", employer["employer_id"])
    params = announcement["params"]
    assert params["nomor_surat"] == signed["number"]
    assert params["total_tunggakan"] == 486_540
    assert params["jenis_surat"] == "Surat Penagihan"
    assert params["nama"] == employer["name"] and params["npp"] == employer["npp"]
    assert "X-Amz-Expires=172800" in params["dokumen_url"]
    assert params["dokumen_nama"] == "Surat_1-TGH-KC-BLT-XII-2026.pdf"
    assert params["tautan"] == f"https://smile.test/v1/letters/{draft['letter_id']}/download"


def test_approving_twice_answers_the_same_signed_letter_which_is_final(client, auth_header,
                                                                      stack, debtor, at):
    from chalicelib.shared_kernel.aws import client as aws
    from chalicelib.shared_kernel.records import audit_trail

    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter_id = only_letter(client, auth_header)["letter_id"]
    first = approve(client, auth_header, letter_id).json_body
    second = approve(client, auth_header, letter_id)
    assert second.status_code == 200
    assert second.json_body["signed_sha256"] == first["signed_sha256"]
    assert second.json_body["signed_at"] == first["signed_at"]
    versions = aws("s3", stack.settings.region).list_object_versions(
        Bucket=stack.settings.bucket_name, Prefix=f"letters/BLT/2026/{letter_id}/")
    assert sorted(v["Key"].rsplit("/", 1)[1].split("-")[0]
                  for v in versions["Versions"]) == ["draft.pdf", "signed"]
    assert [e["action"] for e in audit_trail(f"letter#{letter_id}")].count("LETTER_SIGNED") == 1
    assert len(queued_messages(stack, "reminders")) == 1

    refused = post(client, f"/v1/letters/{letter_id}/reject", {"reason": "berubah pikiran"},
                   auth_header(**HEAD_HEADERS))
    assert (refused.status_code, refused.json_body["error"]["code"]) == (
        409, "LETTER_ALREADY_SIGNED")
    submit(stack, letter_request(employer))  # the same request again: nothing new
    assert [l["letter_id"] for l in letters_of(client, auth_header, "SIGNED")] == [letter_id]
    assert letters_of(client, auth_header) == []


def test_concurrent_approvals_leave_one_signature(client, auth_header, stack, debtor, at,
                                                  monkeypatch):
    """Four approvals pass the DRAFT check together (a barrier holds them before signing):
    one signature is recorded, the losers' signed copies are removed, all answer it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.shared_kernel.auth import Principal, Role
    from chalicelib.shared_kernel.aws import client as aws
    from chalicelib.shared_kernel.records import audit_trail

    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter_id = only_letter(client, auth_header)["letter_id"]
    service = stack.letters
    barrier, identity = threading.Barrier(4, timeout=30), service.keys.identity
    monkeypatch.setattr(service.keys, "identity",
                        lambda branch: (barrier.wait(), identity(branch))[1])
    head = Principal(subject="head-blt", role=Role.BRANCH_HEAD, branch="BLT")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: service.approve(letter_id, head), range(4)))
    assert len({a["signed_sha256"] for a in answers}) == 1
    assert all(a["status"] == "SIGNED" for a in answers)
    versions = aws("s3", stack.settings.region).list_object_versions(
        Bucket=stack.settings.bucket_name, Prefix=f"letters/BLT/2026/{letter_id}/signed-")
    assert len(versions.get("Versions", [])) == 1
    assert [e["action"] for e in audit_trail(f"letter#{letter_id}")].count("LETTER_SIGNED") == 1
    assert len(queued_messages(stack, "reminders")) == 1


def test_only_the_head_of_the_letters_branch_may_approve_or_reject(client, auth_header,
                                                                  stack, debtor, at):
    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter_id = only_letter(client, auth_header)["letter_id"]
    for who, code in [({"role": "RECEIVABLES", "branch": "BLT"}, "ROLE_FORBIDDEN"),
                      ({"role": "ADMIN", "branch": None}, "ROLE_FORBIDDEN"),
                      ({"role": "BRANCH_HEAD", "branch": "MDN"}, "BRANCH_FORBIDDEN"),
                      ({"role": "EMPLOYER", "branch": None, "npp": employer["npp"]},
                       "ROLE_FORBIDDEN")]:
        refused = approve(client, auth_header, letter_id, **who)
        assert (refused.status_code, refused.json_body["error"]["code"]) == (403, code), who
        rejected = post(client, f"/v1/letters/{letter_id}/reject", {"reason": "alamat salah"},
                        auth_header(**who))
        assert (rejected.status_code, rejected.json_body["error"]["code"]) == (403, code), who
    assert only_letter(client, auth_header)["status"] == "DRAFT"
    assert approve(client, auth_header, "LNOSUCHLETTER").json_body["error"]["code"] == (
        "LETTER_NOT_FOUND")


def test_a_missing_branch_key_is_a_clear_error_and_the_letter_stays_draft(
        client, auth_header, stack, debtor, at, tmp_path):
    from chalicelib.receivables.letters.keys import DirectorySigningKeys

    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter_id = only_letter(client, auth_header)["letter_id"]
    configured = stack.letters.keys
    stack.letters.keys = DirectorySigningKeys(tmp_path)  # no key material for BLT
    refused = approve(client, auth_header, letter_id)
    assert refused.status_code == 503
    assert refused.json_body["error"]["code"] == "SIGNING_KEY_MISSING"
    assert "BLT" in refused.json_body["error"]["message"]
    assert only_letter(client, auth_header)["status"] == "DRAFT"
    assert queued_messages(stack, "reminders") == []

    stack.letters.keys = configured
    assert approve(client, auth_header, letter_id).json_body["status"] == "SIGNED"


def test_rejection_needs_a_reason_and_the_next_request_drafts_a_new_number(
        client, auth_header, stack, debtor, at):
    from chalicelib.shared_kernel.records import audit_trail

    employer = debtor()
    at(DEC_16)
    message = letter_request(employer)
    submit(stack, message)
    letter_id = only_letter(client, auth_header)["letter_id"]
    url = f"/v1/letters/{letter_id}/reject"
    blank = post(client, url, {"reason": "  "}, auth_header(**HEAD_HEADERS))
    assert (blank.status_code, blank.json_body["error"]["code"]) == (400, "VALIDATION_FAILED")

    rejected = post(client, url, {"reason": "Alamat perusahaan sudah pindah"},
                    auth_header(**HEAD_HEADERS))
    assert rejected.status_code == 200, rejected.body
    assert (rejected.json_body["status"], rejected.json_body["rejected_reason"]) == (
        "REJECTED", "Alamat perusahaan sudah pindah")
    [entry] = [e for e in audit_trail(f"letter#{letter_id}") if e["action"] == "LETTER_REJECTED"]
    assert (entry["actor"], entry["reason"]) == ("user-branch_head",
                                                 "Alamat perusahaan sudah pindah")
    again = approve(client, auth_header, letter_id)
    assert (again.status_code, again.json_body["error"]["code"]) == (409, "LETTER_NOT_DRAFT")

    submit(stack, message)  # the policy asks again: a new letter, a new number
    redrafted = only_letter(client, auth_header)
    assert redrafted["letter_id"] != letter_id
    assert redrafted["number"] == "2/TGH/KC-BLT/XII/2026"
    [old] = letters_of(client, auth_header, "REJECTED")
    assert old["number"] == "1/TGH/KC-BLT/XII/2026"


def test_a_rejected_letter_can_be_drafted_again_on_request(client, auth_header, stack,
                                                           debtor, at):
    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter_id = only_letter(client, auth_header)["letter_id"]
    early = post(client, f"/v1/letters/{letter_id}/regenerate", {},
                 auth_header("RECEIVABLES", branch="BLT"))
    assert (early.status_code, early.json_body["error"]["code"]) == (409,
                                                                    "LETTER_NOT_REJECTED")
    post(client, f"/v1/letters/{letter_id}/reject", {"reason": "NPP tertulis salah"},
         auth_header(**HEAD_HEADERS))
    at(date(2026, 12, 18))
    queued = post(client, f"/v1/letters/{letter_id}/regenerate", {},
                  auth_header("RECEIVABLES", branch="BLT"))
    assert queued.status_code == 202, queued.body
    assert drain("letters") == 1
    redrafted = only_letter(client, auth_header)
    assert (redrafted["number"], redrafted["issued_on"]) == ("2/TGH/KC-BLT/XII/2026",
                                                             "2026-12-18")


def test_a_letter_whose_bills_were_paid_meanwhile_is_not_signed(client, auth_header, stack,
                                                               debtor, at):
    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter = only_letter(client, auth_header)
    post(client, f"/v1/bills/{letter['bill_ids'][0]}/payments",
         {"amount": letter["total"], "receipt_number": "KW-2", "reason": "setor tunai"},
         auth_header("RECEIVABLES", branch="BLT"))
    refused = approve(client, auth_header, letter["letter_id"])
    assert (refused.status_code, refused.json_body["error"]["code"]) == (409, "LETTER_OUTDATED")
    assert only_letter(client, auth_header)["status"] == "DRAFT"


# ---------------------------------------------------------------- reading

def test_download_is_for_the_employer_once_signed_and_for_branch_staff(client, auth_header,
                                                                       stack, debtor, at):
    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter_id = only_letter(client, auth_header)["letter_id"]
    path = f"/v1/letters/{letter_id}/download"
    own = {"role": "EMPLOYER", "branch": None, "npp": employer["npp"]}

    def get(**who):
        return client.http.get(path, headers=auth_header(**who))

    assert get(**own).status_code == 404  # a draft is not the employer's yet
    staff = get(role="RECEIVABLES", branch="BLT")
    assert (staff.status_code, staff.json_body["document"]) == (200, "draft")
    approve(client, auth_header, letter_id)

    answer = get(**own)
    assert answer.status_code == 200, answer.body
    body = answer.json_body
    assert (body["document"], body["expires_in"]) == ("signed", 300)
    assert "X-Amz-Expires=300" in body["url"] and f"{letter_id}/signed-" in body["url"]
    assert body["sha256"] == stack.letters.store.letter(letter_id).signed_sha256
    for who, code in [({"role": "EMPLOYER", "branch": None, "npp": "99999999"}, "NPP_FORBIDDEN"),
                      ({"role": "RECEIVABLES", "branch": "MDN"}, "BRANCH_FORBIDDEN"),
                      ({"role": "PARTICIPANT", "branch": None, "kpj": "12345678901"},
                       "ROLE_FORBIDDEN")]:
        refused = get(**who)
        assert (refused.status_code, refused.json_body["error"]["code"]) == (403, code)
    assert client.http.get(path).status_code == 401


def test_letters_are_listed_per_branch_and_status(client, auth_header, stack, debtor, at):
    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer), letter_request(employer, "SP1"))
    drafts = letters_of(client, auth_header, role="BRANCH_HEAD", branch="BLT")
    assert {l["number"] for l in drafts} == {"1/TGH/KC-BLT/XII/2026", "1/SP1/KC-BLT/XII/2026"}
    staff = auth_header("RECEIVABLES", branch="BLT")
    first = client.http.get("/v1/letters?limit=1", headers=staff).json_body
    rest = client.http.get(f"/v1/letters?limit=1&next_token={first['next_token']}",
                           headers=staff).json_body
    assert [l["letter_id"] for l in first["items"] + rest["items"]] == [
        l["letter_id"] for l in drafts]
    approve(client, auth_header, drafts[0]["letter_id"])
    assert [l["letter_id"] for l in letters_of(client, auth_header, "SIGNED")] == [
        drafts[0]["letter_id"]]
    mine = client.http.get("/v1/letters", headers=auth_header(
        "EMPLOYER", branch=None, npp=employer["npp"])).json_body["items"]
    assert [l["letter_id"] for l in mine] == [drafts[0]["letter_id"]]
    other_branch = client.http.get("/v1/letters?branch=MDN",
                                   headers=auth_header("RECEIVABLES", branch="BLT"))
    assert other_branch.json_body["error"]["code"] == "BRANCH_FORBIDDEN"
    assert client.http.get("/v1/letters?status=LOST", headers=staff).status_code == 400


def test_the_qr_url_tells_whether_the_letter_was_issued_and_signed(client, auth_header,
                                                                   stack, debtor, at):
    employer = debtor()
    at(DEC_16)
    submit(stack, letter_request(employer))
    letter = only_letter(client, auth_header)
    url = letter["verification_url"]
    assert url.startswith("https://smile.test/v1/letters/verify/1-TGH-KC-BLT-XII-2026?c=")
    path = url[len("https://smile.test"):]
    text = pdf_text(stored_pdf(stack, letter)[0])
    assert url in text  # printed in the footer, and carried by the QR code

    draft = client.http.get(path).json_body
    assert (draft["issued"], draft["signed"], draft["status"]) == (False, False, "DRAFT")
    approve(client, auth_header, letter["letter_id"])
    signed = client.http.get(path).json_body
    sha = stack.letters.store.letter(letter["letter_id"]).signed_sha256
    assert (signed["issued"], signed["signed"], signed["employer_name"]) == (
        True, True, employer["name"])
    assert (signed["signer"], signed["document_sha256"]) == (HEAD_NAME, sha)
    assert employer["npp"] not in json.dumps(signed)
    assert str(letter["total"]) not in json.dumps(signed)

    reference = "/v1/letters/verify/1-TGH-KC-BLT-XII-2026"
    by_hash = client.http.get(f"{reference}?h={sha}").json_body
    assert (by_hash["issued"], by_hash["hash_matches"]) == (True, True)
    guessed = client.http.get(f"{reference}?c=AAAAAAAAAAAA").json_body
    assert guessed == {"number": "1/TGH/KC-BLT/XII/2026", "issued": False, "signed": False,
                       **{k: None for k in ("status", "letter_type", "issued_on",
                                            "branch_name", "employer_name", "signed_at",
                                            "signer", "document_sha256", "hash_matches")},
                       "message": guessed["message"]}
    assert "Tidak ada surat" in guessed["message"]
    assert client.http.get(reference).json_body["error"]["code"] == (
        "VERIFICATION_CODE_REQUIRED")
    bad = client.http.get("/v1/letters/verify/1-TGH-BLT-XII-2026?c=x")
    assert (bad.status_code, bad.json_body["error"]["code"]) == (400, "INVALID_LETTER_NUMBER")
    page = client.http.get(path, headers={"Accept": "text/html"})
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Surat ini asli" in page.body.decode()
