"""The participation card (kartu peserta) as a PDF: ID-1 size (85.6 x 54 mm), name, KPJ,
segment, programs, issue date and a QR code to the card's public verification URL.

fpdf2 and segno are imported inside `render_card` only (cold start: tests/unit/
test_cold_start.py). The QR code is drawn as vector rectangles from segno's module matrix,
so no image library is involved and it stays sharp at any zoom or print size.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SEGMENT_LABELS = {"PU": "Penerima Upah", "BPU": "Bukan Penerima Upah",
                  "JK": "Jasa Konstruksi"}
PROGRAM_LABELS = {"JKK": "Jaminan Kecelakaan Kerja", "JKM": "Jaminan Kematian",
                  "JHT": "Jaminan Hari Tua", "JP": "Jaminan Pensiun"}

WIDTH, HEIGHT = 85.6, 54.0
_GREEN = (0, 122, 61)


@dataclass(frozen=True)
class CardContent:
    name: str
    kpj: str
    segment: str
    programs: tuple[str, ...]
    issued_on: date
    verification_url: str
    employer_name: str | None = None


def grouped_kpj(kpj: str) -> str:
    """"12345678901" -> "1234 5678 901" (easier to read aloud at a counter)."""
    return " ".join(kpj[i:i + 4] for i in range(0, len(kpj), 4))


def _latin1(text: str) -> str:
    # The core fonts are Latin-1; a name outside it is printed with replacements rather
    # than failing the card (names are validated as letters, so this is rare).
    return text.encode("latin-1", "replace").decode("latin-1")


def render_card(content: CardContent) -> bytes:
    import segno
    from fpdf import FPDF

    from chalicelib.shared_kernel.formatting import format_date_long

    pdf = FPDF(orientation="L", unit="mm", format=(HEIGHT, WIDTH))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(f"Kartu Peserta {content.kpj}")
    pdf.set_author("BPJS Ketenagakerjaan")
    pdf.set_creator("SMILE")
    pdf.add_page()

    pdf.set_fill_color(*_GREEN)
    pdf.rect(0, 0, WIDTH, 11, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_xy(4, 2)
    pdf.cell(60, 4, "BPJS Ketenagakerjaan")
    pdf.set_font("Helvetica", "", 6.5)
    pdf.set_xy(4, 6.2)
    pdf.cell(60, 3, "KARTU PESERTA")

    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(4, 14)
    pdf.set_font("Helvetica", "B", 8.5)
    pdf.cell(50, 4.5, _latin1(content.name.upper())[:34])
    pdf.set_xy(4, 19)
    pdf.set_font("Courier", "B", 11)
    pdf.cell(50, 5, grouped_kpj(content.kpj))

    pdf.set_font("Helvetica", "", 6)
    lines = [("Segmen", SEGMENT_LABELS.get(content.segment, content.segment)),
             ("Program", ", ".join(content.programs))]
    if content.employer_name:
        lines.append(("Pemberi kerja", _latin1(content.employer_name)[:40]))
    lines.append(("Diterbitkan", format_date_long(content.issued_on)))
    y = 26.5
    for label, value in lines:
        pdf.set_xy(4, y)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(15, 3, label)
        pdf.set_text_color(0, 0, 0)
        pdf.cell(40, 3, value)
        y += 3.6

    qr = segno.make(content.verification_url, error="m")
    size = 26.0
    rows = [list(row) for row in qr.matrix]
    module = size / len(rows)
    left, top = WIDTH - size - 3.5, 15
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):  # one rectangle per horizontal run of dark modules
            if row[c] & 1:
                start = c
                while c < len(row) and row[c] & 1:
                    c += 1
                pdf.rect(left + start * module, top + r * module, (c - start) * module,
                         module, style="F")
            else:
                c += 1
    pdf.set_font("Helvetica", "", 4.5)
    pdf.set_xy(left - 2, top + size + 0.8)
    pdf.cell(size + 4, 2.5, "Pindai untuk memeriksa keaslian", align="C")
    return bytes(pdf.output())
