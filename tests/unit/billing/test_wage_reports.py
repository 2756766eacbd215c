"""Wage-report rules without AWS: CSV reading, row checks, the corrected wage history."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from chalicelib.billing.schemas import WageReportIn
from chalicelib.billing.wage_reports import check_rows, corrected_history, parse_csv
from chalicelib.shared_kernel.calendar import Period
from chalicelib.shared_kernel.errors import ValidationFailed


@dataclass
class Employment:
    participant_id: str
    kpj: str
    started: str = "2026-01"
    left_from: str | None = None
    wage_history: str = json.dumps([{"from": "2026-01", "wage": 5_000_000}])

    def employed_in(self, period: str) -> bool:
        return self.started <= period and (self.left_from is None or period < self.left_from)


ANI, BUDI, CITRA = (Employment("p-ani", "12345678901"), Employment("p-budi", "12345678902"),
                    Employment("p-citra", "12345678903", left_from="2026-11"))


def test_csv_with_upah_header_bom_and_blank_lines_reads_as_json_rows():
    report = parse_csv("\ufeffKPJ,Upah\n12345678901,6000000\n\n12345678902, 7000000 \n",
                       "2026-11")
    assert report.period == "2026-11"
    assert [(r.kpj, r.wage) for r in report.rows] == [("12345678901", 6_000_000),
                                                      ("12345678902", 7_000_000)]


@pytest.mark.parametrize("text, period, code", [
    ("kpj,wage\n12345678901,6.000.000\n", "2026-11", "WAGE_REPORT_INVALID"),
    ("nomor,gaji\n12345678901,6000000\n", "2026-11", "CSV_HEADER_INVALID"),
    ("kpj,wage\n12345678901,6000000\n", None, "VALIDATION_FAILED"),
])
def test_csv_problems_are_named(text, period, code):
    with pytest.raises(ValidationFailed) as refused:
        parse_csv(text, period)
    assert refused.value.code == code


def test_a_thousands_separator_names_the_row_in_indonesian():
    with pytest.raises(ValidationFailed) as refused:
        parse_csv("kpj,wage\n12345678901,6000000\n12345678902,6.000.000\n", "2026-11")
    assert refused.value.details == [{"row": 2, "field": "wage", "message":
                                      "Upah harus berupa bilangan bulat rupiah tanpa titik"}]


def report(*rows) -> WageReportIn:
    return WageReportIn.model_validate({"period": "2026-11",
                                        "rows": [{"kpj": k, "wage": w} for k, w in rows]})


def test_rows_name_workers_employed_in_the_period_once():
    found = check_rows(report(("12345678901", 6_000_000)), [ANI, BUDI], "2026-11")
    assert [(f.row, f.employment.participant_id, f.wage) for f in found] == [
        (1, "p-ani", 6_000_000)]
    with pytest.raises(ValidationFailed) as refused:
        check_rows(report(("12345678901", 6_000_000), ("12345678901", 7_000_000),
                          ("99999999999", 1), ("12345678903", 5_000_000)),
                   [ANI, BUDI, CITRA], "2026-11")
    assert [(d["row"], d["message"]) for d in refused.value.details] == [
        (2, "KPJ sama dengan baris 1"),
        (3, "KPJ tidak terdaftar sebagai pekerja perusahaan ini"),
        (4, "Pekerja tidak aktif bekerja pada periode 2026-11")]


HISTORY = [{"from": "2026-01", "wage": 5_000_000}]


def test_a_wage_applies_from_its_period_on():
    assert corrected_history(HISTORY, Period(2026, 11), 6_000_000, None) == [
        {"from": "2026-01", "wage": 5_000_000}, {"from": "2026-11", "wage": 6_000_000}]


def test_a_later_billed_month_keeps_the_wage_it_was_billed_with():
    assert corrected_history(HISTORY, Period(2026, 11), 6_000_000, Period(2027, 1)) == [
        {"from": "2026-01", "wage": 5_000_000}, {"from": "2026-11", "wage": 6_000_000},
        {"from": "2026-12", "wage": 5_000_000}]


def test_a_later_change_already_recorded_stays_and_is_not_pinned_again():
    history = HISTORY + [{"from": "2026-12", "wage": 8_000_000}]
    assert corrected_history(history, Period(2026, 11), 6_000_000, Period(2026, 12)) == [
        {"from": "2026-01", "wage": 5_000_000}, {"from": "2026-11", "wage": 6_000_000},
        {"from": "2026-12", "wage": 8_000_000}]


def test_reporting_the_same_wage_again_changes_nothing():
    once = corrected_history(HISTORY, Period(2026, 11), 6_000_000, Period(2026, 11))
    assert corrected_history(once, Period(2026, 11), 6_000_000, Period(2026, 11)) == once
