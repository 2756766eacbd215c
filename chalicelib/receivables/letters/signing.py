"""Signing approved letters (PAdES with pyHanko) and checking signed ones.

The local stage signs with a throw-away CA and one certificate per branch head, generated
at set-up (`generate_local_signing_identity`) and never committed (*.pem is git-ignored).
A deployment would hold the branch head's key in an HSM or a certified signing service
(PSrE/BSrE); `sign_pdf` is the one place that would change.

pyHanko, asn1crypto and cryptography are imported inside the functions: importing this
module costs nothing but the error classes.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

from chalicelib.shared_kernel.errors import Conflict, SmileError

SIGNATURE_FIELD = "KepalaKantorCabang"
DEFAULT_REASON = "Persetujuan dan penandatanganan surat oleh Kepala Kantor Cabang"
LOCAL_CA_NAME = "SMILE Local Signing CA (tidak untuk produksi)"
AGENCY_ORG = "BPJS Ketenagakerjaan"


class SigningError(SmileError):
    status = 500
    code = "SIGNING_ERROR"


class SigningKeyMissing(SigningError):
    """No key or certificate was configured for the signer: the letter cannot be signed on
    this stage until an operator provides them (the letter stays DRAFT meanwhile)."""

    status = 503
    code = "SIGNING_KEY_MISSING"


class SigningKeyInvalid(SigningError):
    """Key material that cannot sign: unreadable, mismatched, expired, untrusted."""

    code = "SIGNING_KEY_INVALID"


class SigningFailed(SigningError):
    """The document could not be signed (unreadable PDF, pyHanko refused)."""

    code = "SIGNING_FAILED"


class LetterAlreadySigned(Conflict):
    code = "LETTER_ALREADY_SIGNED"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- local key material

@dataclass(frozen=True)
class LocalCa:
    key_pem: bytes
    cert_pem: bytes


@dataclass(frozen=True)
class SigningIdentity:
    """A branch head's key and certificate, and the CA certificate that vouches for them."""

    key_pem: bytes
    cert_pem: bytes
    ca_cert_pem: bytes


def _new_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str, *, unit: str | None = None, title: str | None = None):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, AGENCY_ORG)]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit[:64]))
    if title:
        attributes.append(x509.NameAttribute(NameOID.TITLE, title[:64]))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    return x509.Name(attributes)


def generate_local_ca(*, common_name: str = LOCAL_CA_NAME, valid_days: int = 3650,
                      now: datetime | None = None) -> LocalCa:
    """A self-signed root for the local stage only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    now = now or datetime.now(timezone.utc)
    key = _new_key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return LocalCa(key_pem=_key_pem(key), cert_pem=cert.public_bytes(serialization.Encoding.PEM))


def issue_branch_head_certificate(ca: LocalCa, branch_code: str, head_name: str, *,
                                  head_title: str = "Kepala Kantor Cabang",
                                  valid_days: int = 730,
                                  now: datetime | None = None) -> SigningIdentity:
    """A signing certificate for a branch head (digitalSignature + nonRepudiation)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    if not branch_code or not head_name:
        raise ValueError("branch_code and head_name are required")
    now = now or datetime.now(timezone.utc)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    key = _new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(head_name, unit=f"Kantor Cabang {branch_code}", title=head_title))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(min(now + timedelta(days=valid_days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return SigningIdentity(key_pem=_key_pem(key),
                           cert_pem=cert.public_bytes(serialization.Encoding.PEM),
                           ca_cert_pem=ca.cert_pem)


def generate_local_signing_identity(branch_code: str, head_name: str,
                                    out_dir: str | os.PathLike | None = None, *,
                                    head_title: str = "Kepala Kantor Cabang",
                                    ca: LocalCa | None = None) -> SigningIdentity:
    """The local stage's signing material for one branch head.

    Without out_dir: a fresh CA (or the one given) and certificate, in memory. With out_dir:
    reuses `local-ca.pem`/`local-ca.key.pem` there if present (one CA for every branch) and the
    branch's `<code>-head.pem`/`<code>-head.key.pem` if present, creating what is missing;
    private keys are written with mode 0600. Delete the files to start again.
    """
    if out_dir is None:
        return issue_branch_head_certificate(ca or generate_local_ca(), branch_code, head_name,
                                             head_title=head_title)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert_file, ca_key_file = directory / "local-ca.pem", directory / "local-ca.key.pem"
    cert_file = directory / f"{branch_code}-head.pem"
    key_file = directory / f"{branch_code}-head.key.pem"
    if ca is None:
        if ca_cert_file.exists() and ca_key_file.exists():
            ca = LocalCa(key_pem=ca_key_file.read_bytes(), cert_pem=ca_cert_file.read_bytes())
        else:
            ca = generate_local_ca()
            _write_private(ca_key_file, ca.key_pem)
            ca_cert_file.write_bytes(ca.cert_pem)
    if cert_file.exists() and key_file.exists():
        return SigningIdentity(key_pem=key_file.read_bytes(), cert_pem=cert_file.read_bytes(),
                               ca_cert_pem=ca.cert_pem)
    identity = issue_branch_head_certificate(ca, branch_code, head_name, head_title=head_title)
    _write_private(key_file, identity.key_pem)
    cert_file.write_bytes(identity.cert_pem)
    return identity


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


# ---------------------------------------------------------------- signing

@lru_cache(maxsize=8)
def _private_key(key_pem: bytes, passphrase: bytes | None):
    """Parsed once per warm process: loading (and checking) an RSA key costs ~75 ms, more
    than the signature itself."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(key_pem, password=passphrase)


@lru_cache(maxsize=1)
def _preloaded_key_signer_class():
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner

    class PreloadedKeySigner(SimpleSigner):
        """SimpleSigner re-parses its key from DER on every signature; this one signs with
        the key object already loaded, and defers to SimpleSigner for other mechanisms."""

        def __init__(self, *, private_key, **kwargs):
            super().__init__(**kwargs)
            self._private_key = private_key

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algorithm = mechanism.signature_algo
            except ValueError:
                algorithm = mechanism["algorithm"].native
            hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
            key = self._private_key
            if algorithm == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
                return key.sign(data, PKCS1v15(), hash_algorithm)
            if algorithm == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
                return key.sign(data, ECDSA(hash_algorithm))
            return super().sign_raw(data, digest_algorithm)

    return PreloadedKeySigner


def _load_signer_material(key_pem, cert_pem, ca_cert_pem, key_passphrase):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not key_pem:
        raise SigningKeyMissing("no signing key configured for the branch head")
    if not cert_pem:
        raise SigningKeyMissing("no signing certificate configured for the branch head")
    try:
        key = _private_key(bytes(key_pem), key_passphrase)
    except (ValueError, TypeError) as exc:
        raise SigningKeyInvalid(f"the signing key cannot be read: {exc}") from exc
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
        ca_certs = x509.load_pem_x509_certificates(ca_cert_pem) if ca_cert_pem else []
    except ValueError as exc:
        raise SigningKeyInvalid(f"a certificate cannot be read: {exc}") from exc
    cert = certs[0]
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise SigningKeyInvalid("the signing key does not belong to the signing certificate")
    now = datetime.now(timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SigningKeyInvalid(
            f"the signing certificate is valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, not now")
    return key, cert, certs[1:], ca_certs


def sign_pdf(pdf_bytes: bytes, key_pem: bytes | None, cert_pem: bytes | None,
             ca_cert_pem: bytes | None = None, reason: str = DEFAULT_REASON,
             location: str = "", signer_name: str | None = None, *,
             field_name: str = SIGNATURE_FIELD, key_passphrase: bytes | None = None,
             timestamper=None) -> bytes:
    """The PDF with a PAdES (B-B; B-T with a pyHanko `timestamper`) signature appended as an
    incremental update in an invisible field `field_name`.

    With ca_cert_pem the signer's chain is checked against it before signing (and embedded);
    a chain that does not lead there is SigningKeyInvalid, not a bad signature found later.
    """
    from asn1crypto import x509 as asn1_x509
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError as PyHankoSigningError
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key, cert, chain, ca_certs = _load_signer_material(key_pem, cert_pem, ca_cert_pem,
                                                       key_passphrase)
    signing_cert = translate_pyca_cryptography_cert_to_asn1(cert)
    others: list[asn1_x509.Certificate] = [
        translate_pyca_cryptography_cert_to_asn1(c) for c in [*chain, *ca_certs]]
    signer = _preloaded_key_signer_class()(
        private_key=key,
        signing_cert=signing_cert,
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=SimpleCertificateStore.from_certs(others),
    )
    validation_context = None
    if ca_certs:
        validation_context = ValidationContext(
            trust_roots=[translate_pyca_cryptography_cert_to_asn1(c) for c in ca_certs],
            allow_fetching=False, revocation_mode="soft-fail")
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason or None,
        location=location or None,
        name=signer_name or None,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        validation_context=validation_context,
        signer_key_usage={"non_repudiation"},
    )
    # Room for the CMS blob, sized up front: pyHanko's default estimate signs a dry run
    # first, which doubles the cost of every signature.
    reserved = 2 * ((4096 + len(signing_cert.dump()) + sum(len(c.dump()) for c in others)
                     + (8192 if timestamper is not None else 0)) // 2 + 1)
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    except Exception as exc:  # pyHanko raises several parser errors; all mean "not a PDF"
        raise SigningFailed(f"the document is not a readable PDF: {exc}") from exc
    for name, _value, _ref in fields.enumerate_sig_fields(writer, filled_status=True):
        if name == field_name:
            raise LetterAlreadySigned(f"the letter is already signed in field {field_name!r}")
    try:
        output = signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper,
                                  bytes_reserved=reserved)
    except PyHankoSigningError as exc:
        if isinstance(exc.__cause__, (PathBuildingError, PathValidationError)):
            raise SigningKeyInvalid(
                f"the signing certificate does not validate against the CA: {exc.__cause__}"
            ) from exc
        raise SigningFailed(f"pyHanko could not sign the letter: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a library failure becomes our error, chained
        raise SigningFailed(f"pyHanko could not sign the letter: {exc}") from exc
    return output.getvalue()


# ---------------------------------------------------------------- verification

@dataclass(frozen=True)
class VerificationResult:
    """What a signed letter's signature says. `ok` is the one answer a page should show."""

    signed: bool
    intact: bool  # the signed bytes hash to the signed digest
    valid: bool  # the signature over that digest verifies with the certificate's key
    trusted: bool  # the certificate chains to the trusted CA
    unmodified: bool  # nothing but permitted updates after signing
    signer_common_name: str | None
    signed_at: datetime | None
    field_name: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and self.unmodified


def verify_signed_pdf(pdf_bytes: bytes, trusted_ca_pem: bytes) -> VerificationResult:
    """Validates every signature in the PDF against the trusted CA; reports on the last one
    and is ok only if all are. Unsigned or unreadable input is a result, not an exception.
    Runs pyHanko's validation with asyncio.run: call it from synchronous code."""
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    def failed(problem: str) -> VerificationResult:
        return VerificationResult(signed=False, intact=False, valid=False, trusted=False,
                                  unmodified=False, signer_common_name=None, signed_at=None,
                                  problem=problem)

    try:
        roots = list(load_certs_from_pemder_data(trusted_ca_pem))
    except Exception as exc:  # noqa: BLE001 - asn1crypto raises a variety
        raise SigningKeyInvalid(f"the trusted CA certificate cannot be read: {exc}") from exc
    if not roots:
        raise SigningKeyMissing("no trusted CA certificate given")
    try:
        reader = PdfFileReader(BytesIO(pdf_bytes), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any parser failure means "not a PDF we can read"
        return failed(f"not a readable PDF: {exc}")
    if not signatures:
        return failed("the document carries no signature")

    statuses = []
    for embedded in signatures:
        context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                    revocation_mode="soft-fail")
        try:
            statuses.append((embedded, validate_pdf_signature(
                embedded, context,
                key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}))))
        except Exception as exc:  # noqa: BLE001 - a broken signature is a failed check
            return VerificationResult(
                signed=True, intact=False, valid=False, trusted=False, unmodified=False,
                signer_common_name=None, signed_at=None, field_name=embedded.field_name,
                problem=f"the signature cannot be validated: {exc}")
    embedded, last = statuses[-1]
    signed_at = last.signer_reported_dt or embedded.self_reported_timestamp
    try:
        common_name = last.signing_cert.subject.native.get("common_name")
    except Exception:  # noqa: BLE001 - an odd subject is not a reason to fail the check
        common_name = None
    # After signing, a letter may only gain validation data or a document timestamp.
    unmodified = all(_no_changes(status) for _, status in statuses)
    result = VerificationResult(
        signed=True,
        intact=all(s.intact for _, s in statuses),
        valid=all(s.valid for _, s in statuses),
        trusted=all(s.trusted for _, s in statuses),
        unmodified=unmodified,
        signer_common_name=common_name,
        signed_at=signed_at,
        field_name=embedded.field_name,
    )
    if not result.ok:
        problems = [status.summary() for _, status in statuses if not status.bottom_line]
        result = VerificationResult(**{**result.__dict__,
                                       "problem": "; ".join(problems) or "not valid"})
    return result


def _no_changes(status) -> bool:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    return status.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
