"""Letters throughput: rendering and signing, each against a floor measured in the same run.

    python bench/bench_letters.py [N] [--verify] [--pipeline M]

Renders N letters (the four types in turn, each with its own number), signs N of them, and
prints letters per second. With --pipeline, also drafts M letters through the render_letter
consumer's use case and approves them through the approval's, on moto in process (bills,
employer, number transaction, payment code, S3 put, announcement), each against the same
pipeline with the PDF work stubbed out: the ratio is what rendering or signing adds to the
AWS calls around it. The floors are what the same libraries do with the least work:
- render floor: fpdf2 writing a one-page PDF with as many single-line cells as the letters
  have text-showing operators (counted in their content streams), same font, no layout;
- sign floor: the same `sign_pdf` on that minimal one-page PDF (so the ratio shows what the
  letter's size and structure cost), plus raw RSA-2048 signatures/s for scale.
A ratio of 3.0 means three times slower than the floor. No AWS, no network.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.receivables.letters.model import LetterType  # noqa: E402
from chalicelib.receivables.letters.samples import sample_letter  # noqa: E402

# Wall time by default; --cpu-time counts this process's CPU seconds instead, which a busy
# shared machine disturbs far less (moto in process is counted too: it is part of the work).
CLOCK = time.perf_counter

TYPES = [LetterType.REMINDER, LetterType.SP1, LetterType.SP2, LetterType.LEGAL_HANDOVER]


def letters(count: int):
    return [sample_letter(TYPES[i % len(TYPES)], sequence=1000 + i) for i in range(count)]


def text_operators(pdf: bytes) -> int:
    """How many Tj/TJ operators the PDF's (Flate) content streams hold."""
    total = 0
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            data = zlib.decompress(match.group(1))
        except zlib.error:
            continue
        total += len(re.findall(rb"\)\s*Tj|\]\s*TJ", data))
    return total


def minimal_pdf(cells: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    for index in range(cells):
        pdf.set_xy(10 + (index % 6) * 32, 10 + (index // 6) % 90 * 3)
        pdf.cell(30, 3, "Rp12.345")
    return bytes(pdf.output())


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="letters render/sign throughput")
    parser.add_argument("n", nargs="?", type=int, default=200)
    parser.add_argument("--verify", action="store_true", help="also time verify_signed_pdf")
    parser.add_argument("--pipeline", type=int, default=0, metavar="M",
                        help="also draft and approve M letters through the services on moto")
    parser.add_argument("--cpu-time", action="store_true",
                        help="rates per CPU second of this process instead of per wall second")
    args = parser.parse_args(argv)
    n = args.n
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time

    from chalicelib.receivables.letters.render import render_letter_pdf
    from chalicelib.receivables.letters.signing import (
        generate_local_signing_identity, sign_pdf, verify_signed_pdf,
    )

    data = letters(n)
    identity = generate_local_signing_identity("BLT", "Dra. Sri Wahyuningsih, M.M.")
    # Warm-up: imports, font metrics, key parsing happen once per process (a warm Lambda).
    warm = render_letter_pdf(data[0])
    sign_pdf(warm, identity.key_pem, identity.cert_pem, identity.ca_cert_pem)

    started = CLOCK()
    pdfs = [render_letter_pdf(item) for item in data]
    render_s = CLOCK() - started
    pages = sum(pdf.count(b"/Type /Page\n") for pdf in pdfs)

    cells = [text_operators(pdf) for pdf in pdfs[:len(TYPES)]]
    floor_docs = [minimal_pdf(cells[i % len(cells)]) for i in range(len(TYPES))]
    started = CLOCK()
    for i in range(n):
        minimal_pdf(cells[i % len(cells)])
    floor_render_s = CLOCK() - started

    started = CLOCK()
    signed = [sign_pdf(pdf, identity.key_pem, identity.cert_pem, identity.ca_cert_pem,
                       reason="Bench", location="Blitar") for pdf in pdfs]
    sign_s = CLOCK() - started

    started = CLOCK()
    for i in range(n):
        sign_pdf(floor_docs[i % len(floor_docs)], identity.key_pem, identity.cert_pem,
                 identity.ca_cert_pem)
    floor_sign_s = CLOCK() - started

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    started = CLOCK()
    for i in range(n):
        key.sign(b"%d" % i, padding.PKCS1v15(), hashes.SHA256())
    raw_sign_s = CLOCK() - started

    print(f"letters bench: N={n}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, one process, "
          f"{'CPU' if args.cpu_time else 'wall'} seconds, load {os.getloadavg()[0]:.1f}")
    print(f"  text operators per letter (REMINDER/SP1/SP2/HANDOVER): {cells}; "
          f"pages rendered: {pages}; mean PDF {sum(map(len, pdfs)) // n} B, "
          f"signed {sum(map(len, signed)) // n} B")
    print(f"  render : {rate(n, render_s):7.1f} letters/s ({rate(pages, render_s):.1f} pages/s)"
          f" | floor {rate(n, floor_render_s):7.1f} minimal PDFs/s"
          f" | ratio {render_s / floor_render_s:4.1f}x")
    print(f"  sign   : {rate(n, sign_s):7.1f} letters/s"
          f" | floor {rate(n, floor_sign_s):7.1f} minimal PDFs/s"
          f" | ratio {sign_s / floor_sign_s:4.1f}x"
          f" | raw RSA-2048 {rate(n, raw_sign_s):.0f} signatures/s")
    if args.verify:
        started = CLOCK()
        results = [verify_signed_pdf(pdf, identity.ca_cert_pem) for pdf in signed]
        verify_s = CLOCK() - started
        assert all(r.ok for r in results)
        print(f"  verify : {rate(n, verify_s):7.1f} letters/s")
    if args.pipeline:
        pipeline(args.pipeline, warm)
    return 0


def pipeline(m: int, sample_pdf: bytes) -> None:
    """Drafting and approval through LetterService on moto in process, against the same
    calls with rendering (or signing) replaced by returning ready bytes."""
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL"):
            del os.environ[key]
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "ap-southeast-3", "POWERTOOLS_LOG_LEVEL": "ERROR",
                       "POWERTOOLS_METRICS_DISABLED": "true"})
    import tempfile
    from datetime import datetime

    from moto import mock_aws

    from chalicelib.bootstrap import Container, container, override
    from chalicelib.receivables.letters import render, signing
    from chalicelib.receivables.letters.keys import ensure_local_signing_keys
    from chalicelib.shared_kernel.auth import Principal, Role
    from chalicelib.shared_kernel.calendar import JAKARTA
    from chalicelib.shared_kernel.config import Settings
    from infra.provision import provision
    from infra.seed import seed

    keys = tempfile.mkdtemp(prefix="bench-signing-")
    ensure_local_signing_keys(keys, ["BLT"])
    with mock_aws():
        settings = Settings(stage="bench", resource_prefix="bench", bucket_name="bench-docs",
                            jwt_public_key_path="/dev/null", signing_keys_dir=keys)
        provision(settings)
        override(Container(settings))
        c = container()
        c.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=JAKARTA)
        seed()
        first = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
        c.clock = lambda: first
        c.billing.generate_monthly_bills(first)
        c.clock = lambda: datetime(2026, 12, 16, 9, 0, tzinfo=JAKARTA)
        bills, _ = c.billing.store.bills_of_branch("BLT", "OPEN")
        bill = next(b for b in bills if b.kind == "EMPLOYER")
        employer_id = bill.party_key.split("#", 1)[1]
        service = c.letters
        head = Principal(subject="bench-head", role=Role.BRANCH_HEAD, branch="BLT")

        def message(i: int, tag: str) -> dict:
            kind = TYPES[i % len(TYPES)].value
            return {"type": "letter_request", "dedupe_key": f"letter:{tag}:{i}",
                    "letter_type": kind,
                    "legal_handover_target": "KPKNL" if kind == "LEGAL_HANDOVER" else None,
                    "debtor_key": bill.party_key, "employer_id": employer_id, "npp": bill.npp,
                    "branch": "BLT", "bill_ids": [bill.bill_id], "as_of": "2026-12-16"}

        real_render, real_sign = render.render_letter_pdf, signing.sign_pdf

        def stubbed(on: bool) -> None:
            """The floor: the same use case with the PDF work replaced by ready bytes."""
            render.render_letter_pdf = (lambda data: sample_pdf) if on else real_render
            signing.sign_pdf = ((lambda pdf, *a, **k: pdf + b"\n%signed\n") if on
                                else real_sign)

        # Real and stubbed letters alternate, so both meet the same table sizes and the same
        # machine load.
        seconds = {"draft": [0.0, 0.0], "approve": [0.0, 0.0]}
        drafted: dict[bool, list[str]] = {False: [], True: []}
        for i in range(-4, m):  # four warm-up letters, not counted
            for floor in (False, True):
                stubbed(floor)
                started = CLOCK()
                letter_id = service.handle_message(message(i, f"{floor}"))
                if i >= 0:
                    seconds["draft"][floor] += CLOCK() - started
                drafted[floor].append(letter_id)
        for index, letter_ids in enumerate(zip(drafted[False], drafted[True])):
            for floor, letter_id in zip((False, True), letter_ids):
                stubbed(floor)
                started = CLOCK()
                service.approve(letter_id, head)
                if index >= 4:
                    seconds["approve"][floor] += CLOCK() - started
        stubbed(False)
        draft_s, floor_draft_s = seconds["draft"]
        approve_s, floor_approve_s = seconds["approve"]
        override(None)
    print(f"  pipeline on moto in process, M={m} letters of one employer:")
    print(f"    draft  (render_letter use case): {rate(m, draft_s):6.1f} letters/s"
          f" | same calls, PDF stubbed {rate(m, floor_draft_s):6.1f}/s"
          f" | ratio {draft_s / floor_draft_s:4.1f}x")
    print(f"    approve (sign + store + announce): {rate(m, approve_s):5.1f} letters/s"
          f" | same calls, signing stubbed {rate(m, floor_approve_s):6.1f}/s"
          f" | ratio {approve_s / floor_approve_s:4.1f}x")


if __name__ == "__main__":
    sys.exit(main())
