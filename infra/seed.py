"""Demo data for the local stack: the Blitar branch (BLT) with three employers and their
workers, and BPU participants, registered and verified through the same use cases the API
calls. Idempotent: NIKs are fixed, so a second run meets DUPLICATE_NIK and a marker."""
from __future__ import annotations

from datetime import date

EMPLOYERS = [
    # name, NPWP, NIB, risk class, KBLI sector, [(worker name, sex, birth date, wage)]
    ("CV Sumber Rejeki Blitar", "012345678901000", "9120001234567", 2, "10792",
     [("Budi Santoso", "L", date(1990, 5, 12), 5_000_000),
      ("Siti Aminah", "P", date(1993, 8, 2), 3_200_000),
      ("Agus Wibowo", "L", date(1985, 1, 20), 12_000_000)]),
    ("PT Kendang Jaya Mebel", "023456789012000", "9120002345678", 3, "31001",
     [("Dewi Lestari", "P", date(1995, 3, 14), 2_900_000),
      ("Joko Susilo", "L", date(1988, 11, 30), 3_500_000)]),
    ("UD Tani Makmur", "034567890123000", "9120003456789", 1, "01111",
     [("Rahmat Hidayat", "L", date(1979, 7, 7), 2_800_000)]),
]
BPU = [("Sri Wahyuni", "P", date(1982, 4, 21), 1_000_000, ["JKK", "JKM"]),
       ("Slamet Riyadi", "L", date(1975, 9, 9), 2_500_000, ["JKK", "JKM", "JHT"]),
       ("Wahyu Nugroho", "L", date(1998, 12, 1), 1_500_000, ["JKK", "JKM"])]

_ADDRESS = {"street": "Jl. Merdeka No. 10 RT 02/RW 05", "village": "Kepanjenkidul",
            "district": "Kepanjenkidul", "city": "Kota Blitar", "province_code": "35",
            "postal_code": "66117"}


def seed() -> str:
    from chalicelib.bootstrap import container
    from chalicelib.registration.identifiers import build_nik
    from chalicelib.registration.schemas import (EmployerRegistration, VerificationDecision,
                                                 parse_participant_registration)
    from chalicelib.shared_kernel.auth import Principal, Role
    from chalicelib.shared_kernel.errors import Conflict
    from chalicelib.shared_kernel.records import CounterRecord

    marker = CounterRecord("seed:BLT")
    if CounterRecord.count(hash_key="seed:BLT"):
        return "already seeded (branch BLT)"
    service = container().registration
    officer = Principal(subject="seed", role=Role.VERIFIER, branch="BLT")
    approve = VerificationDecision(decision="APPROVE")
    serial = 0
    counts = {"employers": 0, "workers": 0, "bpu": 0}

    def person(name, sex, born, phone_suffix):
        nonlocal serial
        serial += 1
        return {"nik": build_nik("35", "72", "01", born, sex, serial), "name": name,
                "birth_date": born.isoformat(), "sex": sex,
                "kk_number": f"35720101011500{serial:02d}", "address": _ADDRESS,
                "phone": f"0812345{phone_suffix:05d}", "email": None}

    for index, (name, npwp, nib, risk, sector, workers) in enumerate(EMPLOYERS):
        employer = EmployerRegistration.model_validate({
            "name": name, "npwp": npwp, "nib": nib, "address": _ADDRESS, "branch_code": "BLT",
            "jkk_risk_class": risk, "industry_sector": sector, "contact_person": "Siti Aminah",
            "phone": f"0342-12{index:04d}", "email": f"hrd{index}@contoh.co.id"})
        created = service.register_employer(employer, None)
        npp = service.verify_employer(created["employer_id"], approve, officer)["npp"]
        counts["employers"] += 1
        for w_index, (w_name, sex, born, wage) in enumerate(workers):
            body = {**person(w_name, sex, born, index * 100 + w_index), "segment": "PU",
                    "employer_npp": npp, "monthly_wage": wage}
            try:
                reg = service.register_participant(parse_participant_registration(body), None)
            except Conflict:
                continue
            service.verify_participant(reg["participant_id"], approve, officer)
            counts["workers"] += 1
    for b_index, (name, sex, born, income, programs) in enumerate(BPU):
        body = {**person(name, sex, born, 900 + b_index), "segment": "BPU",
                "declared_income": income, "programs": programs}
        try:
            reg = service.register_participant(parse_participant_registration(body), None)
        except Conflict:
            continue
        service.verify_participant(reg["participant_id"], approve, officer)
        counts["bpu"] += 1
    marker.save()
    return (f"branch BLT: {counts['employers']} employers, {counts['workers']} workers, "
            f"{counts['bpu']} BPU participants")
