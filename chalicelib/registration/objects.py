"""Registration's S3 port: presigned uploads and downloads, object metadata, small reads and
writes in the private bucket. Tests of the use cases can pass a fake with the same methods.

Presigned URLs are signed with SigV4 against the regional endpoint (the global endpoint
redirects for buckets outside us-east-1, which breaks a signed PUT); with AWS_ENDPOINT_URL set
(the local stack) boto3 signs for the moto server instead.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from chalicelib.shared_kernel.errors import NotFound


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str


class ObjectStore:
    def __init__(self, bucket: str, region: str):
        self.bucket = bucket
        self.region = region
        self._lock = threading.Lock()

    @cached_property
    def _s3(self):
        import boto3
        from botocore.config import Config

        with self._lock:
            return boto3.session.Session().client(
                "s3", region_name=self.region,
                config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))

    def presigned_put(self, key: str, *, content_type: str, size: int, ttl: int) -> dict:
        """A PUT that S3 accepts only with exactly this content type and length."""
        url = self._s3.generate_presigned_url(
            "put_object", ExpiresIn=ttl, HttpMethod="PUT",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type,
                    "ContentLength": size})
        return {"method": "PUT", "url": url, "expires_in": ttl,
                "headers": {"Content-Type": content_type, "Content-Length": str(size)}}

    def presigned_get(self, key: str, *, ttl: int, file_name: str | None = None) -> dict:
        params = {"Bucket": self.bucket, "Key": key}
        if file_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{file_name}"'
        url = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)
        return {"url": url, "expires_in": ttl}

    def head(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            meta = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(key, int(meta["ContentLength"]),
                          meta.get("ContentType", "application/octet-stream"))

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"no object {key}", code="OBJECT_NOT_FOUND") from exc
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                            ServerSideEncryption="AES256")
