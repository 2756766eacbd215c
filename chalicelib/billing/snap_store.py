"""SNAP partner channels' data access: partners (credentials encrypted), the key items that
make X-EXTERNAL-ID unique per partner per day and company codes unique, settlement-file
imports, and the reconciliation files in S3. Owns every condition expression here and maps
DynamoDB refusals to the project's errors.

Payments themselves are billing's (store.PaymentRecord, posted by payments.PaymentService).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from pynamodb.attributes import (NumberAttribute, TTLAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.shared_kernel.errors import Conflict, NotFound
from chalicelib.shared_kernel.resources import BUCKET_PREFIXES, table, transact_write

from .store import PaymentRecord

ACTIVE, DISABLED = "ACTIVE", "DISABLED"
_CONDITION_FAILED = "ConditionalCheckFailedException"


class _AllPartners(GlobalSecondaryIndex):
    """Partners are a few dozen: one partition lists them without a scan."""

    class Meta:
        index_name = "all_partners"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)      # always "PARTNER"
    client_id = UnicodeAttribute(range_key=True)


@table("snap-partners")
class PartnerRecord(Model):
    class Meta:
        table_name = "snap-partners"

    client_id = UnicodeAttribute(hash_key=True)     # X-CLIENT-KEY / X-PARTNER-ID
    listing = UnicodeAttribute(default="PARTNER")
    name = UnicodeAttribute()
    channel_id = UnicodeAttribute()                 # CHANNEL-ID
    company_code = UnicodeAttribute()               # digits, unpadded
    partner_service_id = UnicodeAttribute()         # company code left-padded to 8
    public_key_pem = UnicodeAttribute()
    key_fingerprint = UnicodeAttribute()
    secret_ciphertext = UnicodeAttribute()          # Fernet; never logged, never returned
    status = UnicodeAttribute()                     # ACTIVE | DISABLED
    # Bumped by every disable, enable, secret or key rotation: access tokens carry it, so
    # the bump revokes every token issued before.
    credential_version = NumberAttribute(default=1)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    secret_rotated_at = UTCDateTimeAttribute()
    key_rotated_at = UTCDateTimeAttribute()

    all_partners = _AllPartners()


@table("snap-keys")
class SnapKeyRecord(Model):
    """Uniqueness by conditional put: "xid#<client>#<day>#<X-EXTERNAL-ID>" (expires after
    the day) and "company#<code>" (permanent)."""

    class Meta:
        table_name = "snap-keys"

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    expires = TTLAttribute(null=True)


class _ImportsByPartnerDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_partner_day"
        projection = AllProjection()

    partner_day = UnicodeAttribute(hash_key=True)   # "<client_id>#<YYYY-MM-DD>"
    uploaded_at = UTCDateTimeAttribute(range_key=True)


@table("snap-settlement-imports")
class SettlementImportRecord(Model):
    """One partner settlement file compared with SMILE's payments of a day. The file and the
    full result are in S3 (they can exceed an item's 400 KB); the counts are here."""

    class Meta:
        table_name = "snap-settlement-imports"

    import_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    day = UnicodeAttribute()
    partner_day = UnicodeAttribute()
    uploaded_at = UTCDateTimeAttribute()
    uploaded_by = UnicodeAttribute()
    filename = UnicodeAttribute(null=True)
    file_key = UnicodeAttribute()
    result_key = UnicodeAttribute()
    counts = UnicodeAttribute()                     # JSON {"matched": n, ...}

    by_partner_day = _ImportsByPartnerDay()


def external_id_key(client_id: str, day: str, external_id: str) -> str:
    return f"xid#{client_id}#{day}#{external_id}"


class SnapStore:
    def __init__(self, bucket: str, region: str):
        self.bucket = bucket
        self.region = region

    # ------------------------------------------------------------------ partners
    def partner(self, client_id: str) -> PartnerRecord | None:
        try:
            return PartnerRecord.get(client_id)
        except PartnerRecord.DoesNotExist:
            return None

    def existing_partner(self, client_id: str) -> PartnerRecord:
        found = self.partner(client_id)
        if found is None:
            raise NotFound(f"no partner {client_id}", code="PARTNER_NOT_FOUND")
        return found

    def partners(self) -> list[PartnerRecord]:
        return list(PartnerRecord.all_partners.query("PARTNER"))

    def company_code_taken(self, code: str) -> bool:
        try:
            SnapKeyRecord.get(f"company#{code}")
            return True
        except SnapKeyRecord.DoesNotExist:
            return False

    def add_partner(self, partner: PartnerRecord, audit) -> None:
        """The partner and its company code's claim, atomically: neither can be taken twice."""
        try:
            with transact_write() as tx:
                tx.save(partner, condition=PartnerRecord.client_id.does_not_exist())
                tx.save(SnapKeyRecord(f"company#{partner.company_code}",
                                      owner=partner.client_id),
                        condition=SnapKeyRecord.key.does_not_exist())
                tx.save(audit)
        except TransactWriteError as exc:
            failed = _failed_items(exc)
            if 0 in failed:
                raise Conflict(f"partner {partner.client_id} already exists",
                               code="PARTNER_EXISTS") from exc
            if 1 in failed:
                raise Conflict(f"company code {partner.company_code} belongs to another "
                               f"partner", code="COMPANY_CODE_TAKEN") from exc
            raise

    def update_partner(self, partner: PartnerRecord, actions: list, audit) -> None:
        """Apply `actions` if nobody changed the partner's credentials since it was read."""
        try:
            with transact_write() as tx:
                tx.update(partner, actions=actions + [PartnerRecord.credential_version.add(1)],
                          condition=PartnerRecord.credential_version
                          == partner.credential_version)
                tx.save(audit)
        except TransactWriteError as exc:
            if 0 in _failed_items(exc):
                raise Conflict("the partner was changed meanwhile; reload and try again",
                               code="STATE_CHANGED") from exc
            raise

    # ------------------------------------------------------------------ X-EXTERNAL-ID
    def claim_external_id(self, client_id: str, day: str, external_id: str,
                          expires: datetime) -> bool:
        """True the first time a partner uses this X-EXTERNAL-ID on this day, else False."""
        record = SnapKeyRecord(external_id_key(client_id, day, external_id), owner=client_id,
                               expires=expires)
        try:
            record.save(condition=SnapKeyRecord.key.does_not_exist())
            return True
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == _CONDITION_FAILED:
                return False
            raise

    def external_id_used(self, client_id: str, day: str, external_id: str) -> bool:
        try:
            SnapKeyRecord.get(external_id_key(client_id, day, external_id))
            return True
        except SnapKeyRecord.DoesNotExist:
            return False

    # ------------------------------------------------------------------ payments (billing's)
    def payments_by_keys(self, keys: Iterable[str]) -> dict[str, PaymentRecord]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        return {p.payment_key: p for p in PaymentRecord.batch_get(wanted)}

    # ------------------------------------------------------------------ settlement imports
    def save_import(self, record: SettlementImportRecord, audit) -> None:
        with transact_write() as tx:
            tx.save(record, condition=SettlementImportRecord.import_id.does_not_exist())
            tx.save(audit)

    def settlement_import(self, import_id: str) -> SettlementImportRecord:
        try:
            return SettlementImportRecord.get(import_id)
        except SettlementImportRecord.DoesNotExist as exc:
            raise NotFound(f"no settlement import {import_id}",
                           code="IMPORT_NOT_FOUND") from exc

    def imports_of(self, client_id: str, day: str) -> list[SettlementImportRecord]:
        return list(SettlementImportRecord.by_partner_day.query(f"{client_id}#{day}"))

    # ------------------------------------------------------------------ files (S3)
    @staticmethod
    def report_key(day: str, name: str) -> str:
        return f"{BUCKET_PREFIXES['reconciliation']}{day}/{name}"

    @staticmethod
    def import_key(client_id: str, day: str, import_id: str, suffix: str) -> str:
        return (f"{BUCKET_PREFIXES['reconciliation']}imports/{client_id}/{day}/"
                f"{import_id}.{suffix}")

    def put_file(self, key: str, body: bytes, content_type: str) -> None:
        self._s3().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                              ServerSideEncryption="AES256")

    def read_file(self, key: str) -> bytes:
        return self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def file_exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3().head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def download_url(self, key: str, seconds: int = 900) -> str:
        return self._s3().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds)

    def _s3(self):
        from chalicelib.shared_kernel.aws import client

        return client("s3", self.region)


def _failed_items(exc: Exception) -> list[int]:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [i for i, r in enumerate(reasons)
            if r is not None and r.code == "ConditionalCheckFailed"]

