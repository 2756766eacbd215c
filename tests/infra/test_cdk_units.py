"""The pieces of the CDK stack that need no synth: a table from a PynamoDB model, the gateway
responses, the Lambda environment, the ARN parsing of Chalice's SQS triggers."""
from __future__ import annotations

import json
import re

import pytest
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import (GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection,
                              LocalSecondaryIndex)
from pynamodb.models import Model

from chalicelib.shared_kernel.config import Settings
from infra.cdk.app import _context_from_argv
from infra.cdk.stack import (PROJECT_DIR, DeployOptions, _queue_name, gateway_responses,
                             stage_environment, table_properties)


class _ByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = IncludeProjection(["amount"])

    # Declared range key first on purpose: DynamoDB wants HASH first.
    due = NumberAttribute(range_key=True)
    status = UnicodeAttribute(hash_key=True)


class _ByDue(LocalSecondaryIndex):
    class Meta:
        index_name = "by_due"
        projection = KeysOnlyProjection()

    bill_id = UnicodeAttribute(hash_key=True)
    due = NumberAttribute(range_key=True)


class _Bill(Model):
    class Meta:
        table_name = "bills"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    period = UnicodeAttribute(range_key=True)
    bill_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(null=True)
    due = NumberAttribute(null=True)
    note = UnicodeAttribute(null=True)  # not a key: no attribute definition
    expires = TTLAttribute(null=True)
    by_status = _ByStatus()
    by_due = _ByDue()


def test_table_from_a_model_has_keys_indexes_ttl_and_stream():
    props = table_properties(_Bill, "smile-dev-bills")

    assert props["TableName"] == "smile-dev-bills"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["KeySchema"] == [{"AttributeName": "bill_id", "KeyType": "HASH"},
                                  {"AttributeName": "period", "KeyType": "RANGE"}]
    assert {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]} == {
        "bill_id": "S", "period": "S", "status": "S", "due": "N"}
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi == {"IndexName": "by_status",
                   "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                 {"AttributeName": "due", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["amount"]}}
    (lsi,) = props["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "by_due"
    assert lsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_gateway_responses_render_the_error_contract():
    responses = gateway_responses()
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == 404
    assert responses["THROTTLED"]["statusCode"] == 429
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    sample = {"$context.error.responseType": "ACCESS_DENIED",
              "$context.error.messageString": '"Forbidden"'}
    for response_type, response in responses.items():
        template = response["responseTemplates"]["application/json"]
        for variable, value in sample.items():
            template = template.replace(variable, value)
        assert "$" not in template, response_type
        body = json.loads(template)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert re.fullmatch(r"[A-Z][A-Z_]+", body["error"]["code"]), response_type
    assert "ROUTE_NOT_FOUND" in responses["MISSING_AUTHENTICATION_TOKEN"][
        "responseTemplates"]["application/json"]


@pytest.mark.parametrize("stage", ["dev", "prod", "staging"])
def test_lambda_environment_is_a_valid_settings(stage):
    options = DeployOptions(stage=stage, cognito_user_pool_id="ap-southeast-3_AbC",
                            cognito_app_client_id="client")
    env = stage_environment(PROJECT_DIR, options, "ap-southeast-3")
    settings = Settings.from_environ(env)  # extra="forbid": unknown SMILE_* would fail here

    assert settings.stage == stage
    assert settings.resource_prefix == f"smile-{stage}"
    assert settings.auth_mode == "cognito"
    issuer = "https://cognito-idp.ap-southeast-3.amazonaws.com/ap-southeast-3_AbC"
    assert settings.jwt_issuer == issuer
    assert settings.cognito_jwks_url == f"{issuer}/.well-known/jwks.json"
    assert settings.jwt_audience == "client"
    assert settings.jwt_public_key_path is None
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_bucket_name_can_be_overridden():
    options = DeployOptions(stage="dev", cognito_user_pool_id="p", cognito_app_client_id="c",
                            bucket_name="smile-dev-documents-123456789012")
    env = stage_environment(PROJECT_DIR, options, "ap-southeast-3")
    assert Settings.from_environ(env).bucket_name == "smile-dev-documents-123456789012"


def test_context_comes_from_the_command_line_like_the_cdk_cli():
    assert _context_from_argv(["-c", "stage=prod", "--context", "alarm_email=a@b.c", "x"]) == {
        "stage": "prod", "alarm_email": "a@b.c"}


@pytest.mark.parametrize("arn", [
    {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:smile-payments"},
    "arn:aws:sqs:ap-southeast-3:123456789012:smile-payments",
])
def test_queue_name_from_chalice_trigger(arn):
    assert _queue_name(arn) == "smile-payments"
