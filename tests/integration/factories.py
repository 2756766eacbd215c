"""Given-steps for integration tests: parties registered and verified through the API."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from tests.unit.registration.builders import (a_bpu_participant, a_nik, a_pu_participant,
                                              an_employer)


def post(client, path, body, headers=None):
    return client.http.post(path, body=json.dumps(body),
                            headers=headers or {"Content-Type": "application/json"})


class Parties:
    """Registers and verifies employers, workers and BPU participants at branch BLT."""

    def __init__(self, client, auth_header):
        self.client = client
        self.auth_header = auth_header
        self._serial = 100

    def _verifier(self):
        return self.auth_header("VERIFIER", branch="BLT")

    def employer(self, **overrides) -> dict:
        body = an_employer(branch_code="BLT", **overrides)
        created = post(self.client, "/v1/employers", body)
        assert created.status_code == 201, created.body
        employer_id = created.json_body["employer_id"]
        verified = post(self.client, f"/v1/employers/{employer_id}/verification",
                        {"decision": "APPROVE"}, self._verifier())
        assert verified.status_code == 200, verified.body
        return {"employer_id": employer_id, **verified.json_body}

    def _person(self, body: dict) -> dict:
        created = post(self.client, "/v1/participants", body)
        assert created.status_code == 201, created.body
        participant_id = created.json_body["participant_id"]
        verified = post(self.client, f"/v1/participants/{participant_id}/verification",
                        {"decision": "APPROVE"}, self._verifier())
        assert verified.status_code == 200, verified.body
        return verified.json_body

    def next_nik(self) -> str:
        self._serial += 1
        return a_nik(serial=self._serial)

    def worker(self, npp: str, wage: int) -> dict:
        return self._person(a_pu_participant(employer_npp=npp, monthly_wage=wage,
                                             nik=self.next_nik()))

    def bpu(self, income: int = 1_000_000, programs=("JKK", "JKM")) -> dict:
        return self._person(a_bpu_participant(declared_income=income, programs=list(programs),
                                              nik=self.next_nik()))


class LambdaContext:
    """What Lambda passes handlers; powertools' logger middleware reads it."""

    function_name = "smile-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:000000000000:function:smile-test"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/smile-test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


CONTEXT = LambdaContext()


def handler(name: str):
    """A schedule or consumer as Lambda would invoke it (blueprints register them on app)."""
    import app as app_module

    return app_module.app.handler_map[name]


def run_schedule(name: str, at: datetime):
    return handler(name)(scheduled_event(at, name), CONTEXT)


def scheduled_event(at: datetime, name: str) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000",
            "time": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "ap-southeast-3", "resources": [f"arn:aws:events:::rule/{name}"],
            "detail": {}}


def drain(queue_key: str, max_rounds: int = 50) -> int:
    """Feed a moto queue to its consumer until it is empty (as the local pump does)."""
    from chalicelib.bootstrap import container
    from chalicelib.shared_kernel.aws import client as aws_client
    from chalicelib.shared_kernel.resources import QUEUES

    consumer = handler(QUEUES[queue_key].consumer)
    sqs = aws_client("sqs", container().settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES[queue_key].name)["QueueUrl"]
    handled = 0
    for _ in range(max_rounds):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                              "body": m["Body"], "attributes": {}, "messageAttributes": {},
                              "md5OfBody": "", "eventSource": "aws:sqs",
                              "eventSourceARN": f"arn:aws:sqs:ap-southeast-3:0:{queue_key}",
                              "awsRegion": "ap-southeast-3"} for m in messages]}
        result = consumer(event, CONTEXT)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        assert not failed, f"consumer failed {failed}"
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(messages)
    return handled
