"""Small factories for registration tests: real-shaped NIKs and request bodies."""
from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.registration.identifiers import build_nik, format_npp

BLITAR_CITY = ("35", "72", "01")  # Jawa Timur, Kota Blitar, first kecamatan

# A man born 12 May 1990 and a woman born the same day (day + 40 in her NIK), Kota Blitar.
MAN_NIK = "3572011205900001"
WOMAN_NIK = "3572015205900002"
MAN_BIRTH = date(1990, 5, 12)


def a_nik(birth_date: date = MAN_BIRTH, sex: str = "L", *, region=BLITAR_CITY, serial=1) -> str:
    return build_nik(*region, birth_date, sex, serial)


def an_address(**overrides: Any) -> dict:
    body = {"street": "Jl. Merdeka No. 10 RT 02/RW 05", "village": "Kepanjenkidul",
            "district": "Kepanjenkidul", "city": "Kota Blitar", "province_code": "35",
            "postal_code": "66117"}
    body.update(overrides)
    return body


def a_person(**overrides: Any) -> dict:
    body = {"nik": MAN_NIK, "name": "Budi Santoso", "birth_date": "1990-05-12", "sex": "L",
            "kk_number": "3572010101150003", "address": an_address(),
            "phone": "0812-3456-7890", "email": "budi.santoso@example.co.id"}
    body.update(overrides)
    return body


def a_pu_participant(**overrides: Any) -> dict:
    return {**a_person(), "segment": "PU", "employer_npp": format_npp(1234),
            "monthly_wage": 2_500_000, **overrides}


def a_bpu_participant(**overrides: Any) -> dict:
    return {**a_person(), "segment": "BPU", "declared_income": 1_000_000,
            "programs": ["JKK", "JKM"], **overrides}


def a_jk_project(**overrides: Any) -> dict:
    body = {"contractor_name": "PT Bangun Jaya Abadi", "contractor_npwp": "01.234.567.8-901.000",
            "project_name": "Rehabilitasi Jembatan Kali Lahar",
            "work_order_number": "027/SPK/PUPR/2026", "work_order_date": "2026-03-02",
            "contract_value": 250_000_000, "duration_months": 6}
    body.update(overrides)
    return body


def a_jk_participant(**overrides: Any) -> dict:
    return {**a_person(), "segment": "JK", "project": a_jk_project(), **overrides}


def an_employer(**overrides: Any) -> dict:
    body = {"name": "CV Sumber Rejeki Blitar", "npwp": "01.234.567.8-901.000",
            "nib": "9120001234567", "address": an_address(), "branch_code": "a01",
            "jkk_risk_class": 2, "industry_sector": "10792", "contact_person": "Siti Aminah",
            "phone": "(0342) 123456", "email": "hrd@sumberrejeki.co.id"}
    body.update(overrides)
    return body


# --------------------------------------------------------------------------- worker imports

WORKER_HEADER = ("nik", "name", "birth_date", "sex", "phone", "monthly_wage")


def worker_csv(count: int, *, first: int = 1, wage: int = 3_000_000, mixed: bool = True,
               delimiter: str = ",") -> tuple[bytes, list[tuple[str, str]]]:
    """A worker-import file of `count` rows and what each row should come to:
    ("ACCEPTED", "VERIFIED"), ("ACCEPTED", "PENDING_VERIFICATION") or ("REJECTED", field).

    With `mixed`, rows are spoiled in a fixed pattern: every 25th repeats the NIK of the row
    before, every 50th (from 13) has a NIK mangled by a spreadsheet, rows 3 mod 10 a birth
    date that does not match the NIK, 7 mod 10 a wage in words, 11 mod 20 a short phone, and
    5 mod 10 a wage under the regional minimum (a warning: left to a verifier). `first`
    offsets the NIKs so that files do not collide.
    """
    lines = [delimiter.join(WORKER_HEADER)]
    expected: list[tuple[str, str]] = []
    previous_nik = None
    for i in range(first, first + count):
        birth = date(1975 + i % 25, 1 + i % 12, 1 + i % 28)
        sex = "L" if i % 2 else "P"
        nik = build_nik("35", "72", f"{1 + (i // 9000) % 9:02d}", birth, sex, i % 9000 + 1)
        row = {"nik": nik, "name": f"Pekerja Nomor {_words(i)}", "birth_date": birth.isoformat(),
               "sex": sex, "phone": f"0812{i:08d}", "monthly_wage": str(wage)}
        outcome = ("ACCEPTED", "VERIFIED")
        if mixed:
            k = i - first + 1
            if k % 25 == 0 and previous_nik:
                row["nik"], outcome = previous_nik, ("REJECTED", "nik")
            elif k % 50 == 13:
                row["nik"], outcome = "3.57201E+15", ("REJECTED", "nik")
            elif k % 10 == 3:
                row["birth_date"], outcome = f"{birth.year - 1}-{birth.month:02d}-{birth.day:02d}", \
                    ("REJECTED", "birth_date")
            elif k % 10 == 7:
                row["monthly_wage"], outcome = "tiga juta", ("REJECTED", "monthly_wage")
            elif k % 20 == 11:
                row["phone"], outcome = "12345", ("REJECTED", "phone")
            elif k % 10 == 5:
                row["monthly_wage"], outcome = "2.000.000", ("ACCEPTED", "PENDING_VERIFICATION")
        previous_nik = row["nik"]
        lines.append(delimiter.join(row[c] for c in WORKER_HEADER))
        expected.append(outcome)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8"), expected


_ONES = ["Nol", "Satu", "Dua", "Tiga", "Empat", "Lima", "Enam", "Tujuh", "Delapan", "Sembilan"]


def _words(number: int) -> str:
    """Names must be letters: 123 -> "Satu Dua Tiga"."""
    return " ".join(_ONES[int(d)] for d in str(number))


def ticking(start):
    """A clock one second further at each reading: audit entries written by one test get
    an order (entries of the same instant sort by a random suffix)."""
    from datetime import timedelta
    from itertools import count

    seconds = count()
    return lambda: start + timedelta(seconds=next(seconds))
