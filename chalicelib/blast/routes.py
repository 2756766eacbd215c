"""Blast's HTTP edge, consumer and schedule (a blueprint registered by app.py): campaigns,
message history, Meta's webhook, staff-recorded consent, the local outbox and dead letters."""
from __future__ import annotations

from chalice import Blueprint, Cron

from chalicelib.blast.schemas import (CampaignCancel, CampaignIn, CampaignOut, CampaignPage,
                                      CampaignQuery, ConsentIn, FaultsIn, MessagePage,
                                      MessageQuery, OutboxQuery, PreviewOut, RedriveIn)
from chalicelib.bootstrap import container
from chalicelib.shared_kernel.auth import Role
from chalicelib.shared_kernel.calendar import parse_instant
from chalicelib.shared_kernel.http import OWN_SCHEME, Call, Reply, RouteRegistry
from chalicelib.shared_kernel.resources import QUEUES, schedule

bp = Blueprint(__name__)
api = RouteRegistry(bp)
RECEIVABLES = (Role.RECEIVABLES, Role.ADMIN)
STAFF = (Role.ADMIN, Role.RECEIVABLES, Role.BRANCH_HEAD, Role.VERIFIER)
TAGS = ["blast"]


@api.route("/v1/campaigns", "POST", summary="Create a reminder campaign for a bill audience",
           auth=RECEIVABLES, body=CampaignIn, response=CampaignOut, status=201, tags=TAGS)
def create_campaign(call: Call):
    return container().blast.campaigns.create(call.body, call.principal)


@api.route("/v1/campaigns/preview", "POST",
           summary="Audience count and a sample rendered message, before sending",
           auth=RECEIVABLES, body=CampaignIn, response=PreviewOut, tags=TAGS)
def preview_campaign(call: Call):
    return container().blast.campaigns.preview(call.body, call.principal)


@api.route("/v1/campaigns", "GET", summary="My branch's campaigns, newest first",
           auth=STAFF, query=CampaignQuery, response=CampaignPage, tags=TAGS)
def list_campaigns(call: Call):
    return container().blast.campaigns.list(call.principal, call.query.limit,
                                            call.query.next_token)


@api.route("/v1/campaigns/{campaign_id}", "GET",
           summary="A campaign with its recipients by state and payments within 7 days",
           auth=STAFF, response=CampaignOut, tags=TAGS)
def get_campaign(call: Call):
    return container().blast.campaigns.view(call.path["campaign_id"], call.principal)


@api.route("/v1/campaigns/{campaign_id}/cancel", "POST",
           summary="Cancel a campaign: messages not yet sent are not sent",
           auth=RECEIVABLES, body=CampaignCancel, response=CampaignOut, tags=TAGS)
def cancel_campaign(call: Call):
    return container().blast.campaigns.cancel(call.path["campaign_id"], call.body.reason,
                                              call.principal)


@api.route("/v1/messages", "GET",
           summary="Communication history by bill, participant, NPP or campaign",
           query=MessageQuery, response=MessagePage, tags=TAGS)
def list_messages(call: Call):
    return container().blast.messages(call.principal, call.query)


@api.route("/v1/messaging-consents", "POST",
           summary="Record an opt-in or opt-out a person gave to branch staff",
           auth=STAFF, body=ConsentIn, status=201, tags=TAGS)
def record_consent(call: Call):
    return container().blast.record_consent(call.principal, call.body)


@api.route("/webhooks/whatsapp", "GET", summary="Meta's webhook subscription handshake",
           auth=OWN_SCHEME, tags=TAGS)
def whatsapp_handshake(call: Call):
    challenge = container().blast.inbound.handshake(call.query_params)
    return Reply(challenge, 200, {"Content-Type": "text/plain"})


@api.route("/webhooks/whatsapp", "POST",
           summary="WhatsApp statuses and replies (X-Hub-Signature-256 over the raw body)",
           auth=OWN_SCHEME, tags=TAGS)
def whatsapp_webhook(call: Call):
    return container().blast.inbound.receive(call.raw_body,
                                             call.headers.get("x-hub-signature-256"))


@api.route("/v1/outbox", "GET", summary="Local stage: every message the outbox took, by day",
           auth=STAFF, query=OutboxQuery, tags=TAGS)
def outbox(call: Call):
    return container().blast.outbox(call.principal, call.query)


@api.route("/v1/outbox/faults", "PUT",
           summary="Local stage: make the outbox fail, throttle or be slow (demos)",
           auth=(Role.ADMIN,), body=FaultsIn, tags=TAGS)
def outbox_faults(call: Call):
    return container().blast.set_outbox_faults(call.principal, call.body)


@api.route("/v1/reminders/dead-letters/redrive", "POST",
           summary="Send dead-lettered reminder jobs back to the queue",
           auth=(Role.ADMIN,), body=RedriveIn, tags=TAGS)
def redrive_reminders(call: Call):
    return container().blast.redrive(call.principal, call.body.limit)


@bp.schedule(Cron(*schedule("release_blast_timers").cron_args()), name="release_blast_timers")
def release_blast_timers(event):
    return container().blast.release_timers(parse_instant(event.time))


@bp.on_cw_event({"source": ["aws.sms-voice"],
                 "detail-type": ["Text Message Delivery Status Updated"]},
                name="sms_delivery_events")
def sms_delivery_events(event):
    """SMS delivery receipts: AWS End User Messaging SMS publishes them to EventBridge."""
    return {"outcome": container().blast.inbound.apply_sms_event(event.to_dict())}


@bp.on_sqs_message(queue=QUEUES["reminders"].name, batch_size=QUEUES["reminders"].batch_size,
                   name=QUEUES["reminders"].consumer)
def send_reminder(event):
    return container().blast.consume(event.to_dict())
