"""Letters throughput: rendering and signing, each against a floor measured in the same run.

    python bench/bench_letters.py [N] [--verify]

Renders N letters (the four types in turn, each with its own number), signs N of them, and
prints letters per second. The floors are what the same libraries do with the least work:
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
    args = parser.parse_args(argv)
    n = args.n

    from chalicelib.receivables.letters.render import render_letter_pdf
    from chalicelib.receivables.letters.signing import (
        generate_local_signing_identity, sign_pdf, verify_signed_pdf,
    )

    data = letters(n)
    identity = generate_local_signing_identity("BLT", "Dra. Sri Wahyuningsih, M.M.")
    # Warm-up: imports, font metrics, key parsing happen once per process (a warm Lambda).
    warm = render_letter_pdf(data[0])
    sign_pdf(warm, identity.key_pem, identity.cert_pem, identity.ca_cert_pem)

    started = time.perf_counter()
    pdfs = [render_letter_pdf(item) for item in data]
    render_s = time.perf_counter() - started
    pages = sum(pdf.count(b"/Type /Page\n") for pdf in pdfs)

    cells = [text_operators(pdf) for pdf in pdfs[:len(TYPES)]]
    floor_docs = [minimal_pdf(cells[i % len(cells)]) for i in range(len(TYPES))]
    started = time.perf_counter()
    for i in range(n):
        minimal_pdf(cells[i % len(cells)])
    floor_render_s = time.perf_counter() - started

    started = time.perf_counter()
    signed = [sign_pdf(pdf, identity.key_pem, identity.cert_pem, identity.ca_cert_pem,
                       reason="Bench", location="Blitar") for pdf in pdfs]
    sign_s = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(n):
        sign_pdf(floor_docs[i % len(floor_docs)], identity.key_pem, identity.cert_pem,
                 identity.ca_cert_pem)
    floor_sign_s = time.perf_counter() - started

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    started = time.perf_counter()
    for i in range(n):
        key.sign(b"%d" % i, padding.PKCS1v15(), hashes.SHA256())
    raw_sign_s = time.perf_counter() - started

    print(f"letters bench: N={n}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, one process")
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
        started = time.perf_counter()
        results = [verify_signed_pdf(pdf, identity.ca_cert_pem) for pdf in signed]
        verify_s = time.perf_counter() - started
        assert all(r.ok for r in results)
        print(f"  verify : {rate(n, verify_s):7.1f} letters/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
