"""Letter PDFs in S3: private, encrypted at rest, addressed by version, reached only through
short-lived presigned URLs.

Each PDF is written once under its own key (the draft, then the signed copy beside it), with
its SHA-256 in the object's metadata; the bucket is versioned, so the record keeps the
version id it wrote and nothing later can swap the bytes it points at unnoticed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.shared_kernel.aws import client
from chalicelib.shared_kernel.errors import SmileError
from chalicelib.shared_kernel.resources import BUCKET_PREFIXES

PREFIX = BUCKET_PREFIXES["letters"]


class DocumentIntegrityError(SmileError):
    """The stored PDF is not the one the letter record was written with."""

    status = 500
    code = "LETTER_DOCUMENT_CORRUPT"


@dataclass(frozen=True)
class StoredDocument:
    key: str
    version: str | None
    sha256: str
    size: int


class LetterDocuments:
    def __init__(self, bucket: str, region: str):
        self.bucket = bucket
        self.region = region

    def _s3(self):
        return client("s3", self.region)

    @staticmethod
    def key_for(branch: str, year: str, letter_id: str, name: str) -> str:
        return f"{PREFIX}{branch}/{year}/{letter_id}/{name}"

    def put(self, key: str, pdf: bytes, *, metadata: dict[str, str]) -> StoredDocument:
        digest = hashlib.sha256(pdf).hexdigest()
        result = self._s3().put_object(
            Bucket=self.bucket, Key=key, Body=pdf, ContentType="application/pdf",
            ServerSideEncryption="AES256", Metadata={**metadata, "sha256": digest})
        return StoredDocument(key, result.get("VersionId"), digest, len(pdf))

    def get(self, key: str, version: str | None, expected_sha256: str) -> bytes:
        params = {"Bucket": self.bucket, "Key": key}
        if version:
            params["VersionId"] = version
        body = self._s3().get_object(**params)["Body"].read()
        if hashlib.sha256(body).hexdigest() != expected_sha256:
            raise DocumentIntegrityError(f"the stored PDF {key} does not match its record's "
                                         "SHA-256")
        return body

    def discard(self, key: str, version: str | None) -> None:
        """Removes an object version this process wrote and then lost a race with."""
        params = {"Bucket": self.bucket, "Key": key}
        if version:
            params["VersionId"] = version
        self._s3().delete_object(**params)

    def presigned_url(self, key: str, version: str | None, filename: str,
                      expires_in: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": "application/pdf",
                  "ResponseContentDisposition": f'attachment; filename="{filename}"'}
        if version:
            params["VersionId"] = version
        return self._s3().generate_presigned_url("get_object", Params=params,
                                                 ExpiresIn=expires_in)
