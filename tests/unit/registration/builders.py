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
