import re
import shutil
import subprocess
import sys
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.receivables.letters.model import Addressee, ArrearsLine, LetterType
from chalicelib.receivables.letters.render import period_label, render_letter_pdf, to_latin1
from chalicelib.receivables.letters.samples import sample_letter
from chalicelib.receivables.letters.signing import sha256_hex
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.formatting import format_date_long, format_rupiah, terbilang

from .conftest import pdf_pages_text, pdf_text

ALL = [LetterType.REMINDER, LetterType.SP1, LetterType.SP2, LetterType.LEGAL_HANDOVER, "KPKNL"]
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("key", ALL)
def test_every_letter_names_the_debtor_the_amount_and_how_to_pay(rendered, key):
    data, pdf = rendered[key]

    text = pdf_text(pdf)

    assert pdf.startswith(b"%PDF-")
    assert data.number in text
    assert data.addressee.employer_name in text
    assert data.addressee.npp in text
    assert format_rupiah(data.total) in text
    assert terbilang(data.total) in text.lower()
    assert data.payment_code in text
    assert format_date_long(data.deadline) in text
    assert format_date_long(data.issued_on) in text
    assert data.branch.head_name in text
    assert "Ditandatangani secara elektronik" in text
    assert data.verification_url in text


@pytest.mark.parametrize("key", [LetterType.REMINDER, LetterType.SP1, LetterType.SP2])
def test_warning_letters_itemise_each_period_with_its_fine(rendered, key):
    data, pdf = rendered[key]
    text = pdf_text(pdf)

    for period in data.periods:
        lines = [line for line in data.lines if line.period == period]
        fine = sum(line.fine for line in lines)
        total = sum(line.total for line in lines)
        contributions = " ".join(f"{line.contribution:,}".replace(",", ".")
                                 for line in sorted(lines, key=ArrearsLine.sort_key))
        row = (f"{period_label(period)} {contributions} {fine:,} {total:,}"
               .replace(",", "."))
        assert row in text, row
    assert f"{data.total_fine:,}".replace(",", ".") in text


@pytest.mark.parametrize("key, words", [
    (LetterType.REMINDER, ["Penagihan Tunggakan Iuran", "Undang-Undang Nomor 24 Tahun 2011"]),
    (LetterType.SP1, ["Surat Peringatan Pertama (SP1)", "teguran tertulis pertama",
                      "Peraturan Pemerintah Nomor 86 Tahun 2013", "Surat Peringatan Kedua"]),
    (LetterType.SP2, ["Surat Peringatan Kedua (SP2)", "teguran tertulis kedua",
                      "Jaksa Pengacara Negara", "KPKNL", "pelayanan publik tertentu"]),
    (LetterType.LEGAL_HANDOVER, ["Surat Kuasa Khusus (SKK)", "Kepala Kejaksaan Negeri Blitar",
                                 "Jaksa Pengacara Negara", "di dalam maupun di luar pengadilan",
                                 "1 (satu) berkas"]),
    ("KPKNL", ["Kantor Pelayanan Kekayaan Negara dan Lelang (KPKNL) Blitar",
               "Panitia Urusan Piutang Negara (PUPN)", "pengurusan piutang"]),
])
def test_each_letter_speaks_for_its_step(rendered, key, words):
    text = pdf_text(rendered[key][1])

    for phrase in words:
        assert phrase in text, phrase


@pytest.mark.parametrize("key", ALL)
def test_every_letter_cites_its_legal_basis(rendered, key):
    text = pdf_text(rendered[key][1])

    for law in ("Undang-Undang Nomor 24 Tahun 2011", "Peraturan Pemerintah Nomor 44 Tahun 2015",
                "Peraturan Pemerintah Nomor 45 Tahun 2015",
                "Peraturan Pemerintah Nomor 46 Tahun 2015",
                "Peraturan Pemerintah Nomor 86 Tahun 2013"):
        assert law in text, law


@pytest.mark.parametrize("key", [LetterType.REMINDER, LetterType.SP1])
def test_short_arrears_fit_on_one_page(rendered, key):
    assert len(PdfReader(BytesIO(rendered[key][1])).pages) == 1


@pytest.mark.parametrize("key", [LetterType.LEGAL_HANDOVER, "KPKNL"])
def test_handover_is_a_one_page_cover_and_an_itemised_statement(rendered, key):
    data, pdf = rendered[key]
    pages = pdf_pages_text(pdf)

    assert "PERNYATAAN TUNGGAKAN IURAN" not in pages[0]
    assert "Hari Tua (JHT)" not in pages[0].split("Dasar hukum")[0]  # no table on the cover
    statement = " ".join(pages[1:])
    assert pages[1].count("PERNYATAAN TUNGGAKAN IURAN") == 1
    assert f"Lampiran Surat Nomor {data.number}" in statement
    for number, line in enumerate(data.sorted_lines(), start=1):
        # The period is named on a group's first row (and again after a page break).
        row = rf"\b{number} ({period_label(line.period)} )?Jaminan"
        assert re.search(row, statement), row
        amounts = f"{line.contribution:,} {line.fine:,} {line.total:,}".replace(",", ".")
        assert amounts in statement, amounts
    assert f"{data.total_contribution:,} {data.total_fine:,} {data.total:,}".replace(",", ".") \
        in statement


def test_a_period_cut_by_a_page_break_is_named_again(rendered):
    _, pdf = rendered[LetterType.LEGAL_HANDOVER]
    pages = pdf_pages_text(pdf)

    assert len(pages) == 3
    assert "Lanjutan surat Nomor" in pages[2]
    assert "No Periode Program" in pages[2]  # the header repeats
    assert "32 April 2027 Jaminan Pensiun (JP)" in pages[2]


def test_page_numbers_count_all_pages(rendered):
    pages = pdf_pages_text(rendered[LetterType.LEGAL_HANDOVER][1])

    for index, page in enumerate(pages, start=1):
        assert f"Halaman {index} dari {len(pages)}" in page


def test_a_long_arrears_list_spills_over_with_the_signature_kept_whole():
    data = sample_letter(LetterType.SP2, months=18)

    pages = pdf_pages_text(render_letter_pdf(data))

    assert len(pages) >= 2
    last = pages[-1]
    assert "Kepala Kantor Cabang," in last and data.branch.head_name in last
    assert "Jumlah" in " ".join(pages)
    assert pages[0].count("No Periode") == 1


def test_same_data_renders_the_same_bytes():
    first = render_letter_pdf(sample_letter(LetterType.SP1))
    second = render_letter_pdf(sample_letter(LetterType.SP1))

    assert sha256_hex(first) == sha256_hex(second)


def test_creation_date_is_the_issue_date():
    data = sample_letter(LetterType.SP1)

    info = PdfReader(BytesIO(render_letter_pdf(data))).metadata

    assert info.creation_date.date() == data.issued_on
    assert info.title.startswith(data.number)


def test_different_data_renders_different_bytes():
    first = render_letter_pdf(sample_letter(LetterType.SP1))
    second = render_letter_pdf(sample_letter(LetterType.SP1, sequence=13))

    assert sha256_hex(first) != sha256_hex(second)


def test_text_outside_latin1_is_folded_not_fatal():
    employer = Addressee(employer_name="PT Kopi “Kenangan” – Şubat 🙂 Jaya",
                         npp="12345678", address="Jl. Mawar\u00a0No. 1\nSurabaya")
    data = sample_letter(LetterType.REMINDER, employer=employer)

    text = pdf_text(render_letter_pdf(data))

    assert 'PT Kopi "Kenangan" - Subat ? Jaya' in text
    assert "Jl. Mawar No. 1 Surabaya" in text


def test_markup_characters_in_data_are_shown_literally():
    employer = Addressee(employer_name="PT **Maju**--Jaya __Abadi__ [x](y)", npp="1",
                         address="Jl. A\\B")
    data = sample_letter(LetterType.LEGAL_HANDOVER, employer=employer)

    text = pdf_text(render_letter_pdf(data))

    assert "PT **Maju**--Jaya __Abadi__ [x](y)" in text


def test_to_latin1_keeps_latin1_and_newlines():
    assert to_latin1("Rp16.800 – “é” ß\n") == 'Rp16.800 - "é" ß\n'


def test_period_label_is_indonesian():
    assert period_label(Period(2026, 8)) == "Agustus 2026"


def test_importing_the_letters_package_pulls_no_heavy_library():
    code = ("import sys, chalicelib.receivables.letters, chalicelib.receivables.letters.render, "
            "chalicelib.receivables.letters.signing, chalicelib.receivables.letters.samples; "
            "heavy = [m for m in ('fpdf', 'segno', 'pyhanko', 'cryptography', 'asn1crypto', "
            "'PIL', 'babel', 'num2words') if m in sys.modules]; print(heavy)")

    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_unknown_programs_are_listed_by_code():
    data = replace(sample_letter(LetterType.REMINDER),
                   lines=(ArrearsLine(Period(2026, 10), "JKK", 324_000, 6_480),
                          ArrearsLine(Period(2026, 10), "JKP", 1_000, 0)))

    text = pdf_text(render_letter_pdf(data))

    assert "Iuran JKP" in text
    assert "Rp331.480" in text


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                    reason="needs poppler-utils and zbar-tools")
def test_the_qr_code_scans_to_the_verification_url(rendered, tmp_path):
    data, pdf = rendered[LetterType.SP1]
    (tmp_path / "letter.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(tmp_path / "letter.pdf"),
                    str(tmp_path / "page")], check=True)

    scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")],
                             capture_output=True, text=True)

    assert scanned.stdout.strip() == data.verification_url
