"""The participation card PDF and what its public check shows."""
import shutil
import subprocess
from datetime import date

import pytest

from chalicelib.registration.card_pdf import CardContent, grouped_kpj, render_card
from chalicelib.registration.cards import mask_kpj, mask_name

URL = "https://smile.example/v1/cards/0123456789abcdef0123456789abcdef"


def a_card(**overrides) -> CardContent:
    values = dict(name="Budi Santoso", kpj="00000000017", segment="PU",
                  programs=("JKK", "JKM", "JHT", "JP"), issued_on=date(2026, 12, 3),
                  verification_url=URL, employer_name="CV Sumber Rejeki Blitar")
    values.update(overrides)
    return CardContent(**values)


def test_the_card_is_a_one_page_id1_pdf_with_its_texts():
    from pypdf import PdfReader
    import io

    pdf = render_card(a_card())
    reader = PdfReader(io.BytesIO(pdf))
    [page] = reader.pages
    width_mm = float(page.mediabox.width) / 72 * 25.4
    height_mm = float(page.mediabox.height) / 72 * 25.4
    assert (round(width_mm, 1), round(height_mm, 1)) == (85.6, 54.0)
    text = page.extract_text()
    for expected in ("BUDI SANTOSO", "0000 0000 017", "Penerima Upah", "JKK, JKM, JHT, JP",
                     "CV Sumber Rejeki Blitar", "3 Desember 2026"):
        assert expected in text


def test_names_outside_latin1_do_not_break_the_card():
    assert render_card(a_card(name="Nguyễn Văn An")).startswith(b"%PDF")


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                    reason="needs poppler-utils and zbar-tools")
def test_the_qr_code_reads_back_as_the_verification_url(tmp_path):
    (tmp_path / "card.pdf").write_bytes(render_card(a_card()))
    subprocess.run(["pdftoppm", "-png", "-r", "300", str(tmp_path / "card.pdf"),
                    str(tmp_path / "card")], check=True)
    [image] = tmp_path.glob("card*.png")
    out = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True,
                         text=True)
    assert out.stdout.strip() == URL


def test_numbers_and_names_as_shown():
    assert grouped_kpj("12345678901") == "1234 5678 901"
    assert mask_name("Budi Santoso") == "B*** S******"
    assert mask_name("Siti") == "S***"
    assert mask_kpj("12345678901") == "*******8901"
    assert mask_kpj(None) is None
