"""Letters: builders for letter data and one signing identity per test session."""
from __future__ import annotations

import re
from io import BytesIO

import pytest

from chalicelib.receivables.letters.model import LetterType


@pytest.fixture(scope="session")
def identity():
    from chalicelib.receivables.letters.signing import generate_local_signing_identity

    return generate_local_signing_identity("BLT", "Dra. Sri Wahyuningsih, M.M.")


@pytest.fixture(scope="session")
def other_identity():
    """Key material from a different local CA: trusted by nobody in these tests."""
    from chalicelib.receivables.letters.signing import generate_local_signing_identity

    return generate_local_signing_identity("BLT", "Impostor")


@pytest.fixture(scope="session")
def rendered():
    """One rendered PDF per letter type (and the KPKNL handover), built once."""
    from chalicelib.receivables.letters.render import render_letter_pdf
    from chalicelib.receivables.letters.samples import sample_letter

    letters = {t: sample_letter(t) for t in LetterType}
    letters["KPKNL"] = sample_letter(LetterType.LEGAL_HANDOVER, target="KPKNL")
    return {key: (data, render_letter_pdf(data)) for key, data in letters.items()}


def pdf_pages_text(pdf: bytes) -> list[str]:
    """Each page's text with whitespace collapsed, so wrapped phrases match."""
    from pypdf import PdfReader

    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return " ".join(pdf_pages_text(pdf))
