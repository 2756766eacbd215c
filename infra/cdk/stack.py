"""SMILE on AWS: the Chalice app packaged by `chalice.cdk.Chalice` plus everything around it.

Everything is derived, nothing is listed by hand:
- tables from the PynamoDB models registered in `chalicelib.shared_kernel.resources`
  (`load_models()`), with their key schema, indexes, projections and TTL;
- queues and their dead-letter queues from `QUEUES`;
- functions, SQS triggers and schedules from the SAM template that `chalice package` writes for
  app.py; every SQS trigger gets `FunctionResponseTypes: [ReportBatchItemFailures]`, which
  Chalice cannot set itself (stack-notes §2);
- names from `Settings` built from .chalice/config.json's stage environment.

The Lambda role is explicit (autogen_policy is false; Chalice's generated policy would miss
PynamoDB and chalicelib's clients, stack-notes §8) and names every resource it can.
"""
from __future__ import annotations

import contextlib
import importlib.machinery
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import aws_cdk as cdk
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cloudwatch_actions,
    aws_iam as iam,
    aws_logs as logs,
    aws_s3 as s3,
    aws_sns as sns,
    aws_sns_subscriptions as subscriptions,
    aws_sqs as sqs,
)
from constructs import Construct

from chalicelib.shared_kernel.config import Settings
from chalicelib.shared_kernel.resources import QUEUES, QueueSpec, load_models

PROJECT_DIR = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-3"  # Jakarta
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# AWS guidance: an SQS queue's visibility timeout should be at least six times the timeout of
# the function consuming it (retries inside a batch, throttling); the consumer's timeout is
# derived from the queue's spec so that the two can never disagree.
VISIBILITY_TO_TIMEOUT_RATIO = 6
DLQ_RETENTION = cdk.Duration.days(14)

# DynamoDB item actions the app needs (PynamoDB: get/put/update/delete, query/scan, batches,
# TransactWrite = Put/Update/Delete/ConditionCheck on each item; DescribeTable for PynamoDB's
# table metadata). No CreateTable/DeleteTable: the stack owns the tables.
DYNAMODB_TABLE_ACTIONS = [
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
    "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem",
]
DYNAMODB_INDEX_ACTIONS = ["dynamodb:Query", "dynamodb:Scan"]
SQS_ACTIONS = [
    # producers
    "sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
    # consumers (the Lambda event source mapping polls with the function's role)
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
]
# Actions AWS does not let a policy scope to a resource: they are the only ones allowed with
# Resource "*" (tests/infra checks the whole template against this list).
STAR_RESOURCE_ACTIONS = {
    "sns:Publish": "SMS to a phone number has no ARN; topics are denied by a second statement",
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
}

# API Gateway's own errors answer the project's error contract {"error": {"code", "message"}}.
# $context.error.messageString is already a quoted JSON string.
GATEWAY_RESPONSES: dict[str, dict[str, Any]] = {
    # Unknown paths that app.py's catch-all routes cannot see (e.g. "/" or an undeclared
    # method): API Gateway's 403 "Missing Authentication Token" becomes a 404, like app.py's.
    "MISSING_AUTHENTICATION_TOKEN": {
        "statusCode": 404, "code": "ROUTE_NOT_FOUND", "message": '"no such route"'},
    "THROTTLED": {"statusCode": 429, "code": "TOO_MANY_REQUESTS",
                  "message": "$context.error.messageString"},
    "DEFAULT_4XX": {"code": "$context.error.responseType",
                    "message": "$context.error.messageString"},
    # Never leak API Gateway's internals: integration failures and timeouts are ours.
    "DEFAULT_5XX": {"code": "INTERNAL_ERROR", "message": '"internal error"'},
}


def gateway_responses() -> dict[str, Any]:
    """The `x-amazon-apigateway-gateway-responses` extension of the API's definition."""
    out = {}
    for response_type, spec in GATEWAY_RESPONSES.items():
        template = '{"error": {"code": "%s", "message": %s}}' % (spec["code"], spec["message"])
        entry: dict[str, Any] = {"responseTemplates": {"application/json": template}}
        if "statusCode" in spec:
            entry["statusCode"] = spec["statusCode"]
        out[response_type] = entry
    return out


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class DeployOptions:
    """What differs per deployment and is not in the code: CDK context values (-c key=value)."""

    stage: str
    cognito_user_pool_id: str
    cognito_app_client_id: str
    alarm_email: str | None = None
    tracing: bool = False
    bucket_name: str | None = None     # S3 names are global: override when taken
    public_base_url: str | None = None
    lambda_memory_size: int = 512
    log_retention_days: int = 90

    REQUIRED = ("cognito_user_pool_id", "cognito_app_client_id")

    @classmethod
    def from_context(cls, node, stage: str) -> "DeployOptions":
        def get(key, default=None):
            value = node.try_get_context(key)
            return default if value in (None, "") else value

        missing = [key for key in cls.REQUIRED if get(key) is None]
        if missing:
            raise ValueError(
                "missing CDK context: " + ", ".join(missing)
                + " (cdk deploy -c stage=%s -c cognito_user_pool_id=... "
                  "-c cognito_app_client_id=...; see docs/deploy.md)" % stage)
        return cls(
            stage=stage,
            cognito_user_pool_id=get("cognito_user_pool_id"),
            cognito_app_client_id=get("cognito_app_client_id"),
            alarm_email=get("alarm_email"),
            tracing=str(get("tracing", "false")).lower() in ("1", "true", "yes"),
            bucket_name=get("bucket_name"),
            public_base_url=get("public_base_url"),
            lambda_memory_size=int(get("lambda_memory_size", 512)),
            log_retention_days=int(get("log_retention_days", 90)),
        )


def stage_environment(source_dir: Path, options: DeployOptions, region: str) -> dict[str, str]:
    """The Lambda environment: .chalice/config.json's global and stage variables (as Chalice
    merges them), the naming convention for stages it does not list, and the deployment's
    auth, tracing and URL settings. Only SMILE_* names that Settings knows (extra="forbid")."""
    config = json.loads((source_dir / ".chalice" / "config.json").read_text())
    stage = options.stage
    env = {
        "SMILE_STAGE": stage,
        "SMILE_RESOURCE_PREFIX": f"smile-{stage}",
        "SMILE_BUCKET_NAME": f"smile-{stage}-documents",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    env.update(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{options.cognito_user_pool_id}"
    env.update({
        "SMILE_STAGE": stage,
        "SMILE_AUTH_MODE": "cognito",
        "SMILE_JWT_ISSUER": issuer,
        "SMILE_JWT_AUDIENCE": options.cognito_app_client_id,
        "SMILE_COGNITO_JWKS_URL": f"{issuer}/.well-known/jwks.json",
        "SMILE_TRACING_ENABLED": "true" if options.tracing else "false",
        "POWERTOOLS_TRACE_DISABLED": "false" if options.tracing else "true",
    })
    for local_only in ("SMILE_JWT_PUBLIC_KEY_PATH", "SMILE_SECRET_ENCRYPTION_KEY_PATH"):
        env.pop(local_only, None)
    if options.bucket_name:
        env["SMILE_BUCKET_NAME"] = options.bucket_name
    if options.public_base_url:
        env["SMILE_PUBLIC_BASE_URL"] = options.public_base_url
    if "secrets_prefix" in Settings.model_fields:  # when config.py names the secrets' prefix
        env["SMILE_SECRETS_PREFIX"] = secrets_prefix(stage)
    return env


def secrets_prefix(stage: str) -> str:
    """Secrets Manager names of a stage: smile/<stage>/<name> (docs/deploy.md lists them)."""
    return f"smile/{stage}/"


# --------------------------------------------------------------------------- tables
def table_properties(model_cls, table_name: str) -> dict[str, Any]:
    """CfnTable properties from a PynamoDB model: key schema, the attribute definitions its
    keys and indexes use, GSIs/LSIs with their projections, TTL and stream."""
    schema = model_cls._get_schema()
    definitions = {d["AttributeName"]: d["AttributeType"]
                   for d in schema.get("attribute_definitions", [])}
    for index in (schema.get("global_secondary_indexes", [])
                  + schema.get("local_secondary_indexes", [])):
        for d in index.get("attribute_definitions", []):
            definitions[d["AttributeName"]] = d["AttributeType"]

    def keys(key_schema):
        # PynamoDB lists keys in attribute declaration order; DynamoDB wants HASH first.
        ordered = sorted(key_schema, key=lambda k: k["KeyType"] != "HASH")
        return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
                for k in ordered]

    def projection(p):
        out = {"ProjectionType": p["ProjectionType"]}
        if p.get("NonKeyAttributes"):
            out["NonKeyAttributes"] = list(p["NonKeyAttributes"])
        return out

    key_schema = keys(schema["key_schema"])
    used = {k["AttributeName"] for k in key_schema}
    gsis = [{"IndexName": i["index_name"], "KeySchema": keys(i["key_schema"]),
             "Projection": projection(i["projection"])}
            for i in schema.get("global_secondary_indexes", [])]
    lsis = [{"IndexName": i["index_name"], "KeySchema": keys(i["key_schema"]),
             "Projection": projection(i["projection"])}
            for i in schema.get("local_secondary_indexes", [])]
    for index in gsis + lsis:
        used.update(k["AttributeName"] for k in index["KeySchema"])
    props: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": key_schema,
        # DynamoDB rejects definitions of attributes that no key uses.
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": definitions[name]}
                                 for name in sorted(used)],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        # SSEEnabled with no key: the AWS managed KMS key aws/dynamodb.
        "SSESpecification": {"SSEEnabled": True},
    }
    if gsis:
        props["GlobalSecondaryIndexes"] = gsis
    if lsis:
        props["LocalSecondaryIndexes"] = lsis
    ttl = model_cls._ttl_attribute()
    if ttl is not None:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    stream = getattr(model_cls.Meta, "stream_view_type", None)
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream}
    return props


# --------------------------------------------------------------------------- the SAM template
@dataclass
class SqsTrigger:
    function: str          # logical id of the AWS::Serverless::Function
    event: str             # key under its Events
    queue_name: str
    properties: dict = field(default_factory=dict)


@dataclass
class ChaliceTemplate:
    """What `chalice package` produced, read from its sam.json."""

    resources: dict[str, Any]

    @property
    def functions(self) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items()
                if v["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")}

    @property
    def rest_apis(self) -> list[str]:
        return [k for k, v in self.resources.items()
                if v["Type"] in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")]

    def sqs_triggers(self) -> list[SqsTrigger]:
        found = []
        for logical_id, resource in self.functions.items():
            for name, event in (resource["Properties"].get("Events") or {}).items():
                if event.get("Type") == "SQS":
                    queue = _queue_name(event["Properties"]["Queue"])
                    found.append(SqsTrigger(logical_id, name, queue, event["Properties"]))
        return found

    def event_source_mappings(self) -> list[str]:
        """Plain CloudFormation mappings (a non-SAM `chalice package` format) on SQS."""
        return [k for k, v in self.resources.items()
                if v["Type"] == "AWS::Lambda::EventSourceMapping"
                and ":sqs:" in json.dumps(v["Properties"].get("EventSourceArn"))]


def _queue_name(queue_arn: Any) -> str:
    """The queue name at the end of the ARN Chalice writes (a literal or a Fn::Sub)."""
    text = queue_arn.get("Fn::Sub") if isinstance(queue_arn, dict) else queue_arn
    if isinstance(text, list):
        text = text[0]
    if not isinstance(text, str):
        raise ValueError(f"cannot read the queue of SQS trigger {queue_arn!r}")
    return text.rsplit(":", 1)[-1]


def _logical(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


# --------------------------------------------------------------------------- packaging
def _module_file(module) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


@contextlib.contextmanager
def _packaging_context(source_dir: Path, work_dir: Path, region: str) -> Iterator[None]:
    """`chalice.cdk.Chalice` packages in this process: it writes chalice.out/ under the
    current directory, imports the project as the top-level module `app` (a module of that
    name already in sys.modules is used as it is) and copies the stage's variables into
    os.environ for good. All of it is put back afterwards, so that a synth inside the test
    session leaves no trace: the `app` that `import app` finds stays imported once (importing
    app.py twice would register the blueprints twice), any other is removed again."""
    out = work_dir / "chalice.out"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():  # packages of earlier synths: their assets are in cdk.out
        if re.fullmatch(r"[0-9a-f]{32}", old.name) and old.is_dir():
            shutil.rmtree(old)
        elif old.name.endswith(".sam_with_assets.json"):
            old.unlink()
    saved_cwd, saved_env, saved_path = os.getcwd(), dict(os.environ), list(sys.path)
    saved_app = sys.modules.get("app")
    if saved_app is not None and _module_file(saved_app) != source_dir / "app.py":
        del sys.modules["app"]
    sys.path.insert(0, str(source_dir))
    os.environ.setdefault("AWS_DEFAULT_REGION", region)  # chalice package needs a region
    os.chdir(work_dir)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        packaged = sys.modules.get("app")
        if saved_app is not None:
            sys.modules["app"] = saved_app
        elif packaged is not None:
            spec = importlib.machinery.PathFinder.find_spec("app", sys.path)
            if spec is None or not spec.origin or \
                    Path(spec.origin).resolve() != _module_file(packaged):
                del sys.modules["app"]


# --------------------------------------------------------------------------- the stack
class SmileStack(cdk.Stack):
    """One stage of SMILE. The construct id is the stage: chalice.cdk takes the Chalice stage
    from its scope's path (`scope.to_string()`)."""

    def __init__(self, scope: Construct, stage: str, *, options: DeployOptions | None = None,
                 source_dir: Path | str = PROJECT_DIR, work_dir: Path | str | None = None,
                 **kwargs) -> None:
        if stage == "local":
            raise ValueError("the local stage runs on moto (make run), not on AWS")
        kwargs.setdefault("stack_name", f"smile-{stage}")
        kwargs.setdefault("env", cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=REGION))
        kwargs.setdefault("description", f"SMILE contribution billing, stage {stage}")
        super().__init__(scope, stage, **kwargs)
        self.stage = stage
        self.options = options or DeployOptions.from_context(self.node, stage)
        self.source_dir = Path(source_dir).resolve()
        # chalice.cdk writes <work_dir>/chalice.out/ (git-ignored in infra/cdk).
        self.work_dir = Path(work_dir) if work_dir else Path(__file__).resolve().parent
        self.prod = stage == "prod"
        region = self.region if not cdk.Token.is_unresolved(self.region) else REGION

        self.lambda_environment = stage_environment(self.source_dir, self.options, region)
        self.settings = Settings.from_environ({**self.lambda_environment,
                                               "AWS_DEFAULT_REGION": region})
        cdk.Tags.of(self).add("project", "smile")
        cdk.Tags.of(self).add("stage", stage)

        self.alarm_topic = self._alarm_topic()
        self.indexed_tables: dict[str, bool] = {}
        self.tables = self._tables()
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.queues = self._queues()
        self.bucket = self._bucket()
        self.role, self.policies = self._role()
        self.chalice = self._package()
        self.chalice_template = ChaliceTemplate(self._read_sam_template())
        self.consumer_timeouts: dict[str, int] = {}
        self.log_groups: dict[str, logs.CfnLogGroup] = {}
        self._wire_functions()
        self._patch_sqs_triggers()
        self._patch_rest_api()
        self._permissions()

    # ---------------------------------------------------------------- data
    def _tables(self) -> dict[str, cdk.CfnResource]:
        """One table per registered PynamoDB model. A plain CfnResource: the properties are
        CloudFormation's own shapes, built from the model's schema by table_properties()."""
        tables = {}
        for base, model_cls in sorted(load_models().items()):
            props = table_properties(model_cls, self.settings.table_name(base))
            props["DeletionProtectionEnabled"] = self.prod
            table = cdk.CfnResource(self, f"Table{_logical(base)}",
                                    type="AWS::DynamoDB::Table", properties=props)
            table.apply_removal_policy(
                cdk.RemovalPolicy.RETAIN if self.prod else cdk.RemovalPolicy.DESTROY)
            tables[base] = table
            self.indexed_tables[base] = bool(props.get("GlobalSecondaryIndexes")
                                             or props.get("LocalSecondaryIndexes"))
        return tables

    def _queues(self) -> dict[str, sqs.Queue]:
        queues = {}
        for key, spec in QUEUES.items():
            dlq = sqs.Queue(
                self, f"DeadLetter{_logical(key)}", queue_name=spec.dead_letter_name,
                retention_period=DLQ_RETENTION, encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True)
            queue = sqs.Queue(
                self, f"Queue{_logical(key)}", queue_name=spec.name,
                visibility_timeout=cdk.Duration.seconds(spec.visibility_timeout),
                retention_period=cdk.Duration.days(4),
                encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(
                    max_receive_count=spec.max_receive_count, queue=dlq))
            self.dead_letter_queues[key] = dlq
            queues[key] = queue
            self._alarm(
                f"DeadLetterAlarm{_logical(key)}", f"dlq-{key}",
                f"{spec.dead_letter_name} has messages: {spec.consumer} gave up on them",
                dlq.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(5), statistic="Maximum"),
                threshold=0, operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD)
        return queues

    def _bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self, "Documents", bucket_name=self.settings.bucket_name,
            versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(
                id="old-versions",
                noncurrent_version_transitions=[s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(30))],
                noncurrent_version_expiration=cdk.Duration.days(365),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(7))],
            # Letters, cards and reconciliation files are records: never deleted with the
            # stack (a non-empty bucket cannot be deleted anyway).
            removal_policy=cdk.RemovalPolicy.RETAIN)

    # ---------------------------------------------------------------- alarms
    def _alarm_topic(self) -> sns.Topic:
        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed
        # key aws/sns, and alarm notifications carry no personal data.
        topic = sns.Topic(self, "Alarms", topic_name=f"smile-{self.stage}-alarms",
                          enforce_ssl=True)
        if self.options.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.options.alarm_email))
        return topic

    def _alarm(self, construct_id: str, name: str, description: str,
               metric: cloudwatch.IMetric, *, threshold: float,
               operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD):
        alarm = cloudwatch.Alarm(
            self, construct_id, alarm_name=f"smile-{self.stage}-{name}",
            alarm_description=description, metric=metric, threshold=threshold,
            comparison_operator=operator, evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        alarm.add_ok_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        return alarm

    # ---------------------------------------------------------------- the Chalice app
    def _role(self) -> tuple[iam.Role, dict[str, iam.ManagedPolicy]]:
        # Managed policies (not the role's default policy): the role's ManagedPolicyArns
        # reference them, so every function (and its SQS event source mapping, which checks
        # the role's sqs:ReceiveMessage when it is created) is created after its permissions.
        policies = {
            name: iam.ManagedPolicy(self, f"{name}Policy",
                                    description=f"SMILE {self.stage} Lambda: {name}")
            for name in ("Data", "Messaging", "Runtime")
        }
        role = iam.Role(
            self, "LambdaRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"SMILE {self.stage}: every function of the Chalice app",
            managed_policies=list(policies.values()))
        return role, policies

    def _package(self):
        from chalice.cdk.construct import Chalice

        stage_config = {
            "api_gateway_stage": self.stage,
            "manage_iam_role": False,
            "iam_role_arn": self.role.role_arn,
            # The dependencies (Pillow, lxml, cryptography, botocore...) go to a managed layer
            # cached on requirements.txt alone; without it every change to app.py or
            # chalicelib rebuilds ~60 MB of wheels (about a minute).
            "automatic_layer": True,
            "lambda_memory_size": self.options.lambda_memory_size,
            "environment_variables": self.lambda_environment,
            "xray": self.options.tracing,
            "tags": {"project": "smile", "stage": self.stage},
        }
        region = REGION if cdk.Token.is_unresolved(self.region) else self.region
        with _packaging_context(self.source_dir, self.work_dir.resolve(), region):
            return Chalice(self, "Chalice", source_dir=str(self.source_dir),
                           stage_config=stage_config)

    @property
    def package_dir(self) -> Path:
        """Where `chalice package` wrote sam.json and the zips (chalice.cdk internals)."""
        return Path(self.chalice._sam_package_dir)

    def _read_sam_template(self) -> dict[str, Any]:
        return json.loads((self.package_dir / "sam.json").read_text())["Resources"]

    def _wire_functions(self) -> None:
        """Per function: a log group with retention that the function logs to (so the role
        can name it), and alarms on errors and throttles."""
        for logical_id in self.chalice_template.functions:
            group = logs.CfnLogGroup(
                self, f"Logs{logical_id}",
                log_group_name=f"/aws/lambda/smile-{self.stage}/{logical_id}",
                retention_in_days=self.options.log_retention_days)
            group.apply_removal_policy(
                cdk.RemovalPolicy.RETAIN if self.prod else cdk.RemovalPolicy.DESTROY)
            self.log_groups[logical_id] = group
            function = self.chalice.get_resource(logical_id)
            # The function logs to this group (created first, through the reference).
            function.add_property_override("LoggingConfig.LogGroup", group.ref)
            name = function.ref
            for metric, label in (("Errors", "errors"), ("Throttles", "throttles")):
                self._alarm(
                    f"{label.title()}Alarm{logical_id}", f"{logical_id}-{label}",
                    f"{logical_id} {label}",
                    cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric,
                                      dimensions_map={"FunctionName": name},
                                      statistic="Sum", period=cdk.Duration.minutes(5)),
                    threshold=1)

    def _patch_sqs_triggers(self) -> None:
        """Every SQS trigger found in the template: partial batch responses on, the queue's
        ARN from this stack (a real dependency instead of an ARN built from the name), and the
        consumer's timeout from the queue's visibility timeout."""
        by_name: dict[str, tuple[str, QueueSpec]] = {
            spec.name: (key, spec) for key, spec in QUEUES.items()}
        self.sqs_triggers = self.chalice_template.sqs_triggers()
        for trigger in self.sqs_triggers:
            if trigger.queue_name not in by_name:
                raise ValueError(
                    f"{trigger.function} consumes {trigger.queue_name!r}, which is not declared "
                    "in chalicelib.shared_kernel.resources.QUEUES (no queue, no dead-letter "
                    "queue would be deployed for it)")
            key, spec = by_name[trigger.queue_name]
            function = self.chalice.get_resource(trigger.function)
            path = f"Events.{trigger.event}.Properties"
            function.add_property_override(
                f"{path}.FunctionResponseTypes", [REPORT_BATCH_ITEM_FAILURES])
            function.add_property_override(f"{path}.Queue", self.queues[key].queue_arn)
            timeout = max(1, spec.visibility_timeout // VISIBILITY_TO_TIMEOUT_RATIO)
            previous = self.consumer_timeouts.get(trigger.function)
            self.consumer_timeouts[trigger.function] = min(timeout, previous or timeout)
            function.add_property_override("Timeout", self.consumer_timeouts[trigger.function])
        for logical_id in self.chalice_template.event_source_mappings():
            self.chalice.get_resource(logical_id).add_property_override(
                "FunctionResponseTypes", [REPORT_BATCH_ITEM_FAILURES])

    def _patch_rest_api(self) -> None:
        for logical_id in self.chalice_template.rest_apis:
            api = self.chalice.get_resource(logical_id)
            name = f"smile-{self.stage}"
            # In the definition itself: SAM hashes it into the deployment's logical id, so a
            # change is deployed (separate GatewayResponse resources would need a redeploy).
            api.add_property_override(
                "DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses())
            api.add_property_override("DefinitionBody.info.title", name)
            api.add_property_override("Name", name)
            self._alarm(
                f"Api5xxAlarm{logical_id}", "api-5xx", "API Gateway answered 5xx",
                cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                                  dimensions_map={"ApiName": name, "Stage": self.stage},
                                  statistic="Sum", period=cdk.Duration.minutes(5)),
                threshold=1)

    # ---------------------------------------------------------------- permissions
    def _permissions(self) -> None:
        data, messaging, runtime = (self.policies[k] for k in ("Data", "Messaging", "Runtime"))
        if self.tables:
            data.add_statements(iam.PolicyStatement(
                sid="Tables", actions=DYNAMODB_TABLE_ACTIONS,
                resources=[t.get_att("Arn").to_string() for t in self.tables.values()]))
            indexed = [t for base, t in self.tables.items() if self.indexed_tables[base]]
            if indexed:
                data.add_statements(iam.PolicyStatement(
                    sid="Indexes", actions=DYNAMODB_INDEX_ACTIONS,
                    resources=[f"{t.get_att('Arn').to_string()}/index/*" for t in indexed]))
        data.add_statements(
            # Versions: letters are read and presigned by version id; a losing concurrent
            # signature's object version is removed.
            iam.PolicyStatement(sid="DocumentObjects",
                                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
                                         "s3:DeleteObjectVersion"],
                                resources=[self.bucket.arn_for_objects("*")]),
            # ListBucket: a missing key is a 404, not a 403, for head_object/get_object.
            iam.PolicyStatement(sid="DocumentBucket", actions=["s3:ListBucket"],
                                resources=[self.bucket.bucket_arn]),
            iam.PolicyStatement(
                sid="StageSecrets",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[self.format_arn(
                    service="secretsmanager", resource="secret",
                    resource_name=f"{secrets_prefix(self.stage)}*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))
        messaging.add_statements(
            iam.PolicyStatement(sid="Queues", actions=SQS_ACTIONS,
                                resources=[q.queue_arn for q in self.queues.values()]),
            iam.PolicyStatement(sid="Sms", actions=["sns:Publish"], resources=["*"]),
            # With the statement above: SMS to phone numbers only, never to a topic.
            iam.PolicyStatement(sid="NoTopics", effect=iam.Effect.DENY,
                                actions=["sns:Publish"],
                                resources=[f"arn:{cdk.Aws.PARTITION}:sns:*:*:*"]))
        runtime.add_statements(iam.PolicyStatement(
            sid="Logs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[g.attr_arn for g in self.log_groups.values()]
            or [self.format_arn(service="logs", resource="log-group",
                                resource_name=f"/aws/lambda/smile-{self.stage}/*",
                                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))
        # Metrics go out as Embedded Metric Format log lines (powertools): no PutMetricData.
        if self.options.tracing:
            runtime.add_statements(iam.PolicyStatement(
                sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"]))
