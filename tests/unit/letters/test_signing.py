import os
import stat
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
from pypdf import PdfReader

from chalicelib.receivables.letters.model import LetterType
from chalicelib.receivables.letters.signing import (
    SIGNATURE_FIELD, LetterAlreadySigned, SigningFailed, SigningKeyInvalid, SigningKeyMissing,
    generate_local_ca, generate_local_signing_identity, issue_branch_head_certificate,
    sha256_hex, sign_pdf, verify_signed_pdf,
)

from .conftest import pdf_text


@pytest.fixture(scope="module")
def letter(rendered):
    return rendered[LetterType.SP1]


@pytest.fixture(scope="module")
def signed(letter, identity):
    _, pdf = letter
    return sign_pdf(pdf, identity.key_pem, identity.cert_pem, identity.ca_cert_pem,
                    reason="Surat Peringatan Pertama", location="Blitar",
                    signer_name="Dra. Sri Wahyuningsih, M.M.")


def test_a_signed_letter_verifies_as_intact_and_trusted(signed, identity):
    result = verify_signed_pdf(signed, identity.ca_cert_pem)

    assert result.ok, result.problem
    assert (result.signed, result.intact, result.valid, result.trusted, result.unmodified) \
        == (True, True, True, True, True)
    assert result.signer_common_name == "Dra. Sri Wahyuningsih, M.M."
    assert result.field_name == SIGNATURE_FIELD
    assert abs(result.signed_at - datetime.now(timezone.utc)) < timedelta(minutes=5)


def test_signing_appends_to_the_letter_without_changing_it(letter, signed):
    _, pdf = letter

    assert signed.startswith(pdf)  # an incremental update: the unsigned bytes are kept
    assert pdf_text(signed) == pdf_text(pdf)


def test_the_signature_is_pades_with_reason_and_location(signed):
    reader = PdfReader(BytesIO(signed))
    field = reader.get_fields()[SIGNATURE_FIELD]
    value = field["/V"].get_object()

    assert value["/SubFilter"] == "/ETSI.CAdES.detached"
    assert value["/Reason"] == "Surat Peringatan Pertama"
    assert value["/Location"] == "Blitar"


def test_a_byte_changed_after_signing_breaks_the_signature(signed, identity):
    employer = b"Sumber Rejeki"
    assert employer in signed
    tampered = signed.replace(employer, b"Sumber Rezeki", 1)

    result = verify_signed_pdf(tampered, identity.ca_cert_pem)

    assert not result.ok
    assert not result.intact
    assert result.problem


def test_content_added_in_a_later_revision_is_detected(signed, identity):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(signed))
    stamp = writer.add_object(generic.StreamObject(
        stream_data=b"BT /F1 40 Tf 100 400 Td (LUNAS) Tj ET"))
    writer.add_stream_to_page(0, stamp)
    out = BytesIO()
    writer.write(out)

    result = verify_signed_pdf(out.getvalue(), identity.ca_cert_pem)

    assert result.intact  # the signed revision itself is untouched...
    assert not result.unmodified  # ...but the document shown is not what was signed
    assert not result.ok


def test_a_signature_from_another_ca_is_not_trusted(letter, other_identity, identity):
    _, pdf = letter
    foreign = sign_pdf(pdf, other_identity.key_pem, other_identity.cert_pem)

    result = verify_signed_pdf(foreign, identity.ca_cert_pem)

    assert result.intact and result.valid
    assert not result.trusted
    assert not result.ok


def test_an_unsigned_or_unreadable_document_is_a_failed_result(letter, identity):
    _, pdf = letter

    unsigned = verify_signed_pdf(pdf, identity.ca_cert_pem)
    garbage = verify_signed_pdf(b"not a pdf", identity.ca_cert_pem)

    assert not unsigned.signed and not unsigned.ok
    assert "no signature" in unsigned.problem
    assert not garbage.ok and garbage.problem


@pytest.mark.parametrize("key, cert", [(None, "cert"), (b"", "cert"), ("key", None),
                                       ("key", b"")])
def test_missing_key_material_is_a_clear_error(letter, identity, key, cert):
    _, pdf = letter
    key = identity.key_pem if key == "key" else key
    cert = identity.cert_pem if cert == "cert" else cert

    with pytest.raises(SigningKeyMissing) as raised:
        sign_pdf(pdf, key, cert, identity.ca_cert_pem)
    assert raised.value.to_body()["error"]["code"] == "SIGNING_KEY_MISSING"


def test_unreadable_key_or_certificate_is_invalid_key_material(letter, identity):
    _, pdf = letter

    with pytest.raises(SigningKeyInvalid):
        sign_pdf(pdf, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                 identity.cert_pem)
    with pytest.raises(SigningKeyInvalid):
        sign_pdf(pdf, identity.key_pem, b"not a certificate")


def test_a_key_that_does_not_match_the_certificate_is_refused(letter, identity,
                                                              other_identity):
    _, pdf = letter

    with pytest.raises(SigningKeyInvalid, match="does not belong"):
        sign_pdf(pdf, other_identity.key_pem, identity.cert_pem)


def test_a_certificate_from_another_ca_is_refused_before_signing(letter, identity,
                                                                 other_identity):
    _, pdf = letter

    with pytest.raises(SigningKeyInvalid):
        sign_pdf(pdf, other_identity.key_pem, other_identity.cert_pem, identity.ca_cert_pem)


def test_an_expired_certificate_is_refused():
    long_ago = datetime.now(timezone.utc) - timedelta(days=1000)
    ca = generate_local_ca(now=long_ago)
    expired = issue_branch_head_certificate(ca, "BLT", "Kepala Lama", valid_days=30,
                                            now=long_ago)

    with pytest.raises(SigningKeyInvalid, match="valid"):
        sign_pdf(b"%PDF-1.3", expired.key_pem, expired.cert_pem)


def test_signing_the_same_field_twice_is_refused(signed, identity):
    with pytest.raises(LetterAlreadySigned) as raised:
        sign_pdf(signed, identity.key_pem, identity.cert_pem, identity.ca_cert_pem)
    assert raised.value.status == 409


def test_a_document_that_is_not_a_pdf_cannot_be_signed(identity):
    with pytest.raises(SigningFailed):
        sign_pdf(b"hello", identity.key_pem, identity.cert_pem)


def test_the_branch_head_certificate_is_for_signing_only(identity):
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(identity.cert_pem)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    ca = x509.load_pem_x509_certificate(identity.ca_cert_pem)

    assert usage.digital_signature and usage.content_commitment
    assert not usage.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    assert "Kantor Cabang BLT" in cert.subject.rfc4514_string()


def test_local_identity_files_are_private_and_reused(tmp_path):
    first = generate_local_signing_identity("BLT", "Kepala Blitar", tmp_path)
    again = generate_local_signing_identity("BLT", "Kepala Blitar", tmp_path)
    madiun = generate_local_signing_identity("MDN", "Kepala Madiun", tmp_path)

    assert again == first
    assert madiun.ca_cert_pem == first.ca_cert_pem  # one local CA for every branch
    assert madiun.cert_pem != first.cert_pem
    for name in ("local-ca.key.pem", "BLT-head.key.pem", "MDN-head.key.pem"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "BLT-head.key.pem", "BLT-head.pem", "MDN-head.key.pem", "MDN-head.pem",
        "local-ca.key.pem", "local-ca.pem"]


def test_sha256_hex():
    assert sha256_hex(b"abc") == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_signed_letter_hashes_differently_from_the_draft(letter, signed):
    assert sha256_hex(signed) != sha256_hex(letter[1])
