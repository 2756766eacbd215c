"""Inbound keywords: STOP/BERHENTI, SALDO, STATUS, TAGIHAN, BANTUAN/HELP, anything else."""
import pytest

from chalicelib.blast.keywords import (
    BalanceQuery,
    BillsQuery,
    Help,
    HelpReason,
    OptIn,
    OptOut,
    StatusQuery,
    parse_keyword,
)

KPJ = "12345678901"


@pytest.mark.parametrize("text, expected", [
    ("STOP", OptOut()),
    ("stop", OptOut()),
    ("  Stop  ", OptOut()),
    ("STOP.", OptOut()),
    ("BERHENTI", OptOut()),
    ("berhenti!", OptOut()),
    ("Stop kirim pesan", OptOut()),           # honour an opt-out even with words after it
    ("ＳＴＯＰ", OptOut()),                      # full-width letters from some keyboards
    ("MULAI", OptIn()),
    ("start", OptIn()),
    ("mulai bayar bulan depan", Help(HelpReason.UNKNOWN)),   # opting in must be explicit
    (f"SALDO {KPJ}", BalanceQuery(KPJ)),
    (f"saldo   {KPJ}", BalanceQuery(KPJ)),
    (f"Saldo#{KPJ}", BalanceQuery(KPJ)),
    (f"SALDO: {KPJ}", BalanceQuery(KPJ)),
    ("SALDO 1234 5678 901", BalanceQuery(KPJ)),
    ("SALDO 123.4567.8901", BalanceQuery(KPJ)),
    (f"STATUS {KPJ}", StatusQuery(KPJ)),
    (f"status {KPJ}", StatusQuery(KPJ)),
    (f"TAGIHAN {KPJ}", BillsQuery(kpj=KPJ)),
    ("TAGIHAN 12345678", BillsQuery(npp="12345678")),
    (f"tagihan kpj {KPJ}", BillsQuery(kpj=KPJ)),
    ("TAGIHAN NPP 12345678901", BillsQuery(npp="12345678901")),  # explicit NPP wins
    ("tagihan npp#987654", BillsQuery(npp="987654")),
    ("BANTUAN", Help(HelpReason.REQUESTED, "BANTUAN")),
    ("help", Help(HelpReason.REQUESTED, "HELP")),
    ("SALDO", Help(HelpReason.MISSING_NUMBER, "SALDO")),
    ("SALDO 1234567890", Help(HelpReason.INVALID_KPJ, "SALDO")),        # 10 digits
    ("SALDO 123456789012", Help(HelpReason.INVALID_KPJ, "SALDO")),      # 12 digits
    ("STATUS budi", Help(HelpReason.INVALID_KPJ, "STATUS")),
    ("TAGIHAN", Help(HelpReason.MISSING_NUMBER, "TAGIHAN")),
    ("TAGIHAN KPJ 123", Help(HelpReason.INVALID_KPJ, "TAGIHAN")),
    ("TAGIHAN NPP", Help(HelpReason.MISSING_NUMBER, "TAGIHAN")),
    ("TAGIHAN bulan ini", Help(HelpReason.INVALID_NUMBER, "TAGIHAN")),
    ("Selamat pagi, saya mau tanya", Help(HelpReason.UNKNOWN)),
    ("STOPWATCH", Help(HelpReason.UNKNOWN)),
    ("", Help(HelpReason.UNKNOWN)),
    ("   ", Help(HelpReason.UNKNOWN)),
    ("🙏", Help(HelpReason.UNKNOWN)),
    (None, Help(HelpReason.UNKNOWN)),
])
def test_keyword_table(text, expected):
    assert parse_keyword(text) == expected


@pytest.mark.parametrize("command, template", [
    (OptOut(), "opt_out_confirmed"),
    (OptIn(), "opt_in_confirmed"),
    (BalanceQuery(KPJ), "saldo_jht"),
    (StatusQuery(KPJ), "status_kepesertaan"),
    (BillsQuery(kpj=KPJ), "tagihan_list"),
    (Help(HelpReason.UNKNOWN), "bantuan"),
])
def test_every_command_names_a_shipped_reply_template(command, template):
    from chalicelib.blast.templates import default_catalog

    assert command.reply_template == template
    assert template in default_catalog()


def test_a_bills_query_names_exactly_one_identifier():
    with pytest.raises(ValueError):
        BillsQuery()
    with pytest.raises(ValueError):
        BillsQuery(kpj=KPJ, npp="1")
