"""The reminders queue as blast uses it: carriers for deliveries, waits (SQS delay or a
parked timer), and the dead-letter queue with a reason."""
from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Callable, Iterable

from chalicelib.shared_kernel.resources import QUEUES

SPEC = QUEUES["reminders"]


class BlastQueue:
    def __init__(self, region: str, *, use_delay: bool, max_wait_seconds: int,
                 park: Callable[[list], None]):
        self.region = region
        self.use_delay = use_delay
        self.max_wait_seconds = max_wait_seconds
        self._park = park
        self._urls: dict[str, str] = {}

    def _sqs(self):
        from chalicelib.shared_kernel.aws import client

        return client("sqs", self.region)

    def url(self, name: str = SPEC.name) -> str:
        if name not in self._urls:
            self._urls[name] = self._sqs().get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def send(self, body: dict, delay_seconds: int = 0) -> None:
        self._sqs().send_message(QueueUrl=self.url(), MessageBody=json.dumps(body, default=str),
                                 DelaySeconds=delay_seconds)

    def send_many(self, bodies: Iterable[dict]) -> int:
        sqs, sent, batch = self._sqs(), 0, []

        def flush(entries: list[dict]) -> int:
            if not entries:
                return 0
            result = sqs.send_message_batch(QueueUrl=self.url(), Entries=entries)
            if result.get("Failed"):
                raise RuntimeError(f"{len(result['Failed'])} message(s) not accepted by "
                                   f"{SPEC.name}: {result['Failed'][0].get('Message')}")
            return len(entries)

        for body in bodies:
            batch.append({"Id": str(len(batch)), "MessageBody": json.dumps(body, default=str)})
            if len(batch) == 10:
                sent += flush(batch)
                batch = []
        return sent + flush(batch)

    def defer(self, body: dict, until: datetime, now: datetime, key: str) -> str:
        """Deliver `body` again at `until`: at once (the message carries its not-before),
        after an SQS delay, or parked for the hourly release when SQS cannot wait so long.
        Returns how: "queue" or "parked"."""
        body = {**body, "not_before": until.isoformat()}
        wait = (until - now).total_seconds()
        if wait <= self.max_wait_seconds:
            delay = min(900, math.ceil(wait)) if self.use_delay and wait > 0 else 0
            self.send(body, delay_seconds=delay)
            return "queue"
        self._park([(key, until, body)])
        return "parked"

    # ------------------------------------------------------------------ dead letters
    def dead_letter(self, body: dict, reason: str, at: datetime) -> None:
        """Put a message on the dead-letter queue ourselves, with why, so an operator sees
        the reason and can re-drive it (SQS's own redrive keeps no reason)."""
        self._sqs().send_message(
            QueueUrl=self.url(SPEC.dead_letter_name),
            MessageBody=json.dumps({**body, "dead_letter": {"reason": reason,
                                                            "at": at.isoformat()}},
                                   default=str),
            MessageAttributes={"reason": {"DataType": "String",
                                          "StringValue": reason[:256] or "unknown"}})

    def receive_dead_letters(self, limit: int = 10) -> list[dict]:
        return self._sqs().receive_message(
            QueueUrl=self.url(SPEC.dead_letter_name), MaxNumberOfMessages=min(limit, 10),
            WaitTimeSeconds=0, MessageAttributeNames=["All"]).get("Messages", [])

    def delete_dead_letter(self, receipt_handle: str) -> None:
        self._sqs().delete_message(QueueUrl=self.url(SPEC.dead_letter_name),
                                   ReceiptHandle=receipt_handle)
