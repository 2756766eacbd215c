"""Rendering: the Indonesian texts participants read, and the Cloud API payload."""
from datetime import date, datetime, timezone

import pytest

from chalicelib.blast.rendering import RenderError, render
from chalicelib.shared_kernel.calendar import Period

BILL = {
    "nama": "Budi Santoso",
    "periode": "2026-11",
    "jumlah": 16800,
    "jatuh_tempo": date(2026, 12, 15),
    "kode_bayar": "880012345678",
}

CASES = {
    "bill_issued": (BILL, (
        "Yth. Budi Santoso,\n\n"
        "Tagihan iuran BPJS Ketenagakerjaan periode November 2026 sudah terbit.\n"
        "Jumlah: Rp16.800\n"
        "Jatuh tempo: 15 Desember 2026\n"
        "Kode bayar: 880012345678\n\n"
        "Bayar dengan kode bayar di atas melalui bank, kantor pos, minimarket, atau dompet "
        "digital mitra kami. Terima kasih."
    ), (
        "BPJS Ketenagakerjaan: Yth. Budi Santoso, tagihan iuran periode November 2026 sebesar "
        "Rp16.800 jatuh tempo 15 Desember 2026. Kode bayar 880012345678. Bayar di bank, kantor "
        "pos, minimarket atau dompet digital."
    )),
    "reminder_before_due": (BILL, (
        "Yth. Budi Santoso,\n\n"
        "Kami mengingatkan bahwa iuran BPJS Ketenagakerjaan periode November 2026 sebesar "
        "Rp16.800 jatuh tempo pada 15 Desember 2026.\n"
        "Kode bayar: 880012345678\n\n"
        "Mohon dibayar sebelum jatuh tempo. Abaikan pesan ini jika Anda sudah membayar."
    ), (
        "BPJS Ketenagakerjaan: Yth. Budi Santoso, iuran periode November 2026 sebesar Rp16.800 "
        "jatuh tempo 15 Desember 2026. Kode bayar 880012345678. Abaikan jika sudah membayar."
    )),
    "overdue": (BILL, (
        "Yth. Budi Santoso,\n\n"
        "Iuran BPJS Ketenagakerjaan periode November 2026 sebesar Rp16.800 telah melewati "
        "jatuh tempo 15 Desember 2026 dan belum kami terima.\n"
        "Kode bayar: 880012345678\n\n"
        "Mohon segera melakukan pembayaran. Abaikan pesan ini jika Anda sudah membayar."
    ), (
        "BPJS Ketenagakerjaan: Yth. Budi Santoso, iuran periode November 2026 sebesar Rp16.800 "
        "lewat jatuh tempo 15 Desember 2026 dan belum diterima. Kode bayar 880012345678. "
        "Mohon segera dibayar."
    )),
    "fine_notice": ({
        "nama": "PT Maju Jaya", "npp": "12345678", "periode": Period(2026, 10),
        "iuran": 2500000, "bulan_terlambat": 2, "denda": 100000, "total": 2600000,
        "kode_bayar": "880012345678",
    }, (
        "Yth. Pimpinan PT Maju Jaya (NPP 12345678),\n\n"
        "Iuran BPJS Ketenagakerjaan periode Oktober 2026 sebesar Rp2.500.000 terlambat dibayar "
        "2 bulan sehingga dikenakan denda Rp100.000.\n"
        "Total yang harus dibayar: Rp2.600.000\n"
        "Kode bayar: 880012345678\n\n"
        "Denda dibayarkan bersama iuran. Abaikan pesan ini jika Anda sudah membayar."
    ), (
        "BPJS Ketenagakerjaan: PT Maju Jaya NPP 12345678, iuran periode Oktober 2026 sebesar "
        "Rp2.500.000 terlambat 2 bulan, denda Rp100.000. Total Rp2.600.000, kode bayar "
        "880012345678."
    )),
    "letter_available": ({
        "nama": "PT Maju Jaya", "npp": "12345678", "jenis_surat": "Surat Peringatan 1",
        "nomor_surat": "SP1/045/KC-MDN/2026", "total_tunggakan": 7500000,
        "dokumen_url": "https://bucket.s3.amazonaws.com/sp1-045.pdf?X-Amz-Signature=abc",
        "dokumen_nama": "SP1_045_2026.pdf", "tautan": "https://smile.example/s/Zx9",
    }, (
        "Yth. Pimpinan PT Maju Jaya (NPP 12345678),\n\n"
        "Bersama pesan ini kami sampaikan Surat Peringatan 1 nomor SP1/045/KC-MDN/2026 "
        "(terlampir). Total tunggakan iuran: Rp7.500.000.\n\n"
        "Mohon segera menyelesaikan pembayaran. Untuk informasi lebih lanjut, hubungi kantor "
        "cabang BPJS Ketenagakerjaan terdekat."
    ), (
        "BPJS Ketenagakerjaan: PT Maju Jaya NPP 12345678, Surat Peringatan 1 nomor "
        "SP1/045/KC-MDN/2026 telah terbit. Total tunggakan Rp7.500.000. Unduh surat: "
        "https://smile.example/s/Zx9"
    )),
    "payment_received": ({
        "nama": "Budi Santoso", "periode": "2026-11", "jumlah": 16800,
        "tanggal_bayar": date(2026, 12, 10), "kanal": "Kantor Pos",
        "nomor_referensi": "20261210000123",
    }, (
        "Yth. Budi Santoso,\n\n"
        "Terima kasih. Pembayaran iuran BPJS Ketenagakerjaan periode November 2026 sebesar "
        "Rp16.800 telah kami terima pada 10 Desember 2026 melalui Kantor Pos.\n"
        "Nomor referensi: 20261210000123\n\n"
        "Simpan pesan ini sebagai bukti pembayaran."
    ), (
        "BPJS Ketenagakerjaan: Terima kasih Budi Santoso, pembayaran iuran periode November "
        "2026 sebesar Rp16.800 diterima 10 Desember 2026 via Kantor Pos. Ref 20261210000123."
    )),
    "registration_rejected": ({
        "nama": "Siti Aminah", "nomor_pendaftaran": "REG2026120001",
        "alasan": ["Foto KTP tidak terbaca", "Tanggal lahir tidak sesuai dengan NIK"],
    }, (
        "Yth. Siti Aminah,\n\n"
        "Pendaftaran BPJS Ketenagakerjaan Anda nomor REG2026120001 belum dapat kami setujui. "
        "Mohon lengkapi atau perbaiki: 1) Foto KTP tidak terbaca; 2) Tanggal lahir tidak "
        "sesuai dengan NIK.\n\n"
        "Setelah dilengkapi, silakan ajukan kembali pendaftaran Anda."
    ), (
        "BPJS Ketenagakerjaan: Yth. Siti Aminah, pendaftaran nomor REG2026120001 belum "
        "disetujui. Mohon lengkapi: 1) Foto KTP tidak terbaca; 2) Tanggal lahir tidak sesuai "
        "dengan NIK. Ajukan kembali setelah dilengkapi."
    )),
    "bpu_inactive": ({
        "nama": "Budi Santoso", "kpj": "12345678901", "bulan_tunggakan": 3,
        "total_tunggakan": 50400, "kode_bayar": "880012345678",
    }, (
        "Yth. Budi Santoso,\n\n"
        "Kepesertaan BPJS Ketenagakerjaan Anda dengan nomor KPJ 12345678901 saat ini tidak "
        "aktif karena iuran 3 bulan belum dibayar.\n\n"
        "Untuk mengaktifkan kembali, bayar tunggakan sebesar Rp50.400 di bank, kantor pos, "
        "minimarket, atau dompet digital mitra kami dengan kode bayar 880012345678 atau dengan "
        "nomor KPJ Anda. Kepesertaan aktif kembali setelah pembayaran kami terima."
    ), (
        "BPJS Ketenagakerjaan: Yth. Budi Santoso, kepesertaan KPJ 12345678901 tidak aktif "
        "(3 bulan belum dibayar). Aktifkan kembali dengan membayar Rp50.400 di kanal mana pun, "
        "kode bayar 880012345678 atau nomor KPJ."
    )),
    "saldo_jht": ({
        "kpj": "12345678901", "nama": "Budi Santoso", "per_tanggal": date(2026, 11, 30),
        "saldo": 12750000,
    }, (
        "Saldo JHT BPJS Ketenagakerjaan\nKPJ: 12345678901\nNama: Budi Santoso\n"
        "Saldo per 30 November 2026: Rp12.750.000\n\nKetik BANTUAN untuk layanan lain."
    ), (
        "Saldo JHT KPJ 12345678901 a.n. Budi Santoso per 30 November 2026: Rp12.750.000. "
        "Ketik BANTUAN untuk layanan lain."
    )),
    "status_kepesertaan": ({
        "kpj": "12345678901", "nama": "Budi Santoso", "status": "TIDAK AKTIF",
        "program": "JKK, JKM", "iuran_terakhir": "2026-08",
    }, (
        "Status kepesertaan BPJS Ketenagakerjaan\nKPJ: 12345678901\nNama: Budi Santoso\n"
        "Status: TIDAK AKTIF\nProgram: JKK, JKM\nIuran terakhir: periode Agustus 2026\n\n"
        "Ketik BANTUAN untuk layanan lain."
    ), (
        "Status KPJ 12345678901 a.n. Budi Santoso: TIDAK AKTIF. Program JKK, JKM. Iuran "
        "terakhir periode Agustus 2026."
    )),
    "status_kepesertaan_baru": ({
        "kpj": "12345678901", "nama": "Budi Santoso", "status": "TERDAFTAR",
        "program": "JKK, JKM",
    }, (
        "Status kepesertaan BPJS Ketenagakerjaan\nKPJ: 12345678901\nNama: Budi Santoso\n"
        "Status: TERDAFTAR\nProgram: JKK, JKM\nIuran terakhir: belum ada pembayaran\n\n"
        "Ketik BANTUAN untuk layanan lain."
    ), (
        "Status KPJ 12345678901 a.n. Budi Santoso: TERDAFTAR. Program JKK, JKM. Belum ada "
        "pembayaran iuran."
    )),
    "kata_kunci_tidak_cocok": ({"identitas": "KPJ 12345678901"}, (
        "Informasi untuk KPJ 12345678901 hanya dapat dikirim ke nomor ponsel yang terdaftar "
        "pada kepesertaan tersebut.\n\n"
        "Untuk mengubah nomor ponsel, hubungi kantor cabang BPJS Ketenagakerjaan terdekat. "
        "Ketik BANTUAN untuk layanan lain."
    ), (
        "Informasi untuk KPJ 12345678901 hanya dikirim ke nomor ponsel terdaftar. Ubah nomor "
        "di kantor cabang BPJS Ketenagakerjaan."
    )),
    "tagihan_list": ({
        "identitas": "KPJ 12345678901", "jumlah_tagihan": 2, "total": 33600,
        "daftar": [
            {"periode": "2026-10", "jumlah": 16800, "jatuh_tempo": date(2026, 10, 15),
             "kode_bayar": "880011111111"},
            {"periode": Period(2026, 11), "jumlah": 16800, "jatuh_tempo": date(2026, 11, 16),
             "kode_bayar": "880022222222"},
        ],
    }, (
        "Tagihan terbuka untuk KPJ 12345678901: 2 tagihan.\n"
        "1) Oktober 2026 Rp16.800, jatuh tempo 15 Oktober 2026, kode bayar 880011111111; "
        "2) November 2026 Rp16.800, jatuh tempo 16 November 2026, kode bayar 880022222222\n"
        "Total: Rp33.600\n\n"
        "Bayar di bank, kantor pos, minimarket, atau dompet digital dengan kode bayar "
        "masing-masing."
    ), (
        "2 tagihan untuk KPJ 12345678901: 1) Oktober 2026 Rp16.800, jatuh tempo 15 Oktober "
        "2026, kode bayar 880011111111; 2) November 2026 Rp16.800, jatuh tempo 16 November "
        "2026, kode bayar 880022222222. Total Rp33.600."
    )),
    "tagihan_kosong": ({"identitas": "NPP 12345678"}, (
        "Tidak ada tagihan terbuka untuk NPP 12345678. Terima kasih telah membayar iuran tepat "
        "waktu."
    ), "Tidak ada tagihan terbuka untuk NPP 12345678. Terima kasih."),
    "bantuan": ({}, (
        "Layanan pesan BPJS Ketenagakerjaan. Ketik:\n"
        "SALDO <nomor KPJ> - saldo JHT\n"
        "STATUS <nomor KPJ> - status kepesertaan\n"
        "TAGIHAN <nomor KPJ atau NPP> - tagihan yang belum dibayar\n"
        "STOP - berhenti menerima pengingat\n\n"
        "Contoh: SALDO 12345678901"
    ), (
        "Ketik SALDO <KPJ>, STATUS <KPJ>, TAGIHAN <KPJ/NPP>, atau STOP untuk berhenti menerima "
        "pengingat. Contoh: SALDO 12345678901"
    )),
    "opt_out_confirmed": ({}, (
        "Anda tidak akan lagi menerima pengingat dari BPJS Ketenagakerjaan melalui nomor ini. "
        "Ketik MULAI untuk menerimanya kembali."
    ), (
        "Anda tidak akan lagi menerima pengingat BPJS Ketenagakerjaan di nomor ini. Ketik MULAI "
        "untuk menerimanya kembali."
    )),
    "card_issued": ({"nama": "Siti Aminah", "kpj": "12345678901",
                     "tautan": "https://smile.example/v1/participants/p-0001/card"}, (
        "Yth. Siti Aminah,\n\n"
        "Selamat, Anda kini terdaftar sebagai peserta BPJS Ketenagakerjaan dengan nomor KPJ "
        "12345678901. Kartu peserta digital Anda sudah terbit dan dapat diunduh di "
        "https://smile.example/v1/participants/p-0001/card\n\n"
        "Simpan kartu ini dan tunjukkan saat mengajukan klaim atau layanan di kantor cabang."
    ), (
        "BPJS Ketenagakerjaan: Yth. Siti Aminah, kartu peserta KPJ 12345678901 sudah terbit. "
        "Unduh di https://smile.example/v1/participants/p-0001/card"
    )),
    "opt_in_confirmed": ({}, (
        "Anda kembali menerima pengingat iuran dan informasi kepesertaan BPJS Ketenagakerjaan "
        "melalui nomor ini. Ketik STOP untuk berhenti."
    ), "Anda kembali menerima pengingat BPJS Ketenagakerjaan di nomor ini. Ketik STOP untuk "
       "berhenti."),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_template_renders_its_indonesian_text_on_both_channels(name):
    params, body, sms = CASES[name]
    message = render(name, params)
    assert message.body_text == body
    assert message.sms_text == sms
    assert message.sms_encoding().encoding == "GSM-7"


def test_every_shipped_template_has_a_rendering_case():
    from chalicelib.blast.templates import default_catalog

    assert set(default_catalog()) == set(CASES)


def test_bill_issued_builds_a_cloud_api_template_message():
    payload = render("bill_issued", BILL).whatsapp_payload("628123456789")
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "628123456789",
        "type": "template",
        "template": {
            "name": "bill_issued",
            "language": {"code": "id"},
            "components": [
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Budi Santoso"},
                    {"type": "text", "text": "November 2026"},
                    {"type": "text", "text": "Rp16.800"},
                    {"type": "text", "text": "15 Desember 2026"},
                    {"type": "text", "text": "880012345678"},
                ]},
                {"type": "button", "sub_type": "url", "index": "0",
                 "parameters": [{"type": "text", "text": "880012345678"}]},
            ],
        },
    }


def test_letter_available_carries_the_pdf_as_a_document_header():
    params, _, _ = CASES["letter_available"]
    message = render("letter_available", params)
    payload = message.whatsapp_payload("628123456789", callback_data="delivery#42")
    header, body = payload["template"]["components"]
    assert header == {"type": "header", "parameters": [{"type": "document", "document": {
        "link": "https://bucket.s3.amazonaws.com/sp1-045.pdf?X-Amz-Signature=abc",
        "filename": "SP1_045_2026.pdf"}}]}
    assert [p["text"] for p in body["parameters"]] == [
        "PT Maju Jaya", "12345678", "Surat Peringatan 1", "SP1/045/KC-MDN/2026", "Rp7.500.000"]
    assert payload["biz_opaque_callback_data"] == "delivery#42"
    assert message.preview_text.startswith("[Dokumen: SP1_045_2026.pdf]\n\nYth. Pimpinan")


def test_positions_follow_the_declared_order():
    message = render("fine_notice", CASES["fine_notice"][0])
    template = message.template
    assert template.position("nama") == 1 and template.position("kode_bayar") == 8
    assert template.whatsapp_body_text().startswith("Yth. Pimpinan {{1}} (NPP {{2}}),")
    body = message.whatsapp_payload("628123456789")["template"]["components"][0]
    assert body["parameters"][template.position("denda") - 1]["text"] == "Rp100.000"


def test_keyword_answers_go_as_plain_text_inside_the_service_window():
    params, body, _ = CASES["saldo_jht"]
    payload = render("saldo_jht", params).whatsapp_payload("628123456789")
    assert payload == {"messaging_product": "whatsapp", "recipient_type": "individual",
                       "to": "628123456789", "type": "text",
                       "text": {"preview_url": False, "body": body}}


def test_template_without_parameters_sends_no_body_component():
    from chalicelib.blast.templates.catalog import Category, Template, WhatsAppMode
    from chalicelib.blast.rendering import render_template

    template = Template(
        name="ping", language="id", category=Category.UTILITY,
        whatsapp_mode=WhatsAppMode.TEMPLATE, description="", body="Halo dari kami.",
        sms="Halo.", params=(), body_params=(), header=None, button=None,
        sms_max_segments=1, source="ping.toml")
    payload = render_template(template, {}).whatsapp_payload("628123456789")
    assert payload["template"]["components"] == []


def test_text_values_lose_new_lines_and_runs_of_spaces():
    # WhatsApp refuses parameters with new lines, tabs or more than 4 consecutive spaces.
    message = render("bill_issued", {**BILL, "nama": "  Budi\n\tSantoso      Jr. "})
    assert message.values["nama"] == "Budi Santoso Jr."


@pytest.mark.parametrize("change, expected", [
    ({"jumlah": 16800.0}, "'jumlah' must be an int of rupiah"),
    ({"jumlah": "Rp16.800"}, "'jumlah' must be an int of rupiah"),
    ({"jumlah": True}, "'jumlah' must be an int of rupiah"),
    ({"jumlah": -1}, "'jumlah' must be a non-negative amount"),
    ({"jatuh_tempo": "2026-12-15"}, "'jatuh_tempo' must be a datetime.date"),
    ({"jatuh_tempo": datetime(2026, 12, 15, tzinfo=timezone.utc)},
     "'jatuh_tempo' must be a datetime.date"),
    ({"periode": "2026-13"}, "'periode' must be a Period or 'YYYY-MM'"),
    ({"nama": "   "}, "'nama' must be a non-empty str"),
    ({"kode_bayar": 880012345678}, "'kode_bayar' must be a non-empty str"),
])
def test_wrong_value_types_are_refused_clearly(change, expected):
    with pytest.raises(RenderError, match=expected):
        render("bill_issued", {**BILL, **change})


def test_missing_and_unknown_parameters_are_named():
    params = {k: v for k, v in BILL.items() if k != "kode_bayar"}
    params["kpj"] = "12345678901"
    with pytest.raises(ValueError) as info:
        render("bill_issued", params)
    message = str(info.value)
    assert "missing kode_bayar" in message and "unknown kpj" in message


def test_unknown_template_is_a_value_error():
    with pytest.raises(ValueError, match="unknown message template 'tagihan_terbit'"):
        render("tagihan_terbit", {})


@pytest.mark.parametrize("to", ["+628123456789", "08123456789", "62 812", "", "6281234567890123"])
def test_recipient_must_be_e164_digits(to):
    with pytest.raises(ValueError, match="E.164 digits"):
        render("bill_issued", BILL).whatsapp_payload(to)


def test_a_body_that_grows_past_whatsapps_limit_is_refused():
    reasons = [f"Dokumen pendukung nomor {i} belum lengkap" for i in range(40)]
    with pytest.raises(RenderError, match="more than WhatsApp's 1024"):
        render("registration_rejected",
               {"nama": "Siti", "nomor_pendaftaran": "REG1", "alasan": reasons})
