"""The template catalog: the shipped data is valid, and a bad edit fails loudly."""
import textwrap

import pytest

from chalicelib.blast.templates import (
    ParamType,
    TemplateError,
    WhatsAppMode,
    default_catalog,
    load_catalog,
)

REQUIRED = {
    "bill_issued", "reminder_before_due", "overdue", "fine_notice", "letter_available",
    "payment_received", "registration_rejected", "bpu_inactive", "saldo_jht",
    "status_kepesertaan", "tagihan_list", "bantuan", "opt_out_confirmed", "card_issued",
}

GOOD = """
name = "sample"
language = "id"
category = "UTILITY"
body_params = ["nama", "jumlah"]
body = "Yth. {nama}, tagihan Anda {jumlah}. Terima kasih."
sms = "Yth. {nama}, tagihan {jumlah}."

[[params]]
name = "nama"
type = "text"
example = "Budi"

[[params]]
name = "jumlah"
type = "amount"
example = 16800
"""


def write(tmp_path, text, name="sample"):
    (tmp_path / f"{name}.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_the_shipped_catalog_holds_every_required_template():
    catalog = default_catalog()
    assert REQUIRED <= set(catalog)
    for template in catalog.values():
        assert template.language == "id"
        assert template.category.value == "UTILITY"


def test_business_initiated_notices_are_templates_and_keyword_answers_are_text():
    catalog = default_catalog()
    for name in ("bill_issued", "overdue", "letter_available", "bpu_inactive",
                 "card_issued"):
        assert catalog[name].whatsapp_mode is WhatsAppMode.TEMPLATE
    for name in ("saldo_jht", "status_kepesertaan", "tagihan_list", "bantuan",
                 "opt_out_confirmed"):
        assert catalog[name].whatsapp_mode is WhatsAppMode.TEXT


def test_letter_available_declares_its_document_header():
    template = default_catalog()["letter_available"]
    assert template.header is not None
    assert template.param(template.header.link_param).type is ParamType.URL


def test_a_valid_file_loads(tmp_path):
    catalog = load_catalog(write(tmp_path, GOOD))
    template = catalog["sample"]
    assert template.body_params == ("nama", "jumlah")
    assert template.whatsapp_body_text() == "Yth. {{1}}, tagihan Anda {{2}}. Terima kasih."


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.replace('body = "Yth. {nama}', 'body = "Yth. {nama} {kpj}'),
     "body uses undeclared placeholder {kpj}"),
    (lambda t: t.replace('sms = "Yth. {nama}', 'sms = "Yth. {nama} {kpj}'),
     "sms uses undeclared placeholder {kpj}"),
    (lambda t: t.replace('body_params = ["nama", "jumlah"]', 'body_params = ["nama"]'),
     "body placeholder {jumlah} is missing from 'body_params'"),
    (lambda t: t.replace('sms = "Yth. {nama}, tagihan {jumlah}."', 'sms = "Yth. {nama}."'),
     "sms does not mention {jumlah}"),
    (lambda t: t + '\n[[params]]\nname = "nama"\ntype = "text"\nexample = "x"\n',
     "parameter 'nama' is declared twice"),
    (lambda t: t.replace('type = "amount"', 'type = "money"'),
     "parameter 'jumlah' has type 'money'"),
    (lambda t: t.replace("example = 16800", 'example = "16800"'),
     "examples do not render"),
    (lambda t: t.replace('body = "Yth. {nama},', 'body = "{nama},'),
     "may not start or end with a parameter"),
    (lambda t: t.replace("{jumlah}. Terima kasih.", "{nama} {jumlah}. Terima kasih."),
     "side by side"),
    (lambda t: t.replace('Terima kasih."', 'Terima {kasih."'),
     "body has a brace that is not a {placeholder}"),
    (lambda t: t.replace('category = "UTILITY"', 'category = "PROMO"'),
     "'category' is 'PROMO'"),
    (lambda t: t.replace('name = "sample"', 'name = "other"'),
     "file name must be other.toml"),
    (lambda t: t.replace('sms = "Yth. {nama}, tagihan {jumlah}."',
                         'sms = "Yth. {nama}, tagihan {jumlah} — segera."'),
     "sms text is not GSM-7"),
    (lambda t: t.replace('sms = "Yth. {nama}, tagihan {jumlah}."',
                         'sms = "Yth. {nama}, tagihan {jumlah}.' + " panjang" * 60 + '"'),
     "more than sms_max_segments = 2"),
    (lambda t: t + '\n[[params]]\nname = "kpj"\ntype = "text"\nexample = "1"\n',
     "parameter 'kpj' is declared but used nowhere"),
    (lambda t: t + '\n[button]\ntype = "url"\ntext = "Bayar"\nurl = "http://x/{nama}"\n',
     "[button] url must be https://"),
    (lambda t: t + '\n[header]\ntype = "document"\nlink = "nama"\nfilename = "nama"\n',
     "[header] link parameter must have type \"url\""),
    (lambda t: 'colour = "blue"\n' + t, "unknown key 'colour'"),
    (lambda t: t + 'colour = "blue"\n', "params #2 has unknown keys ['colour']"),
])
def test_an_invalid_template_fails_with_a_clear_problem(tmp_path, edit, problem):
    write(tmp_path, edit(GOOD))
    with pytest.raises(TemplateError) as info:
        load_catalog(tmp_path)
    assert problem in str(info.value)
    assert isinstance(info.value, ValueError)


def test_every_problem_is_reported_at_once(tmp_path):
    write(tmp_path, GOOD.replace('sms = "Yth. {nama}, tagihan {jumlah}."', 'sms = "{x}"'))
    write(tmp_path, "name = ", name="broken")
    with pytest.raises(TemplateError) as info:
        load_catalog(tmp_path)
    problems = info.value.problems
    assert any(p.startswith("broken.toml: not valid TOML") for p in problems)
    assert any("sms uses undeclared placeholder {x}" in p for p in problems)
    assert any("sms does not mention {nama}" in p for p in problems)


def test_template_names_are_unique_because_each_file_is_named_after_its_template(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD, name="sample_copy")
    with pytest.raises(TemplateError) as info:
        load_catalog(tmp_path)
    assert "file name must be sample.toml" in str(info.value)


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(TemplateError, match="no \\*.toml templates"):
        load_catalog(tmp_path)
