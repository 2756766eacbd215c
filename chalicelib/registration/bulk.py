"""The worker-import file: its columns, how a spreadsheet's CSV is read, and the per-row
result report. Plain Python, no I/O.

The file is CSV, UTF-8 (with or without the BOM Excel writes; Windows-1252 is accepted as a
fallback), comma- or semicolon-separated (Excel in an Indonesian locale saves with ";").
One header row, then one worker per row. Columns, in any order, names case-insensitive
(English or the Indonesian alias in brackets):

    required  nik, name (nama), birth_date (tanggal_lahir), sex (jenis_kelamin),
              phone (no_hp), monthly_wage (upah)
    optional  kk_number (no_kk), email, street (alamat), village (kelurahan),
              district (kecamatan), city (kota), province_code (kode_provinsi),
              postal_code (kode_pos)

Values are read the way spreadsheets write them: dates as 1990-05-12, 12-05-1990 or
12/05/1990; sex as L/P or LAKI-LAKI/PEREMPUAN; wages as 5000000, 5.000.000 or Rp5.000.000.
A NIK that a spreadsheet turned into a number (3.57201E+15) is refused with a hint: its last
digits are lost and cannot be guessed. Each row is then validated by the same pydantic model
as an API registration (`schemas.BulkPuWorker`), so a row is accepted exactly when the same
worker sent through the API would be.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Iterable

REQUIRED = ("nik", "name", "birth_date", "sex", "phone", "monthly_wage")
OPTIONAL = ("kk_number", "email", "street", "village", "district", "city", "province_code",
            "postal_code")
ADDRESS = ("street", "village", "district", "city", "province_code", "postal_code")
COLUMNS = REQUIRED + OPTIONAL

ALIASES = {
    "nama": "name", "nama_lengkap": "name", "tanggal_lahir": "birth_date",
    "tgl_lahir": "birth_date", "jenis_kelamin": "sex", "no_hp": "phone", "nomor_hp": "phone",
    "hp": "phone", "telepon": "phone", "no_telepon": "phone", "upah": "monthly_wage",
    "upah_bulanan": "monthly_wage", "gaji": "monthly_wage", "no_kk": "kk_number",
    "nomor_kk": "kk_number", "alamat": "street", "jalan": "street", "kelurahan": "village",
    "desa": "village", "kecamatan": "district", "kota": "city", "kabupaten_kota": "city",
    "kode_provinsi": "province_code", "kode_pos": "postal_code", "surel": "email",
}

TEMPLATE = ",".join(COLUMNS) + "\r\n" + ",".join([
    "3572011205900001", "Budi Santoso", "1990-05-12", "L", "081234567890", "2500000",
    "3572010101150003", "budi@example.co.id", "Jl. Merdeka No. 10", "Kepanjenkidul",
    "Kepanjenkidul", "Kota Blitar", "35", "66117"]) + "\r\n"

REPORT_COLUMNS = ("row", "nik", "name", "outcome", "status", "participant_id", "kpj", "field",
                  "reason", "warnings")

_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
_SEX = {"L": "L", "LAKI-LAKI": "L", "LAKI LAKI": "L", "LAKI": "L", "PRIA": "L",
        "P": "P", "PEREMPUAN": "P", "WANITA": "P"}


class FileRejected(ValueError):
    """The file as a whole cannot be imported. `message` is Indonesian."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message, self.reason = message, reason


@dataclass(frozen=True)
class Row:
    number: int                   # 1-based data row (the header is row 0)
    values: dict[str, str]        # canonical column -> cell text (stripped)
    duplicate_of: int | None = None   # an earlier row with the same NIK


@dataclass
class ImportFile:
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)


def _column_name(raw: str) -> str:
    name = re.sub(r"[\s\-]+", "_", raw.strip().lower().lstrip("\ufeff"))
    return ALIASES.get(name, name)


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected("Berkas tidak dapat dibaca sebagai teks (simpan sebagai CSV UTF-8)",
                       "ENCODING")


def parse(data: bytes, *, max_rows: int) -> ImportFile:
    """The header checked and the data rows read (blank lines skipped); raises FileRejected."""
    text = decode(data)
    if not text.strip():
        raise FileRejected("Berkas kosong: baris judul kolom tidak ditemukan", "EMPTY")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected("Berkas kosong: baris judul kolom tidak ditemukan", "EMPTY") from None
    except csv.Error as exc:
        raise FileRejected(f"Berkas CSV tidak valid: {exc}", "CSV_FORMAT") from None
    columns = tuple(_column_name(h) for h in header)
    unknown = [h for h, c in zip(header, columns) if c not in COLUMNS and h.strip()]
    if unknown:
        raise FileRejected(
            f"Kolom tidak dikenal: {', '.join(unknown)}. Kolom yang diterima: "
            f"{', '.join(COLUMNS)}", "UNKNOWN_COLUMNS")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FileRejected(f"Kolom wajib belum ada: {', '.join(missing)}", "MISSING_COLUMNS")
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise FileRejected(f"Kolom ditulis lebih dari sekali: {', '.join(repeated)}",
                           "REPEATED_COLUMNS")
    result = ImportFile(columns)
    first_seen: dict[str, int] = {}
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            number = len(result.rows) + 1
            if number > max_rows:
                raise FileRejected(f"Berkas berisi lebih dari {max_rows} baris data; bagi "
                                   "menjadi beberapa berkas", "TOO_MANY_ROWS")
            values = {c: (cells[i].strip() if i < len(cells) else "")
                      for i, c in enumerate(columns) if c}
            if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns):]):
                values["_extra_cells"] = "1"
            nik = re.sub(r"[\s.\-]", "", values.get("nik", ""))
            duplicate_of = first_seen.get(nik) if nik else None
            if nik and duplicate_of is None:
                first_seen[nik] = number
            result.rows.append(Row(number, values, duplicate_of))
    except csv.Error as exc:
        raise FileRejected(f"Berkas CSV tidak valid setelah baris {len(result.rows)}: {exc}",
                           "CSV_FORMAT") from None
    if not result.rows:
        raise FileRejected("Berkas tidak berisi data pekerja (hanya baris judul)", "NO_ROWS")
    return result


class CellError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field, self.message = field_name, message


def row_body(row: Row, employer_npp: str) -> dict:
    """The row as a PU registration body (what `schemas.BulkPuWorker` validates).
    Raises CellError for what a spreadsheet gets wrong before any model sees it."""
    v = row.values
    if v.get("_extra_cells"):
        raise CellError("", "Baris berisi lebih banyak sel daripada judul kolom")
    if _SCIENTIFIC.match(v.get("nik", "")):
        raise CellError("nik", "NIK tertulis sebagai angka ilmiah (mis. 3.57E+15) sehingga "
                               "digit terakhirnya hilang: format kolom NIK sebagai Teks")
    body: dict = {"segment": "PU", "employer_npp": employer_npp}
    for column in ("nik", "name", "phone", "kk_number", "email"):
        if v.get(column):
            body[column] = v[column]
    if v.get("birth_date"):
        body["birth_date"] = _iso_date(v["birth_date"])
    if v.get("sex"):
        body["sex"] = _SEX.get(v["sex"].strip().upper(), v["sex"])
    if v.get("monthly_wage"):
        body["monthly_wage"] = _wage(v["monthly_wage"])
    address = {c: v[c] for c in ADDRESS if v.get(c)}
    if address:
        body["address"] = address
    return body


def _iso_date(text: str) -> str:
    match = _DMY.match(text.strip())
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text.strip()


def _wage(text: str):
    """Whole rupiah from "5000000", "5.000.000", "5,000,000" or "Rp 5.000.000"; anything
    else is passed on as text for the model to refuse with its own message."""
    cleaned = re.sub(r"^rp\.?\s*", "", text.strip(), flags=re.I).replace(" ", "")
    if cleaned.isdigit():
        return int(cleaned)
    if _GROUPED.match(cleaned):
        return int(re.sub(r"[.,]", "", cleaned))
    return text


@dataclass(frozen=True)
class RowResult:
    row: int
    nik: str
    name: str
    outcome: str                  # ACCEPTED, ALREADY_REGISTERED, REJECTED
    status: str = ""              # of the registration: VERIFIED, PENDING_VERIFICATION, ...
    participant_id: str = ""
    kpj: str = ""
    field: str = ""
    reason: str = ""
    warnings: str = ""

    def cells(self) -> list[str]:
        return [str(self.row), self.nik, self.name, self.outcome, self.status,
                self.participant_id, self.kpj, self.field, self.reason, self.warnings]


def _safe_cell(text: str) -> str:
    # A report opened in a spreadsheet must not run formulas from uploaded cells.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def report_part(results: Iterable[RowResult]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for result in results:
        writer.writerow([_safe_cell(cell) for cell in result.cells()])
    return buffer.getvalue().encode("utf-8")


def report_header() -> bytes:
    # The BOM makes Excel open the report as UTF-8.
    return ("\ufeff" + ",".join(REPORT_COLUMNS) + "\r\n").encode("utf-8")
