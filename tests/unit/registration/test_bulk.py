"""The worker-import file: columns, spreadsheet habits, in-file duplicates, the report."""
import csv
import io

import pytest
from pydantic import ValidationError

from chalicelib.registration import bulk
from chalicelib.registration.identifiers import format_npp
from chalicelib.registration.schemas import BulkPuWorker, describe_errors

from .builders import MAN_NIK, WOMAN_NIK, worker_csv

NPP = format_npp(1234)
HEADER = "nik,name,birth_date,sex,phone,monthly_wage"


def parse(text: str, encoding: str = "utf-8", max_rows: int = 100) -> bulk.ImportFile:
    return bulk.parse(text.encode(encoding), max_rows=max_rows)


def worker(row: bulk.Row) -> BulkPuWorker:
    return BulkPuWorker.model_validate(bulk.row_body(row, NPP))


def test_a_plain_file_becomes_pu_registrations():
    parsed = parse(f"{HEADER}\r\n{MAN_NIK},Budi Santoso,1990-05-12,L,0812-3456-7890,5000000\r\n")
    [row] = parsed.rows
    w = worker(row)
    assert (w.nik, w.name, w.sex.value, w.phone, w.monthly_wage, w.employer_npp) == (
        MAN_NIK, "Budi Santoso", "L", "+6281234567890", 5_000_000, NPP)
    assert w.kk_number is None and w.address is None


def test_indonesian_headers_semicolons_bom_and_spreadsheet_values():
    text = ("\ufeffNIK;Nama;Tanggal Lahir;Jenis Kelamin;No HP;Upah;Alamat;Kota;Kode Provinsi\r\n"
            f"{WOMAN_NIK};Siti Aminah;12/05/1990;Perempuan;812-3456-7890;Rp 5.000.000;"
            "Jl. Merdeka No. 10;Kota Blitar;35\r\n\r\n")
    [row] = parse(text).rows
    w = worker(row)
    assert (w.sex.value, w.birth_date.isoformat(), w.monthly_wage) == ("P", "1990-05-12",
                                                                      5_000_000)
    assert (w.address.street, w.address.city, w.address.province_code) == (
        "Jl. Merdeka No. 10", "Kota Blitar", "35")


def test_windows_1252_files_are_read():
    text = f"{HEADER}\r\n{MAN_NIK},Budi Santoso,1990-05-12,L,081234567890,5000000\r\n"
    assert parse(text, encoding="cp1252").rows[0].values["name"] == "Budi Santoso"
    assert bulk.decode("Andr\u00e9".encode("cp1252")) == "Andr\u00e9"


@pytest.mark.parametrize("cell, expected", [
    ("5000000", 5_000_000), ("5.000.000", 5_000_000), ("5,000,000", 5_000_000),
    ("Rp5.000.000", 5_000_000), ("rp. 5.000.000", 5_000_000),
    ("5.000,00", "5.000,00"), ("5.00.000", "5.00.000"), ("lima juta", "lima juta"),
])
def test_wages_are_read_as_whole_rupiah_or_left_for_the_model_to_refuse(cell, expected):
    [row] = parse(f"{HEADER}\r\n{MAN_NIK},Budi,1990-05-12,L,0812,\"{cell}\"\r\n").rows
    assert bulk.row_body(row, NPP)["monthly_wage"] == expected


def test_a_wage_in_words_is_refused_in_indonesian():
    [row] = parse(f"{HEADER}\r\n{MAN_NIK},Budi Santoso,1990-05-12,L,081234567890,lima juta\r\n"
                  ).rows
    with pytest.raises(ValidationError) as caught:
        worker(row)
    [error] = describe_errors(caught.value)
    assert (error.field, error.message) == (
        "monthly_wage", "Upah bulanan harus berupa bilangan bulat rupiah (tanpa desimal, tanpa "
                        "tanda kutip), contoh 5000000")


def test_a_nik_a_spreadsheet_turned_into_a_number_gets_a_hint():
    [row] = parse(f"{HEADER}\r\n3.57201E+15,Budi Santoso,1990-05-12,L,0812,5000000\r\n").rows
    with pytest.raises(bulk.CellError) as caught:
        bulk.row_body(row, NPP)
    assert caught.value.field == "nik" and "format kolom NIK sebagai Teks" in caught.value.message


def test_the_same_nik_twice_in_a_file_points_to_the_first_row():
    spaced = f"{MAN_NIK[:4]} {MAN_NIK[4:8]} {MAN_NIK[8:12]} {MAN_NIK[12:]}"
    rows = parse(f"{HEADER}\r\n{MAN_NIK},A,1990-05-12,L,0812,1\r\n"
                 f"{WOMAN_NIK},B,1990-05-12,P,0812,1\r\n{spaced},C,1990-05-12,L,0812,1\r\n").rows
    assert [r.duplicate_of for r in rows] == [None, None, 1]


def test_more_cells_than_columns_is_a_row_error():
    [row] = parse(f"{HEADER}\r\n{MAN_NIK},Budi,1990-05-12,L,0812,1,extra\r\n").rows
    with pytest.raises(bulk.CellError, match="lebih banyak sel"):
        bulk.row_body(row, NPP)


def test_short_rows_leave_the_missing_cells_empty_for_the_model_to_name():
    [row] = parse(f"{HEADER}\r\n{MAN_NIK},Budi Santoso,1990-05-12\r\n").rows
    with pytest.raises(ValidationError) as caught:
        worker(row)
    assert [e.field for e in describe_errors(caught.value)] == ["sex", "phone", "monthly_wage"]


@pytest.mark.parametrize("text, reason", [
    ("", "EMPTY"), ("  \r\n", "EMPTY"), ("nik,name\r\n1,2\r\n", "MISSING_COLUMNS"),
    (f"{HEADER},gaji_pokok\r\n", "UNKNOWN_COLUMNS"), (f"{HEADER}\r\n", "NO_ROWS"),
    (f"{HEADER},nama\r\n", "REPEATED_COLUMNS"),
])
def test_files_that_cannot_be_imported(text, reason):
    with pytest.raises(bulk.FileRejected) as caught:
        parse(text)
    assert caught.value.reason == reason and caught.value.message


def test_row_limit():
    text = HEADER + "\r\n" + "".join(f"{MAN_NIK},B,1990-05-12,L,0812,1\r\n" for _ in range(3))
    assert len(parse(text, max_rows=3).rows) == 3
    with pytest.raises(bulk.FileRejected) as caught:
        parse(text, max_rows=2)
    assert caught.value.reason == "TOO_MANY_ROWS"


def test_undecodable_bytes_are_refused():
    with pytest.raises(bulk.FileRejected) as caught:
        bulk.decode(b"\x81\x8d\x8f\x90\x9d")  # undefined in cp1252, invalid UTF-8
    assert caught.value.reason == "ENCODING"


def test_the_report_escapes_formulas_and_opens_in_excel():
    results = [bulk.RowResult(1, MAN_NIK, "=HYPERLINK(\"x\")", "REJECTED", field="name",
                              reason="Nama hanya boleh berisi huruf"),
               bulk.RowResult(2, WOMAN_NIK, "Siti", "ACCEPTED", status="VERIFIED",
                              participant_id="p-2", kpj="00000000017")]
    data = bulk.report_header() + bulk.report_part(results)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["name"] == "'=HYPERLINK(\"x\")"
    assert (rows[1]["outcome"], rows[1]["kpj"]) == ("ACCEPTED", "00000000017")
    assert list(rows[0]) == list(bulk.REPORT_COLUMNS)


def test_the_template_parses_to_a_valid_worker():
    [row] = bulk.parse(bulk.TEMPLATE.encode(), max_rows=1).rows
    assert worker(row).kk_number == "3572010101150003"


def test_the_mixed_test_file_says_what_each_row_comes_to():
    data, expected = worker_csv(100)
    rows = bulk.parse(data, max_rows=100).rows
    for row, (outcome, detail) in zip(rows, expected):
        if row.duplicate_of:
            got = ("REJECTED", "nik")
        else:
            try:
                worker(row)
                got = ("ACCEPTED", detail)
            except bulk.CellError as exc:
                got = ("REJECTED", exc.field)
            except ValidationError as exc:
                got = ("REJECTED", describe_errors(exc)[0].field)
        assert got == (outcome, detail), row
