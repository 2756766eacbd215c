"""Sending to and consuming from the SQS queues declared in resources.QUEUES."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Callable, Iterable

from .aws import client
from .resources import QUEUES


class QueuePublisher:
    def __init__(self, region: str):
        self._region = region

    @lru_cache(maxsize=None)
    def _url(self, queue: str) -> str:
        return client("sqs", self._region).get_queue_url(QueueName=QUEUES[queue].name)[
            "QueueUrl"]

    def send(self, queue: str, message: dict, *, group: str | None = None,
             delay_seconds: int = 0) -> None:
        client("sqs", self._region).send_message(
            QueueUrl=self._url(queue), MessageBody=json.dumps(message, default=str),
            DelaySeconds=delay_seconds)

    def send_batch(self, queue: str, messages: Iterable[dict]) -> int:
        """SQS batches of 10; raises if any entry failed, naming how many."""
        sqs = client("sqs", self._region)
        batch: list[dict] = []
        sent = 0

        def flush():
            nonlocal sent
            if not batch:
                return
            result = sqs.send_message_batch(QueueUrl=self._url(queue), Entries=batch)
            if result.get("Failed"):
                raise RuntimeError(f"{len(result['Failed'])} message(s) not accepted by "
                                   f"{queue}: {result['Failed'][0].get('Message')}")
            sent += len(batch)
            batch.clear()

        for index, message in enumerate(messages):
            batch.append({"Id": str(index), "MessageBody": json.dumps(message, default=str)})
            if len(batch) == 10:
                flush()
        flush()
        return sent


def process_batch(event: dict, handle: Callable[[dict], object]) -> dict:
    """powertools BatchProcessor over an SQS event: each record's JSON body goes to
    `handle`; failures are reported per message (batchItemFailures) so only they return to
    the queue, and after max_receive_count tries land in the dead-letter queue."""
    from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                       process_partial_response)

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=lambda record: handle(json.loads(record.body)),
        processor=processor)
