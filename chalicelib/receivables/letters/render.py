"""Collection letters as PDF: surat penagihan, SP1, SP2 and the legal-handover covering letter
with its arrears statement, in Indonesian, on A4, with fpdf2's core fonts.

fpdf2 and segno are imported inside the functions that use them (stack-notes: fpdf2 alone
costs ~0.3 s of import), so importing this module is cheap; still, only the letter consumer
and tools should import it. The same `LetterData` renders the same bytes: the PDF creation
date comes from `issued_on` and fpdf2 derives the file id from the content.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, time
from functools import lru_cache

from chalicelib.shared_kernel.calendar import JAKARTA, Period
from chalicelib.shared_kernel.formatting import (
    format_date_long, format_number, format_rupiah, terbilang,
)

from .model import ArrearsLine, LegalHandoverTarget, LetterData, LetterType

AGENCY = "BPJS Ketenagakerjaan"
AGENCY_LONG = "Badan Penyelenggara Jaminan Sosial Ketenagakerjaan"

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
             "September", "Oktober", "November", "Desember")

PROGRAM_NAMES = {
    "JKK": "Jaminan Kecelakaan Kerja",
    "JKM": "Jaminan Kematian",
    "JHT": "Jaminan Hari Tua",
    "JP": "Jaminan Pensiun",
}

LEGAL_BASIS = (
    "Undang-Undang Nomor 24 Tahun 2011 tentang Badan Penyelenggara Jaminan Sosial;",
    "Peraturan Pemerintah Nomor 86 Tahun 2013 tentang Tata Cara Pengenaan Sanksi "
    "Administratif kepada Pemberi Kerja Selain Penyelenggara Negara dan Setiap Orang, Selain "
    "Pemberi Kerja, Pekerja, dan Penerima Bantuan Iuran dalam Penyelenggaraan Jaminan Sosial;",
    "Peraturan Pemerintah Nomor 44 Tahun 2015 tentang Penyelenggaraan Program Jaminan "
    "Kecelakaan Kerja dan Jaminan Kematian, beserta perubahannya;",
    "Peraturan Pemerintah Nomor 45 Tahun 2015 tentang Penyelenggaraan Program Jaminan "
    "Pensiun;",
    "Peraturan Pemerintah Nomor 46 Tahun 2015 tentang Penyelenggaraan Program Jaminan Hari "
    "Tua, beserta perubahannya.",
)

PAYMENT_CHANNELS = (
    "Bayar dengan kode bayar di atas melalui teller, ATM, mobile/internet banking bank mitra, "
    "Kantor Pos, jaringan minimarket, atau dompet elektronik mitra BPJS Ketenagakerjaan. "
    "Kode bayar hanya berlaku untuk satu kali pembayaran."
)

CLOSING = "Atas perhatian dan kerja sama Saudara, kami ucapkan terima kasih."

SUBJECTS = {
    LetterType.REMINDER: "Penagihan Tunggakan Iuran Program Jaminan Sosial Ketenagakerjaan",
    LetterType.SP1: "Surat Peringatan Pertama (SP1) atas Tunggakan Iuran",
    LetterType.SP2: "Surat Peringatan Kedua (SP2) atas Tunggakan Iuran",
}

# Page geometry (mm). Letters are A4 with a 20 mm side margin.
PAGE_W = 210.0
LEFT = 20.0
RIGHT = 20.0
TOP = 12.0
BODY_W = PAGE_W - LEFT - RIGHT
BOTTOM = 20.0  # room for the footer
LINE_H = 4.75
ROW_H = 5.3
SIGNATURE_X = LEFT + 96.0
QR_SIZE = 20.0
QR_GAP = 2.2  # with the text's own leading, about the 4-module quiet zone a QR code needs

GREEN = (0, 112, 60)
INK = (25, 25, 25)
GREY = (95, 95, 95)
RULE = (170, 170, 170)
HEAD_FILL = (224, 239, 229)
ZEBRA_FILL = (246, 249, 247)
BOX_FILL = (244, 249, 246)

_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200b": "",
    "\t": " ", "\r": "",
})


def to_latin1(text: str) -> str:
    """Text the core fonts can show: typographic punctuation to ASCII, accents outside
    latin-1 folded ("ş" -> "s"), anything else "?". Newlines are kept (multi-line addresses)."""
    text = text.translate(_TYPOGRAPHY)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        text = "".join(_fold(char) for char in text)
    return "".join(char for char in text if char == "\n" or unicodedata.category(char) != "Cc")


def _fold(char: str) -> str:
    try:
        char.encode("latin-1")
        return char
    except UnicodeEncodeError:
        base = "".join(c for c in unicodedata.normalize("NFKD", char)
                       if not unicodedata.combining(c))
        try:
            return base.encode("latin-1").decode("latin-1") or "?"
        except UnicodeEncodeError:
            return "?"


def _md(text: str) -> str:
    """Configured text inside a markdown paragraph, shown literally."""
    text = to_latin1(text).replace("\\", "/").replace("[", "(").replace("]", ")")
    for marker in ("**", "__", "~~", "--"):
        text = text.replace(marker, "\\" + marker)
    return text


def period_label(period: Period) -> str:
    """Period(2026, 11) -> "November 2026"."""
    return f"{MONTHS_ID[period.month - 1]} {period.year}"


def program_label(program: str) -> str:
    name = PROGRAM_NAMES.get(program)
    return f"{name} ({program})" if name else program


def subject_of(data: LetterData) -> str:
    if data.letter_type is LetterType.LEGAL_HANDOVER:
        employer = data.addressee.employer_name
        if data.legal_handover_target is LegalHandoverTarget.KEJAKSAAN:
            return (f"Penyerahan Surat Kuasa Khusus Penagihan Tunggakan Iuran "
                    f"a.n. {employer} (NPP {data.addressee.npp})")
        return (f"Penyerahan Pengurusan Piutang Iuran a.n. {employer} "
                f"(NPP {data.addressee.npp})")
    return SUBJECTS[data.letter_type]


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _unbroken_date(day) -> str:
    """A date inside running text, kept on one line ("16 Desember 2026" with no-break
    spaces, which latin-1 and the core fonts have)."""
    return format_date_long(day).replace(" ", "\u00a0")


def _amount(value: int) -> str:
    return format_number(value)


def render_letter_pdf(data: LetterData) -> bytes:
    """The unsigned letter as PDF bytes (signing is signing.sign_pdf, after approval)."""
    pdf = _document_class()(data)
    pdf.add_page()
    if data.letter_type is LetterType.LEGAL_HANDOVER:
        _handover_letter(pdf, data)
        pdf.letterhead_on_next_page = True
        pdf.add_page()
        _arrears_statement(pdf, data)
    else:
        _warning_letter(pdf, data)
    return bytes(pdf.output())


@lru_cache(maxsize=1)
def _document_class():
    from fpdf import FPDF

    class LetterDocument(FPDF):
        def __init__(self, data: LetterData):
            super().__init__(orientation="P", unit="mm", format="A4")
            self.data = data
            self.letterhead_on_next_page = True
            self.set_margins(LEFT, TOP, RIGHT)
            self.set_auto_page_break(True, margin=BOTTOM)
            self.set_creation_date(datetime.combine(data.issued_on, time(8, 0), JAKARTA))
            self.set_producer("SMILE")
            self.set_creator("SMILE letters")
            self.set_lang("id-ID")
            self.set_author(to_latin1(f"{AGENCY} {data.branch.name}"))
            self.set_title(to_latin1(f"{data.number} - {subject_of(data)}"))
            self.set_subject(to_latin1(data.addressee.employer_name))
            self.alias_nb_pages()
            self.set_text_color(*INK)

        def header(self):
            if self.letterhead_on_next_page:
                self.letterhead_on_next_page = False
                _letterhead(self, self.data)
            else:
                _continuation_header(self, self.data)

        def footer(self):
            _footer(self, self.data)

    return LetterDocument


# ---------------------------------------------------------------- page furniture

def _letterhead(pdf, data: LetterData) -> None:
    branch = data.branch
    y0 = TOP
    pdf.set_fill_color(*GREEN)
    pdf.rect(LEFT, y0, 2.2, 12.5, style="F")
    pdf.set_xy(LEFT + 5, y0 - 0.5)
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_text_color(*GREEN)
    pdf.cell(95, 9, AGENCY)
    pdf.set_xy(LEFT + 5, y0 + 8.5)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*GREY)
    pdf.cell(75, 3.6, AGENCY_LONG)

    right_x = LEFT + 82
    right_w = BODY_W - 82
    pdf.set_xy(right_x, y0)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_text_color(*INK)
    pdf.multi_cell(right_w, 4.6, to_latin1(branch.name), align="R",
                   new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 7.5)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(right_w, 3.4, to_latin1(branch.address), align="R",
                   new_x="LEFT", new_y="NEXT")
    if branch.phone:
        pdf.multi_cell(right_w, 3.4, to_latin1(f"Telepon {branch.phone}"), align="R",
                       new_x="LEFT", new_y="NEXT")
    rule_y = max(pdf.get_y(), y0 + 15.5) + 2.5
    pdf.set_draw_color(*GREEN)
    pdf.set_line_width(0.7)
    pdf.line(LEFT, rule_y, LEFT + BODY_W, rule_y)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, rule_y + 1.1, LEFT + BODY_W, rule_y + 1.1)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*INK)
    pdf.set_y(rule_y + 5)


def _continuation_header(pdf, data: LetterData) -> None:
    pdf.set_font("Helvetica", "", 7.5)
    pdf.set_text_color(*GREY)
    pdf.set_xy(LEFT, TOP)
    pdf.cell(BODY_W / 2, 4, to_latin1(f"{AGENCY} {data.branch.name}"))
    pdf.cell(BODY_W / 2, 4, to_latin1(f"Lanjutan surat Nomor {data.number}"), align="R")
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, TOP + 5, LEFT + BODY_W, TOP + 5)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*INK)
    pdf.set_y(TOP + 9)


def _footer(pdf, data: LetterData) -> None:
    y = pdf.h - 16.5
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, y, LEFT + BODY_W, y)
    pdf.set_font("Helvetica", "", 6.8)
    pdf.set_text_color(*GREY)
    lines = _wrapped(
        pdf, to_latin1("Dokumen ini ditandatangani secara elektronik menggunakan sertifikat "
                       "elektronik. Keaslian dan keutuhannya dapat diperiksa dengan memindai "
                       f"kode QR atau melalui {data.verification_url}"),
        BODY_W - 28, "", 6.8)
    _draw_lines(pdf, lines, LEFT, y + 1.2, BODY_W - 28, 3.1)
    pdf.set_xy(LEFT + BODY_W - 28, y + 1.2)
    pdf.cell(28, 3.1, f"Halaman {pdf.page_no()} dari {{nb}}", align="R")
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*INK)


# ---------------------------------------------------------------- building blocks

# Line breaks of left-aligned text, by (text, width, style, size). fpdf2's line breaking costs
# O(length^2) per line, and most small print (legal basis, footer, signature heading) is the
# same on every letter: it is broken once per process and drawn line by line with cell().
_WRAP_CACHE: dict[tuple, tuple[str, ...]] = {}
_WRAP_CACHE_LIMIT = 2048


def _wrapped(pdf, text: str, width: float, style: str, size: float) -> tuple[str, ...]:
    key = (text, round(width, 3), style, size)
    lines = _WRAP_CACHE.get(key)
    if lines is None:
        _font(pdf, style, size)
        lines = tuple(pdf.multi_cell(width, 1, text, dry_run=True, output="LINES"))
        if len(_WRAP_CACHE) < _WRAP_CACHE_LIMIT:
            _WRAP_CACHE[key] = lines
    return lines


def _draw_lines(pdf, lines, x: float, y: float, width: float, line_h: float) -> None:
    """Draws pre-broken lines left-aligned, in the current font."""
    for index, line in enumerate(lines):
        pdf.set_xy(x, y + index * line_h)
        pdf.cell(width, line_h, line)

def _font(pdf, style: str = "", size: float = 10) -> None:
    pdf.set_font("Helvetica", style, size)


def _paragraph(pdf, text: str, *, size: float = 10, gap: float = 1.9, indent: float = 0,
               align: str = "J") -> None:
    """A paragraph of our own wording; configured values inside it go through _md()."""
    _font(pdf, "", size)
    pdf.set_x(LEFT + indent)
    pdf.multi_cell(BODY_W - indent, LINE_H if size >= 9.5 else size * 0.47, text,
                   align=align, markdown=True, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(gap)


def _numbered(pdf, items, *, size: float = 10, indent: float = 0, gap: float = 2.2,
              line_h: float = LINE_H) -> None:
    _font(pdf, "", size)
    for index, item in enumerate(items, start=1):
        pdf.set_x(LEFT + indent)
        pdf.cell(6, line_h, f"{index}.")
        pdf.multi_cell(BODY_W - indent - 6, line_h, item, align="J", markdown=True,
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(gap)


def _key_values(pdf, rows, *, label_w: float = 24, size: float = 10, indent: float = 0,
                value_w: float | None = None, bold_values: bool = False) -> None:
    """Label : value rows; values are data, never markdown."""
    value_w = value_w or BODY_W - indent - label_w - 4
    for label, value in rows:
        _font(pdf, "", size)
        pdf.set_x(LEFT + indent)
        pdf.cell(label_w, LINE_H, label)
        pdf.cell(4, LINE_H, ":")
        _font(pdf, "B" if bold_values else "", size)
        pdf.multi_cell(value_w, LINE_H, to_latin1(value), align="L",
                       new_x="LMARGIN", new_y="NEXT")


def _ensure_space(pdf, height: float) -> None:
    if pdf.will_page_break(height):
        pdf.add_page()


def _letter_meta(pdf, data: LetterData, *, attachment: str) -> None:
    top = pdf.get_y()
    _font(pdf, "", 10)
    pdf.set_xy(LEFT + 100, top)
    pdf.cell(BODY_W - 100, LINE_H,
             to_latin1(f"{data.branch.city}, {format_date_long(data.issued_on)}"), align="R")
    pdf.set_xy(LEFT, top)
    _key_values(pdf, [("Nomor", data.number), ("Sifat", "Penting"),
                      ("Lampiran", attachment)], label_w=20, value_w=70)
    _font(pdf, "", 10)
    pdf.cell(20, LINE_H, "Perihal")
    pdf.cell(4, LINE_H, ":")
    _font(pdf, "B", 10)
    pdf.multi_cell(BODY_W - 24, LINE_H, to_latin1(subject_of(data)), align="L",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _recipient_block(pdf, lines_bold, lines_plain) -> None:
    _font(pdf, "", 10)
    pdf.cell(0, LINE_H, "Kepada Yth.", new_x="LMARGIN", new_y="NEXT")
    _font(pdf, "B", 10)
    for line in lines_bold:
        pdf.multi_cell(130, LINE_H, to_latin1(line), align="L", new_x="LMARGIN",
                       new_y="NEXT")
    _font(pdf, "", 10)
    for line in lines_plain:
        if line:
            pdf.multi_cell(130, LINE_H, to_latin1(line), align="L", new_x="LMARGIN",
                           new_y="NEXT")
    pdf.cell(0, LINE_H, "di tempat", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _table_header(pdf, columns) -> None:
    """columns: [(title, width)]; titles may hold a second line after "\\n"."""
    _font(pdf, "B", 8.5)
    pdf.set_fill_color(*HEAD_FILL)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    y = pdf.get_y()
    x = LEFT
    for title, width in columns:
        pdf.set_xy(x, y)
        if "\n" in title:
            pdf.multi_cell(width, 4.2, title, border=1, align="C", fill=True,
                           new_x="RIGHT", new_y="TOP", padding=(0.6, 0.8))
        else:
            pdf.cell(width, 9.6, title, border=1, align="C", fill=True)
        x += width
    pdf.set_xy(LEFT, y + 9.6)


def _table_row(pdf, cells, columns, *, zebra: bool, bold: bool = False,
               fill=None) -> None:
    _font(pdf, "B" if bold else "", 8.5)
    pdf.set_draw_color(*RULE)
    pdf.set_fill_color(*(fill or (ZEBRA_FILL if zebra else (255, 255, 255))))
    # A row opening a new group (its first cell after "No" is filled) gets a rule on top.
    border = 1 if bold else ("LRT" if len(cells) > 1 and cells[1][0] else "LR")
    for (text, align), (_, width) in zip(cells, columns):
        pdf.cell(width, ROW_H, text, border=border, align=align, fill=True)
    pdf.ln(ROW_H)


def _close_table(pdf) -> None:
    pdf.set_draw_color(*RULE)
    pdf.line(LEFT, pdf.get_y(), LEFT + BODY_W, pdf.get_y())


def _rows_with_page_breaks(pdf, columns, rows, total_cells, group_labels=None) -> None:
    """Draws a table whose header repeats on every page it spans. With group_labels (one
    per row), a group cut by a page break shows its label again on the new page."""
    _ensure_space(pdf, 9.6 + 2 * ROW_H)
    _table_header(pdf, columns)
    for index, cells in enumerate(rows):
        if pdf.will_page_break(ROW_H + (ROW_H if index == len(rows) - 1 else 0)):
            _close_table(pdf)
            pdf.add_page()
            _table_header(pdf, columns)
            if group_labels and not cells[1][0]:
                cells = [cells[0], (group_labels[index], cells[1][1])] + list(cells[2:])
        _table_row(pdf, cells, columns, zebra=index % 2 == 1)
    _table_row(pdf, total_cells, columns, zebra=False, bold=True, fill=HEAD_FILL)


def _arrears_by_period(pdf, data: LetterData) -> None:
    """One row per period, contributions per program in columns, the fine and the sum."""
    programs = data.programs
    if len(programs) > 5:
        _arrears_detail(pdf, data)
        return
    fixed = 8 + 30 + 24 + 27
    program_w = (BODY_W - fixed) / len(programs)
    columns = ([("No", 8), ("Periode", 30)]
               + [(f"Iuran {p}\n(Rp)", program_w) for p in programs]
               + [("Denda\n(Rp)", 24), ("Jumlah\n(Rp)", 27)])
    by_period: dict[Period, dict[str, ArrearsLine]] = {}
    for line in data.lines:
        by_period.setdefault(line.period, {})[line.program] = line
    rows = []
    for number, period in enumerate(sorted(by_period), start=1):
        cells = by_period[period]
        fine = sum(line.fine for line in cells.values())
        total = sum(line.total for line in cells.values())
        rows.append([(str(number), "C"), (period_label(period), "L")]
                    + [(_amount(cells[p].contribution) if p in cells else "-", "R")
                       for p in programs]
                    + [(_amount(fine), "R"), (_amount(total), "R")])
    totals = ([("", "C"), ("Jumlah", "L")]
              + [(_amount(sum(line.contribution for line in data.lines if line.program == p)),
                  "R") for p in programs]
              + [(_amount(data.total_fine), "R"), (_amount(data.total), "R")])
    _rows_with_page_breaks(pdf, columns, rows, totals)
    _program_legend(pdf, programs)


def _arrears_detail(pdf, data: LetterData) -> None:
    """One row per period and program, each with its own fine (the statement's table)."""
    columns = [("No", 8), ("Periode", 30), ("Program", 52), ("Iuran\n(Rp)", 26),
               ("Denda\n(Rp)", 26), ("Jumlah\n(Rp)", 28)]
    rows = []
    labels = []
    previous = None
    for number, line in enumerate(data.sorted_lines(), start=1):
        label = period_label(line.period)
        rows.append([(str(number), "C"), (label if line.period != previous else "", "L"),
                     (to_latin1(program_label(line.program)), "L"),
                     (_amount(line.contribution), "R"), (_amount(line.fine), "R"),
                     (_amount(line.total), "R")])
        labels.append(label)
        previous = line.period
    totals = [("", "C"), ("Jumlah", "L"), ("", "L"), (_amount(data.total_contribution), "R"),
              (_amount(data.total_fine), "R"), (_amount(data.total), "R")]
    _rows_with_page_breaks(pdf, columns, rows, totals, group_labels=labels)
    pdf.ln(1.5)


def _program_legend(pdf, programs) -> None:
    known = [f"{p} = {PROGRAM_NAMES[p]}" for p in programs if p in PROGRAM_NAMES]
    pdf.ln(1)
    if known:
        _font(pdf, "", 7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(BODY_W, 3.4, "; ".join(known) + ".", align="L",
                       new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.ln(1.2)


def _total_in_words(pdf, data: LetterData) -> None:
    _font(pdf, "", 10)
    pdf.multi_cell(
        BODY_W, LINE_H,
        f"Jumlah tunggakan **{format_rupiah(data.total)}** "
        f"(terbilang: __{terbilang(data.total)}__)",
        align="L", markdown=True, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _payment_box(pdf, data: LetterData, *, note: str = PAYMENT_CHANNELS) -> None:
    pad = 3.0
    note_lines = _wrapped(pdf, note, BODY_W - 2 * pad, "", 7.8)
    height = pad + 4 + 7 + 2 + len(note_lines) * 3.6 + pad
    _ensure_space(pdf, height + 3)
    x, y = LEFT, pdf.get_y()
    pdf.set_fill_color(*BOX_FILL)
    pdf.set_draw_color(*GREEN)
    pdf.set_line_width(0.35)
    pdf.rect(x, y, BODY_W, height, style="DF")
    pdf.set_line_width(0.2)

    columns = (("Kode bayar", to_latin1(data.payment_code), 62, 13),
               ("Jumlah yang harus dibayar", format_rupiah(data.total), 52, 12),
               ("Batas waktu pembayaran", format_date_long(data.deadline), 50, 12))
    cx = x + pad
    for label, value, width, size in columns:
        pdf.set_xy(cx, y + pad)
        _font(pdf, "", 7.8)
        pdf.set_text_color(*GREY)
        pdf.cell(width, 4, label)
        pdf.set_xy(cx, y + pad + 4)
        pdf.set_text_color(*(GREEN if label == "Kode bayar" else INK))
        pdf.set_font("Courier" if label == "Kode bayar" else "Helvetica", "B", size)
        pdf.cell(width, 7, value)
        cx += width
    pdf.set_text_color(*INK)
    _font(pdf, "", 7.8)
    _draw_lines(pdf, note_lines, x + pad, y + pad + 4 + 7 + 2, BODY_W - 2 * pad, 3.6)
    pdf.set_draw_color(*INK)
    pdf.set_xy(LEFT, y + height + 4)


def _side_notes(pdf, data: LetterData, *, legal_basis: bool, copies: bool,
                dry_run: bool = False) -> float:
    """Legal basis and copies in small print, in the column left of the signature block;
    returns their height."""
    width = SIGNATURE_X - LEFT - 4
    x, y = LEFT, pdf.get_y()
    height = 0.0

    def block(text: str, line_h: float, label: str = "") -> None:
        nonlocal height
        style = "B" if not label else ""
        indent = 3.3 if label else 0
        lines = _wrapped(pdf, text, width - indent, style, 6.9)
        if not dry_run:
            _font(pdf, style, 6.9)
            if label:
                pdf.set_xy(x, y + height)
                pdf.cell(indent, line_h, label)
            _draw_lines(pdf, lines, x + indent, y + height, width - indent, line_h)
        height += len(lines) * line_h

    pdf.set_text_color(*GREY)
    if legal_basis:
        block("Dasar hukum:", 3.1)
        for index, item in enumerate(LEGAL_BASIS, start=1):
            block(item, 2.85, f"{index}.")
        height += 2.5
    if copies and data.copies_to:
        block("Tembusan:", 3.4)
        for index, name in enumerate(data.copies_to, start=1):
            block(to_latin1(name), 3.3, f"{index}.")
    pdf.set_text_color(*INK)
    return height


def _draw_qr(pdf, url: str, x: float, y: float, size: float) -> None:
    """The QR code as filled rectangles: crisp at any zoom, no image decoding, deterministic."""
    import segno

    qr = segno.make(url, error="m", micro=False)
    matrix = qr.matrix
    count = len(matrix)
    module = size / count
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + row_index * module
        start = None
        for col_index in range(count + 1):
            dark = col_index < count and row[col_index]
            if dark and start is None:
                start = col_index
            elif not dark and start is not None:
                # A hair of overlap so rasterisers leave no seams between rows.
                pdf.rect(x + start * module, top, (col_index - start) * module,
                         module + 0.02, style="F")
                start = None


def _signature_block(pdf, data: LetterData, *, opening: str | None = None,
                     dry_run: bool = False) -> float:
    """Right-hand column: unit, title, QR code with the e-signature note, name. Returns its
    height; with dry_run nothing is drawn."""
    branch = data.branch
    x = SIGNATURE_X
    width = LEFT + BODY_W - x
    heading = [line for text in ([opening] if opening else [])
               + [f"{AGENCY} {branch.name}", f"{branch.head_title},"]
               for line in _wrapped(pdf, to_latin1(text), width, "", 10)]
    name = _wrapped(pdf, to_latin1(branch.head_name), width, "B", 10)
    height = len(heading) * LINE_H + QR_GAP + QR_SIZE + QR_GAP + len(name) * LINE_H + 3
    if dry_run:
        return height

    y = pdf.get_y()
    _font(pdf, "", 10)
    _draw_lines(pdf, heading, x, y, width, LINE_H)
    qr_y = y + len(heading) * LINE_H + QR_GAP
    _draw_qr(pdf, data.verification_url, x, qr_y, QR_SIZE)
    note_x = x + QR_SIZE + 3
    pdf.set_xy(note_x, qr_y + 4)
    _font(pdf, "I", 8)
    pdf.set_text_color(*GREEN)
    pdf.multi_cell(width - QR_SIZE - 3, 3.6, "Ditandatangani secara elektronik", align="L",
                   new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(*GREY)
    _font(pdf, "", 7)
    pdf.multi_cell(width - QR_SIZE - 3, 3.2,
                   "Pindai kode QR untuk memeriksa keaslian surat ini.", align="L",
                   new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(*INK)
    _font(pdf, "BU", 10)
    _draw_lines(pdf, name, x, qr_y + QR_SIZE + QR_GAP, width, LINE_H)
    pdf.set_y(y + height)
    return height


def _closing_and_signature(pdf, data: LetterData, *, closing: str | None = None,
                           opening: str | None = None, legal_basis: bool = True,
                           copies: bool = True) -> None:
    """The closing sentence, then the signature block on the right with the legal basis and
    the copies beside it on the left; kept together on one page."""
    notes_h = _side_notes(pdf, data, legal_basis=legal_basis, copies=copies, dry_run=True)
    closing_h = LINE_H + 2.2 if closing else 0
    signature_h = _signature_block(pdf, data, opening=opening, dry_run=True)
    _ensure_space(pdf, closing_h + max(notes_h, signature_h))
    if closing:
        _paragraph(pdf, closing)
    top = pdf.get_y()
    notes_h = _side_notes(pdf, data, legal_basis=legal_basis, copies=copies)
    pdf.set_y(top)
    _signature_block(pdf, data, opening=opening)
    pdf.set_y(max(top + notes_h, pdf.get_y()))


# ---------------------------------------------------------------- the letters

def _warning_letter(pdf, data: LetterData) -> None:
    """Surat penagihan, SP1 and SP2: the same frame, a different voice."""
    issued = _unbroken_date(data.issued_on)
    deadline = _unbroken_date(data.deadline)
    branch = _md(data.branch.name)
    addressee = data.addressee
    _letter_meta(pdf, data, attachment="-")
    _recipient_block(pdf, [f"Pimpinan {addressee.employer_name}"],
                     [f"NPP {addressee.npp}", addressee.address])
    _paragraph(pdf, "Dengan hormat,")

    if data.letter_type is LetterType.REMINDER:
        opening = (f"Berdasarkan data kepesertaan BPJS Ketenagakerjaan {branch} per tanggal "
                   f"{issued}, perusahaan Saudara masih memiliki tunggakan iuran program "
                   "jaminan sosial ketenagakerjaan beserta denda keterlambatan dengan rincian "
                   "sebagai berikut:")
    elif data.letter_type is LetterType.SP1:
        opening = (f"Menindaklanjuti surat penagihan kami sebelumnya, sampai dengan tanggal "
                   f"{issued} perusahaan Saudara belum melunasi tunggakan iuran beserta denda "
                   "keterlambatan dengan rincian sebagai berikut:")
    else:
        opening = (f"Menindaklanjuti Surat Peringatan Pertama (SP1) yang telah kami "
                   f"sampaikan, sampai dengan tanggal {issued} perusahaan Saudara belum "
                   "melunasi tunggakan iuran beserta denda keterlambatan dengan rincian "
                   "sebagai berikut:")
    _paragraph(pdf, opening)
    _arrears_by_period(pdf, data)
    _total_in_words(pdf, data)

    if data.letter_type is LetterType.REMINDER:
        _paragraph(pdf, (
            "Sesuai Undang-Undang Nomor 24 Tahun 2011, pemberi kerja wajib membayar iuran yang "
            "menjadi tanggung jawabnya beserta iuran yang dipungut dari pekerjanya; "
            "keterlambatan dikenai denda yang terus bertambah sampai tunggakan dilunasi. "
            f"Kami mohon Saudara melunasi seluruh tunggakan paling lambat tanggal "
            f"**{deadline}** dengan kode bayar di bawah ini. Apabila pembayaran telah Saudara "
            "lakukan, mohon abaikan surat ini."))
    elif data.letter_type is LetterType.SP1:
        _paragraph(pdf, (
            "Sesuai Peraturan Pemerintah Nomor 86 Tahun 2013, pemberi kerja yang tidak "
            "membayar iuran dikenai sanksi administratif berupa teguran tertulis, denda, "
            "dan/atau tidak mendapat pelayanan publik tertentu. Dengan surat ini kami "
            "memberikan **teguran tertulis pertama (Surat Peringatan Pertama)** yang berlaku "
            f"sampai dengan tanggal **{deadline}**. Kami minta Saudara melunasi seluruh "
            "tunggakan paling lambat pada tanggal tersebut dengan kode bayar di bawah ini; "
            "apabila kewajiban belum dipenuhi, kami akan menyampaikan Surat Peringatan Kedua "
            "(SP2)."))
    else:
        _paragraph(pdf, (
            "Sesuai Peraturan Pemerintah Nomor 86 Tahun 2013, dengan surat ini kami "
            "memberikan **teguran tertulis kedua (Surat Peringatan Kedua)** kepada perusahaan "
            f"Saudara. Kami minta Saudara melunasi seluruh tunggakan tersebut paling lambat "
            f"tanggal **{deadline}**. Apabila sampai dengan batas waktu tersebut kewajiban "
            "belum dipenuhi, BPJS Ketenagakerjaan akan:"), gap=0.8)
        _numbered(pdf, (
            "menyerahkan penagihan tunggakan iuran dan denda kepada Kejaksaan selaku Jaksa "
            "Pengacara Negara atau kepada Kantor Pelayanan Kekayaan Negara dan Lelang (KPKNL) "
            "sesuai ketentuan peraturan perundang-undangan; dan",
            "meminta instansi terkait mengenakan sanksi tidak mendapat pelayanan publik "
            "tertentu sebagaimana diatur dalam Peraturan Pemerintah Nomor 86 Tahun 2013, "
            "antara lain perizinan terkait usaha, izin mengikuti tender proyek, izin "
            "mempekerjakan tenaga kerja asing, dan izin perusahaan penyedia jasa "
            "pekerja/buruh.",
        ), indent=0)

    _payment_box(pdf, data)
    _closing_and_signature(pdf, data, closing=CLOSING)


def _handover_recipient(data: LetterData) -> tuple[list[str], list[str]]:
    if data.legal_recipient is not None:
        recipient = data.legal_recipient
        return [recipient.name], [recipient.attention, recipient.address]
    city = data.branch.city
    if data.legal_handover_target is LegalHandoverTarget.KEJAKSAAN:
        return ([f"Kepala Kejaksaan Negeri {city}"],
                ["u.p. Kepala Seksi Perdata dan Tata Usaha Negara"])
    return [f"Kepala Kantor Pelayanan Kekayaan Negara dan Lelang (KPKNL) {city}"], []


def _handover_letter(pdf, data: LetterData) -> None:
    branch = _md(data.branch.name)
    city = _md(data.branch.city)
    addressee = data.addressee
    periods = data.periods
    span = (period_label(periods[0]) if len(periods) == 1
            else f"{period_label(periods[0])} s.d. {period_label(periods[-1])}")
    bold, plain = _handover_recipient(data)
    _letter_meta(pdf, data, attachment="1 (satu) berkas")
    _recipient_block(pdf, bold, plain)
    _paragraph(pdf, "Dengan hormat,")
    if data.legal_handover_target is LegalHandoverTarget.KEJAKSAAN:
        _paragraph(pdf, (
            f"Bersama ini kami sampaikan **Surat Kuasa Khusus (SKK)** kepada Jaksa Pengacara "
            f"Negara pada Kejaksaan Negeri {city} untuk dan atas nama BPJS Ketenagakerjaan "
            f"{branch} melakukan penagihan, baik di dalam maupun di luar pengadilan, atas "
            "tunggakan iuran program jaminan sosial ketenagakerjaan beserta denda "
            "keterlambatan dari pemberi kerja berikut:"))
    else:
        _paragraph(pdf, (
            "Bersama ini kami serahkan **pengurusan piutang** iuran program jaminan sosial "
            "ketenagakerjaan beserta denda keterlambatan dari pemberi kerja berikut kepada "
            f"Panitia Urusan Piutang Negara (PUPN) melalui KPKNL {city}, untuk diproses "
            "sesuai ketentuan peraturan perundang-undangan:"))
    _key_values(pdf, [("Nama perusahaan", addressee.employer_name), ("NPP", addressee.npp),
                      ("Alamat", addressee.address),
                      ("Periode tunggakan", f"{span} ({len(periods)} bulan)"),
                      ("Jumlah tunggakan",
                       f"{format_rupiah(data.total)} (iuran "
                       f"{format_rupiah(data.total_contribution)} dan denda "
                       f"{format_rupiah(data.total_fine)})"),
                      ("Terbilang", _capitalised(terbilang(data.total)))],
                label_w=34, indent=6)
    pdf.ln(2.5)
    _paragraph(pdf, (
        "Pemberi kerja tersebut telah kami beri Surat Peringatan Pertama dan Surat Peringatan "
        "Kedua sesuai Peraturan Pemerintah Nomor 86 Tahun 2013, namun sampai dengan batas "
        "waktu yang ditentukan belum melunasi kewajibannya. Rincian tunggakan per periode dan "
        "program kami sampaikan dalam lampiran Pernyataan Tunggakan Iuran."))
    _paragraph(pdf, (
        f"Pemberi kerja tetap dapat melunasi tunggakan dengan kode bayar "
        f"**{_md(data.payment_code)}** sampai dengan tanggal "
        f"**{_unbroken_date(data.deadline)}** melalui kanal pembayaran mitra BPJS "
        "Ketenagakerjaan; setiap pembayaran yang kami terima akan segera kami beritahukan "
        "kepada Saudara. Kami mohon bantuan Saudara untuk menindaklanjuti penagihan ini."))
    _closing_and_signature(pdf, data, closing=CLOSING)


def _arrears_statement(pdf, data: LetterData) -> None:
    addressee = data.addressee
    _font(pdf, "B", 12)
    pdf.cell(0, 6, "PERNYATAAN TUNGGAKAN IURAN", align="C", new_x="LMARGIN", new_y="NEXT")
    _font(pdf, "", 9)
    pdf.cell(0, 4.6, to_latin1(f"Lampiran Surat Nomor {data.number} tanggal "
                               f"{format_date_long(data.issued_on)}"),
             align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _paragraph(pdf, (
        f"Yang bertanda tangan di bawah ini, {_md(data.branch.head_name)}, selaku "
        f"{_md(data.branch.head_title)} pada BPJS Ketenagakerjaan {_md(data.branch.name)}, "
        "menyatakan bahwa berdasarkan data kepesertaan per tanggal "
        f"{_unbroken_date(data.issued_on)}, pemberi kerja:"))
    _key_values(pdf, [("Nama perusahaan", addressee.employer_name), ("NPP", addressee.npp),
                      ("Alamat", addressee.address)], label_w=34, indent=6)
    pdf.ln(2.5)
    _paragraph(pdf, "memiliki tunggakan iuran beserta denda keterlambatan dengan rincian "
                    "per periode dan program sebagai berikut:")
    _arrears_detail(pdf, data)
    _total_in_words(pdf, data)
    _payment_box(pdf, data)
    _paragraph(pdf, "Demikian pernyataan ini dibuat dengan sebenarnya untuk dipergunakan "
                    "sebagaimana mestinya.")
    _closing_and_signature(pdf, data, legal_basis=False, copies=False,
                           opening=f"{data.branch.city}, {format_date_long(data.issued_on)}")
