"""Manual campaigns: create, preview, cancel, figures; and every campaign's fan-out.

Fan-out runs on the reminders queue, one audience page per job: the page's bills are read
from billing's branch/status index, each distinct recipient gets one record (its dedupe key
is "campaign:<id>:<party>", so a recipient is messaged once per campaign however many of
their bills match and however often a page runs), held-out recipients are recorded as such
and not messaged, and the rest get a delivery job (SQS batches of 10). Then the campaign
moves to the next page (conditional on still being on this one) and only then is the next
page's job sent: a worker dying in between leaves the page's job to be redelivered, which
sees the campaign already moved on and sends the next page's job again.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from chalicelib.shared_kernel.auth import Principal, Role
from chalicelib.shared_kernel.calendar import jakarta_today
from chalicelib.shared_kernel.errors import Conflict, Forbidden, ValidationFailed
from chalicelib.shared_kernel.messaging import MessageRequest
from chalicelib.shared_kernel.records import audit_entry

from .audience import (BILL_TEMPLATES, AudienceSpec, bill_params, is_held_out, recipient_of,
                       selects)
from .delivery import DeliveryState as S
from .dispatch import SKIPPED_NO_CONSENT, new_record
from .limits import LimitsConfig, quiet_until
from .schemas import decode_token, encode_token
from .store import BlastStore, CampaignRecord

PAYMENT_WINDOW = timedelta(days=7)
MESSAGED = (S.ACCEPTED.value, S.SENT.value, S.DELIVERED.value, S.READ.value)
STATE_ORDER = ("QUEUED", "SENDING", "ACCEPTED", "SENT", "DELIVERED", "READ", "FAILED",
               "SKIPPED_OPTED_OUT", SKIPPED_NO_CONSENT, "SKIPPED_NO_CONTACT", "SKIPPED_PAID",
               "HELD_OUT", "CANCELLED")
PREVIEW_PAGE = 1000


class Campaigns:
    def __init__(self, *, store: BlastStore, billing_store, owed: Callable, queue,
                 clock: Callable[[], datetime], page_size: int = 250,
                 limits: LimitsConfig = LimitsConfig()):
        self.store = store
        self.billing_store = billing_store
        self.owed = owed
        self.queue = queue
        self.clock = clock
        self.page_size = page_size
        self.limits = limits

    # ================================================================== use cases
    def create(self, body, principal: Principal) -> dict:
        spec, template = self._validated(body, principal)
        now = self.clock()
        start = max(body.start_at or now, now)
        campaign_id = str(uuid.uuid4())
        record = CampaignRecord(
            campaign_id, branch=spec.branch, name=body.name, template=template,
            audience=json.dumps(spec.to_json()), channel_preference=body.channel_preference,
            holdout_share=str(body.holdout_share), start_at=start, status="SCHEDULED",
            page=0, created_by=principal.subject, created_at=now,
            created_sort=f"{now.isoformat()}#{campaign_id}")
        audit = audit_entry(f"campaign#{campaign_id}", principal.subject, "CAMPAIGN_CREATED",
                            details={"template": template, "audience": spec.to_json(),
                                     "holdout_share": str(body.holdout_share),
                                     "start_at": start.isoformat()}, at=now)
        self.store.add_campaign(record, audit)
        self.queue.defer({"type": "campaign_start", "campaign_id": campaign_id}, start, now,
                         key=f"campaign_start:{campaign_id}")
        return self.view(campaign_id, principal)

    def preview(self, body, principal: Principal) -> dict:
        """How many recipients the audience has now, and one of their messages, rendered."""
        from .rendering import render_json

        spec, template = self._validated(body, principal)
        now = self.clock()
        today = jakarta_today(max(body.start_at or now, now))
        parties: set[str] = set()
        bills = 0
        sample = None
        cursor: dict | None = {"p": 0, "k": None}
        while cursor is not None:
            members, cursor = self.audience_page(spec, cursor, PREVIEW_PAGE, today, template)
            for member in members:
                bills += 1
                if member["party_key"] in parties:
                    continue
                parties.add(member["party_key"])
                if sample is None:
                    rendered = render_json(template, member["params"])
                    encoding = rendered.sms_encoding()
                    sample = {"bill_id": member["bill"].bill_id,
                              "recipient_name": member["bill"].party_name,
                              "whatsapp_text": rendered.preview_text,
                              "sms_text": rendered.sms_text,
                              "sms_segments": encoding.segments,
                              "sms_encoding": encoding.encoding}
        share = Decimal(str(body.holdout_share))
        held = int((Decimal(len(parties)) * share).to_integral_value())
        return {"template": template, "audience": spec.to_json(), "recipients": len(parties),
                "bills": bills, "held_out_estimate": held,
                "to_message_estimate": len(parties) - held, "sample": sample}

    def cancel(self, campaign_id: str, reason: str, principal: Principal) -> dict:
        campaign = self.store.campaign(campaign_id)
        principal.require_branch(campaign.branch)
        now = self.clock()
        audit = audit_entry(f"campaign#{campaign_id}", principal.subject, "CAMPAIGN_CANCELLED",
                            reason=reason, at=now)
        if not self.store.cancel_campaign(campaign, principal.subject, reason, now, audit):
            current = self.store.campaign(campaign_id)
            raise Conflict(f"campaign is {current.status}; it can no longer be cancelled",
                           code="CAMPAIGN_NOT_CANCELLABLE")
        return self.view(campaign_id, principal)

    def list(self, principal: Principal, limit: int, next_token: str | None) -> dict:
        if not principal.branch:
            raise ValidationFailed("an ADMIN token needs a branch to list campaigns",
                                   field="branch")
        start = decode_token(next_token)
        items, last = self.store.campaigns_of_branch(principal.branch, limit, start)
        return {"items": [campaign_view(c) for c in items], "next_token": encode_token(last)}

    def view(self, campaign_id: str, principal: Principal) -> dict:
        """The campaign with its recipients counted by state, and payments within 7 days of
        the message (messaged) or of the fan-out (held out). Reads the campaign's records
        through its index: cost follows the campaign's size."""
        campaign = self.store.campaign(campaign_id)
        principal.require_branch(campaign.branch)
        counts: Counter = Counter()
        reference: dict[str, tuple[str, datetime]] = {}
        for record in self.store.campaign_messages(campaign_id):
            counts[record.state] += 1
            if record.bill_id and record.state in MESSAGED and record.sent_at:
                reference[record.bill_id] = ("messaged", record.sent_at)
            elif record.bill_id and record.state == S.HELD_OUT.value:
                reference[record.bill_id] = ("held_out", record.created_at)
        groups = {"messaged": [0, 0], "held_out": [0, 0]}
        ids = list(reference)
        for start in range(0, len(ids), 100):
            for bill in self.billing_store.bills(ids[start:start + 100]):
                group, since = reference[bill.bill_id]
                groups[group][0] += 1
                if bill.paid_at is not None and since <= bill.paid_at <= since + PAYMENT_WINDOW:
                    groups[group][1] += 1
        view = campaign_view(campaign)
        view["counts"] = {state.lower(): counts.get(state, 0) for state in STATE_ORDER}
        view["total"] = sum(counts.values())
        view["complete"] = (campaign.status in ("DISPATCHED", "CANCELLED")
                            and counts.get("QUEUED", 0) + counts.get("SENDING", 0) == 0)
        view["payments_within_7_days"] = {
            name: {"recipients": n, "paid": paid,
                   "rate": str((Decimal(paid) / Decimal(n)).quantize(Decimal("0.0001")))
                   if n else None}
            for name, (n, paid) in groups.items()}
        return view

    def _validated(self, body, principal: Principal) -> tuple[AudienceSpec, str]:
        principal.require_role([Role.RECEIVABLES, Role.ADMIN])
        audience = body.audience
        branch = audience.branch or principal.branch
        if not branch:
            raise ValidationFailed("audience.branch is required for an ADMIN token",
                                   field="audience.branch")
        from chalicelib.shared_kernel.branches import branch as known_branch

        known_branch(branch)
        if principal.role is not Role.ADMIN and branch != principal.branch:
            raise Forbidden("a campaign reaches only the officer's own branch",
                            code="BRANCH_FORBIDDEN")
        template = body.template
        if template not in BILL_TEMPLATES:
            raise ValidationFailed(
                f"template {template!r} cannot be filled from a bill; use one of: "
                f"{', '.join(sorted(BILL_TEMPLATES))}", field="template",
                code="TEMPLATE_NOT_FOR_AUDIENCE")
        needs = BILL_TEMPLATES[template]
        if needs and audience.segment != needs:
            raise ValidationFailed(f"template {template!r} needs audience.segment {needs!r}",
                                   field="audience.segment", code="TEMPLATE_NOT_FOR_AUDIENCE")
        days = audience.days_overdue
        amount = audience.amount
        spec = AudienceSpec(
            branch=branch, bill_states=tuple(audience.bill_states), segment=audience.segment,
            days_overdue_min=days.min if days else None,
            days_overdue_max=days.max if days else None,
            amount_min=amount.min if amount else None, amount_max=amount.max if amount else None)
        return spec, template

    # ================================================================== audience
    def audience_page(self, spec: AudienceSpec, cursor: dict, limit: int, today,
                      template: str) -> tuple[list[dict], dict | None]:
        """One keyed read of a `<branch>#<status>` partition and the members it selects."""
        partitions = spec.partitions()
        index = int(cursor.get("p", 0))
        bills, last = self.billing_store.bills_of_branch(
            spec.branch, partitions[index], None, limit, cursor.get("k"))
        members = []
        for bill in bills:
            due = date.fromisoformat(bill.due_date)
            owed = self.owed(bill, today)
            if not selects(spec, segment=bill.segment, stored_status=bill.status, due=due,
                           amount_due=owed.due, today=today):
                continue
            members.append({"bill": bill, "party_key": bill.party_key, "params": bill_params(
                template, party_name=bill.party_name, npp=bill.npp, period=bill.period, due=due,
                payment_code=bill.payment_code, contribution=owed.contribution, fine=owed.fine,
                amount_due=owed.due, today=today)})
        if last:
            following = {"p": index, "k": last}
        elif index + 1 < len(partitions):
            following = {"p": index + 1, "k": None}
        else:
            following = None
        return members, following

    # ================================================================== fan-out
    def run_job(self, kind: str, body: dict, now: datetime, receive_count: int = 1) -> None:
        campaign_id = body.get("campaign_id")
        if not isinstance(campaign_id, str):
            return
        campaign = self.store.campaign(campaign_id)
        if campaign.status == "SCHEDULED" and now < campaign.start_at:
            # early (an SQS delay rounds, a clock differs): wait for the start time
            self.queue.defer({"type": "campaign_start", "campaign_id": campaign_id},
                             campaign.start_at, now, key=f"campaign_start:{campaign_id}")
            return
        if campaign.status == "SCHEDULED":
            if not self.store.start_campaign(campaign_id):
                campaign = self.store.campaign(campaign_id)
            else:
                campaign.status = "RUNNING"
        page = 0 if kind == "campaign_start" else int(body.get("page", 0))
        if campaign.status != "RUNNING" or campaign.page > page + 1 or campaign.page < page:
            return                      # cancelled, finished, or an old duplicate
        if campaign.page == page + 1:
            # This page was done; its worker may have died before sending the next one.
            if receive_count > 1:
                self._next_page(campaign, now)
            return
        quiet_end = quiet_until(now, self.limits)
        if quiet_end is not None:
            self.queue.defer({"type": "campaign_page", "campaign_id": campaign_id,
                              "page": page}, quiet_end, now,
                             key=f"campaign_page:{campaign_id}:{page}")
            return
        cursor = json.loads(campaign.cursor) if campaign.cursor else {"p": 0, "k": None}
        self._fan_out_page(campaign, page, cursor, now)

    def _fan_out_page(self, campaign: CampaignRecord, page: int, cursor: dict,
                      now: datetime) -> None:
        spec = AudienceSpec.from_json(json.loads(campaign.audience))
        today = jakarta_today(now)
        members, following = self.audience_page(spec, cursor, self.page_size, today,
                                                campaign.template)
        share = Decimal(campaign.holdout_share)
        chosen: dict[str, dict] = {}
        for member in members:             # one message per recipient: their first bill
            chosen.setdefault(member["party_key"], member)
        keys = {f"campaign:{campaign.campaign_id}:{party}": m for party, m in chosen.items()}
        existing = self.store.messages(keys)
        fresh, carriers, recipients, held = [], [], 0, 0
        for key, member in keys.items():
            found = existing.get(key)
            if found is not None and found.fanout_page != page:
                continue                   # an earlier page already has this recipient
            recipients += 1
            held_out = is_held_out(campaign.campaign_id, member["party_key"], share)
            held += held_out
            if found is None:
                bill = member["bill"]
                kind, party_id = recipient_of(member["party_key"])
                request = MessageRequest(
                    dedupe_key=key, template=campaign.template, recipient_kind=kind,
                    recipient_id=party_id, params=member["params"], source="campaign",
                    bill_id=bill.bill_id, campaign_id=campaign.campaign_id,
                    branch=campaign.branch, channel_preference=campaign.channel_preference)
                fresh.append(new_record(
                    request, now, page=page, npp=bill.npp, recipient_name=bill.party_name,
                    state=S.HELD_OUT.value if held_out else S.QUEUED.value))
                if not held_out:
                    carriers.append({"type": "deliver", "dedupe_key": key})
            elif found.state == S.QUEUED.value:   # this page ran before and died
                carriers.append({"type": "deliver", "dedupe_key": key})
        self.store.write_new_messages(fresh)
        self.queue.send_many(carriers)
        done = following is None
        if self.store.advance_campaign(campaign.campaign_id, page, following, recipients,
                                       held, done, now) and not done:
            self.queue.send({"type": "campaign_page", "campaign_id": campaign.campaign_id,
                             "page": page + 1})

    def _next_page(self, campaign: CampaignRecord, now: datetime) -> None:
        if campaign.cursor:
            self.queue.send({"type": "campaign_page", "campaign_id": campaign.campaign_id,
                             "page": int(campaign.page)})


def campaign_view(campaign: CampaignRecord) -> dict:
    return {"campaign_id": campaign.campaign_id, "name": campaign.name,
            "branch": campaign.branch, "template": campaign.template,
            "channel_preference": campaign.channel_preference,
            "audience": json.loads(campaign.audience),
            "holdout_share": campaign.holdout_share, "status": campaign.status,
            "start_at": campaign.start_at.isoformat(),
            "recipients": int(campaign.recipients or 0), "held_out": int(campaign.held_out or 0),
            "created_by": campaign.created_by, "created_at": campaign.created_at.isoformat(),
            "dispatched_at": campaign.dispatched_at.isoformat()
            if campaign.dispatched_at else None,
            "cancelled_at": campaign.cancelled_at.isoformat() if campaign.cancelled_at else None,
            "cancel_reason": campaign.cancel_reason}

