"""The CDK stack synthesised offline (no AWS account), checked against the resource registry
(chalicelib.shared_kernel.resources) and app.py, and linted with cfn-lint.

One synth of the real app per session (`chalice package` of the project: ~50 s the first time,
when it builds the dependency layer; ~10 s once the layer is cached in .chalice/deployments).
app.py may not have SQS consumers or schedules yet, so a second, small synth packages a fixture
app that registers a consumer for every queue of QUEUES and every schedule of SCHEDULES (no
requirements: it packages in about a second) and is synthesised as the prod stage.
"""
from __future__ import annotations

import csv
import importlib
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.shared_kernel.config import Settings
from chalicelib.shared_kernel.resources import QUEUES, SCHEDULES, load_models

# Cold (fresh clone: chalice builds the dependency layer) the synth alone took 50-90 s on
# 2 cores; with the layer cached in .chalice/deployments the module takes about 20 s.
pytestmark = pytest.mark.slow

REGION = "ap-southeast-3"
SAM_FUNCTION = "AWS::Serverless::Function"
# The only actions allowed on Resource "*": AWS offers no resource-level permission for them.
STAR_ALLOWLIST = {"sns:Publish", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# Highest glibc of the Lambda runtimes (python3.11 runs on Amazon Linux 2, 3.12+ on AL2023).
RUNTIME_GLIBC = {"python3.9": (2, 26), "python3.10": (2, 26), "python3.11": (2, 26),
                 "python3.12": (2, 34), "python3.13": (2, 34)}


@dataclass
class Synth:
    stack: object
    template: dict
    seconds: float

    @property
    def resources(self) -> dict:
        return self.template["Resources"]

    def of_type(self, type_: str) -> dict:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_}

    def functions(self) -> dict:
        return self.of_type(SAM_FUNCTION)

    def events(self, event_type: str) -> list[tuple[str, str, dict]]:
        return [(fid, name, event["Properties"])
                for fid, fn in self.functions().items()
                for name, event in (fn["Properties"].get("Events") or {}).items()
                if event["Type"] == event_type]

    def logical_id(self, type_: str, **properties) -> str:
        matches = [k for k, v in self.of_type(type_).items()
                   if all(v["Properties"].get(p) == value for p, value in properties.items())]
        assert len(matches) == 1, (type_, properties, matches)
        return matches[0]


def _synth(stage: str, source_dir: Path, work_dir: Path, outdir: Path) -> Synth:
    import aws_cdk as cdk
    from aws_cdk import assertions

    from infra.cdk.stack import DeployOptions, SmileStack

    started = time.perf_counter()
    app = cdk.App(outdir=str(outdir))
    options = DeployOptions(stage=stage, cognito_user_pool_id="ap-southeast-3_Example",
                            cognito_app_client_id="example-client", alarm_email="ops@example.com")
    stack = SmileStack(app, stage, options=options, source_dir=source_dir, work_dir=work_dir,
                       env=cdk.Environment(region=REGION))
    template = assertions.Template.from_stack(stack).to_json()
    return Synth(stack, template, time.perf_counter() - started)


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    """The project itself, stage dev."""
    from infra.cdk.stack import PROJECT_DIR

    tmp = tmp_path_factory.mktemp("cdk")
    result = _synth("dev", PROJECT_DIR, tmp, tmp / "cdk.out")
    print(f"\nsynth of the project (chalice package + CDK): {result.seconds:.1f} s")
    return result


FIXTURE_APP = '''
"""Every queue consumed and every schedule registered, named as resources.py says."""
from chalice import Chalice, Cron

from chalicelib.shared_kernel.resources import QUEUES, SCHEDULES

app = Chalice(app_name="smile")


def _register(spec):
    def consumer(event):
        return {"batchItemFailures": []}

    consumer.__name__ = spec.consumer
    globals()[spec.consumer] = app.on_sqs_message(
        queue=spec.name, batch_size=spec.batch_size, name=spec.consumer)(consumer)


def _schedule(spec):
    def job(event):
        return None

    job.__name__ = spec.name
    globals()[spec.name] = app.schedule(
        Cron(*spec.cron_args()), name=spec.name, description=spec.description)(job)


for _spec in QUEUES.values():
    _register(_spec)
for _spec in SCHEDULES:
    _schedule(_spec)
'''


@pytest.fixture(scope="module")
def fixture_synth(tmp_path_factory) -> Synth:
    """A small app with a consumer on every queue and every schedule, stage prod."""
    from infra.cdk.stack import PROJECT_DIR

    tmp = tmp_path_factory.mktemp("fixture")
    source = tmp / "app"
    (source / ".chalice").mkdir(parents=True)
    (source / "app.py").write_text(FIXTURE_APP)
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    (source / ".chalice" / "config.json").write_text(json.dumps(config))
    return _synth("prod", source, tmp, tmp / "cdk.out")


@pytest.fixture(scope="session")
def project_app():
    """The Chalice app of app.py, for what it registers (consumers, schedules)."""
    return importlib.import_module("app").app


def _sqs_configs(chalice_app):
    return [s for s in chalice_app.event_sources if type(s).__name__ == "SQSEventConfig"]


def _schedule_configs(chalice_app):
    return [s for s in chalice_app.event_sources if type(s).__name__ == "ScheduledEventConfig"]


def _settings(result: Synth) -> Settings:
    return result.stack.settings


# --------------------------------------------------------------------------- tables
def test_every_registered_table_is_deployed_with_pitr_sse_on_demand(synth):
    models = load_models()
    tables = synth.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(models)
    for base, model_cls in models.items():
        logical = synth.logical_id("AWS::DynamoDB::Table",
                                   TableName=_settings(synth).table_name(base))
        props = tables[logical]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["DeletionProtectionEnabled"] is False  # dev; prod: see the fixture synth
        schema = model_cls._get_schema()
        assert sorted((k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]) == \
            sorted((k["AttributeName"], k["KeyType"]) for k in schema["key_schema"])
        assert props["KeySchema"][0]["KeyType"] == "HASH"
        assert {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])} == \
            {i["index_name"] for i in schema.get("global_secondary_indexes", [])}
        assert {i["IndexName"] for i in props.get("LocalSecondaryIndexes", [])} == \
            {i["index_name"] for i in schema.get("local_secondary_indexes", [])}
        for index in props.get("GlobalSecondaryIndexes", []):
            assert index["KeySchema"][0]["KeyType"] == "HASH"
            assert index["Projection"]["ProjectionType"] in ("ALL", "KEYS_ONLY", "INCLUDE")


def test_prod_tables_are_protected_and_retained(fixture_synth):
    tables = fixture_synth.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(load_models())
    for table in tables.values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["TableName"].startswith("smile-prod-")


# --------------------------------------------------------------------------- queues
@pytest.mark.parametrize("which", ["synth", "fixture_synth"])
def test_every_queue_has_an_encrypted_dead_letter_queue_with_redrive(which, request):
    result = request.getfixturevalue(which)
    queues = result.of_type("AWS::SQS::Queue")
    assert len(queues) == 2 * len(QUEUES)
    policies = result.of_type("AWS::SQS::QueuePolicy")
    for spec in QUEUES.values():
        main = result.logical_id("AWS::SQS::Queue", QueueName=spec.name)
        dlq = result.logical_id("AWS::SQS::Queue", QueueName=spec.dead_letter_name)
        props, dlq_props = queues[main]["Properties"], queues[dlq]["Properties"]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "maxReceiveCount": spec.max_receive_count}
        assert props["VisibilityTimeout"] == spec.visibility_timeout
        assert dlq_props["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert props["SqsManagedSseEnabled"] is True and dlq_props["SqsManagedSseEnabled"] is True
        for logical in (main, dlq):  # TLS only
            assert any(
                {"Ref": logical} in p["Properties"]["Queues"]
                and any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s)
                        for s in p["Properties"]["PolicyDocument"]["Statement"])
                for p in policies.values()), logical


def _check_sqs_triggers(result: Synth, consumers: list) -> None:
    from chalice.utils import to_cfn_resource_name

    triggers = result.events("SQS")
    assert len(triggers) == len(consumers)
    by_name = {spec.name: spec for spec in QUEUES.values()}
    functions = result.functions()
    for function_id, _, props in triggers:
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], function_id
        queue_id = props["Queue"]["Fn::GetAtt"][0]  # this stack's queue, not an ARN by name
        queue_name = result.resources[queue_id]["Properties"]["QueueName"]
        spec = by_name[queue_name]
        assert props["BatchSize"] == spec.batch_size
        # Chalice names the function after the consumer's name (app.py or a blueprint).
        assert function_id == to_cfn_resource_name(spec.consumer), (function_id, spec)
        handler = functions[function_id]["Properties"]["Handler"]
        assert handler.endswith(f".{spec.consumer}"), (handler, spec)
        timeout = functions[function_id]["Properties"]["Timeout"]
        assert spec.visibility_timeout >= 6 * timeout, (function_id, timeout, spec)


def test_every_sqs_consumer_of_app_py_reports_batch_item_failures(synth, project_app):
    consumers = _sqs_configs(project_app)
    _check_sqs_triggers(synth, consumers)  # may be none yet: the fixture covers every queue
    specs = {spec.name: spec for spec in QUEUES.values()}
    for config in consumers:
        assert config.queue in specs, config.queue
        assert config.name == specs[config.queue].consumer, (config.name, config.queue)


def test_a_consumer_on_every_queue_reports_batch_item_failures(fixture_synth):
    _check_sqs_triggers(fixture_synth, list(QUEUES.values()))
    assert {fixture_synth.resources[p["Queue"]["Fn::GetAtt"][0]]["Properties"]["QueueName"]
            for _, _, p in fixture_synth.events("SQS")} == {s.name for s in QUEUES.values()}


def test_sam_translates_triggers_into_mappings_with_partial_batch_response(fixture_synth,
                                                                           monkeypatch):
    """Runs only where aws-sam-translator is installed (it is not a project dependency)."""
    translator = pytest.importorskip("samtranslator.translator.transform")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    class NoManagedPolicies:
        def load(self):
            return {}

    out = translator.transform(json.loads(json.dumps(fixture_synth.template)),
                               {"AWS::Region": REGION}, NoManagedPolicies())
    mappings = [r["Properties"] for r in out["Resources"].values()
                if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == len(QUEUES)
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)


# --------------------------------------------------------------------------- schedules
def _check_schedules(result: Synth, schedule_names: set[str]) -> None:
    from chalice.utils import to_cfn_resource_name

    expressions = {fid: props["Schedule"] for fid, _, props in result.events("Schedule")}
    assert len(expressions) == len(schedule_names)
    for spec in SCHEDULES:
        if spec.name not in schedule_names:
            continue
        expected = "cron(%s)" % " ".join(str(part) for part in spec.cron_args())
        assert expressions[to_cfn_resource_name(spec.name)] == expected, spec.name


def test_schedules_registered_by_app_py_are_in_the_template(synth, project_app):
    names = {config.name for config in _schedule_configs(project_app)}
    assert names <= {spec.name for spec in SCHEDULES}, names
    _check_schedules(synth, names)


def test_every_schedule_of_the_registry_ends_up_in_the_template(fixture_synth):
    _check_schedules(fixture_synth, {spec.name for spec in SCHEDULES})


# --------------------------------------------------------------------------- bucket
def test_bucket_is_private_versioned_encrypted_tls_only(synth):
    (bucket_id, bucket), = synth.of_type("AWS::S3::Bucket").items()
    props = bucket["Properties"]
    assert props["BucketName"] == _settings(synth).bucket_name == "smile-dev-documents"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in rule for rule in rules)
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = synth.of_type("AWS::S3::BucketPolicy").values()
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s)
               for s in policy["Properties"]["PolicyDocument"]["Statement"])


# --------------------------------------------------------------------------- IAM
def _policy_documents(result: Synth):
    for logical, resource in result.resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            yield logical, props["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield logical, policy["PolicyDocument"]
        elif resource["Type"] in ("AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy",
                                  "AWS::SNS::TopicPolicy"):
            yield logical, props["PolicyDocument"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("which", ["synth", "fixture_synth"])
def test_every_policy_statement_names_its_resources(which, request):
    from infra.cdk.stack import STAR_RESOURCE_ACTIONS

    assert set(STAR_RESOURCE_ACTIONS) == STAR_ALLOWLIST  # widening it is a reviewed change
    result = request.getfixturevalue(which)
    seen = 0
    for logical, document in _policy_documents(result):
        for statement in document["Statement"]:
            seen += 1
            actions = set(_as_list(statement.get("Action", [])))
            if statement["Effect"] == "Allow":  # a Deny may be broad (TLS-only policies)
                assert not any(a == "*" or a.endswith(":*") for a in actions), \
                    (logical, statement)
            resources = _as_list(statement.get("Resource", []))
            assert resources, (logical, statement)
            if "*" in resources:
                assert statement["Effect"] == "Allow" and actions <= STAR_ALLOWLIST, \
                    (logical, statement)
    assert seen


def _statements(result: Synth, sid: str) -> list[dict]:
    return [s for _, doc in _policy_documents(result) for s in doc["Statement"]
            if s.get("Sid") == sid]


def test_lambda_role_reaches_exactly_the_stage_resources(synth):
    (role_id, role), = synth.of_type("AWS::IAM::Role").items()
    for function_id, function in synth.functions().items():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}, function_id
    managed = {ref["Ref"] for ref in role["Properties"]["ManagedPolicyArns"]}
    assert managed == set(synth.of_type("AWS::IAM::ManagedPolicy"))

    tables = {k for k in synth.of_type("AWS::DynamoDB::Table")}
    if tables:
        (statement,) = _statements(synth, "Tables")
        assert {r["Fn::GetAtt"][0] for r in _as_list(statement["Resource"])} == tables
    (queues,) = _statements(synth, "Queues")
    assert {r["Fn::GetAtt"][0] for r in queues["Resource"]} == {
        synth.logical_id("AWS::SQS::Queue", QueueName=s.name) for s in QUEUES.values()}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= set(
        queues["Action"])
    bucket_id = next(iter(synth.of_type("AWS::S3::Bucket")))
    for sid in ("DocumentObjects", "DocumentBucket"):
        (statement,) = _statements(synth, sid)
        assert bucket_id in json.dumps(statement["Resource"])
    (secrets,) = _statements(synth, "StageSecrets")
    assert ":secret:smile/dev/*" in json.dumps(secrets["Resource"])
    (sms,), (no_topics,) = _statements(synth, "Sms"), _statements(synth, "NoTopics")
    assert sms["Resource"] == "*" and no_topics["Effect"] == "Deny"
    (logs,) = _statements(synth, "Logs")
    assert {r["Fn::GetAtt"][0] for r in _as_list(logs["Resource"])} == set(
        synth.of_type("AWS::Logs::LogGroup"))


# --------------------------------------------------------------------------- alarms
def _alarms(result: Synth) -> list[dict]:
    return [a["Properties"] for a in result.of_type("AWS::CloudWatch::Alarm").values()]


@pytest.mark.parametrize("which", ["synth", "fixture_synth"])
def test_alarms_on_dead_letter_queues_functions_and_api(which, request):
    result = request.getfixturevalue(which)
    alarms = _alarms(result)
    (topic_id,) = result.of_type("AWS::SNS::Topic")
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in alarms)
    for spec in QUEUES.values():
        dlq = result.logical_id("AWS::SQS::Queue", QueueName=spec.dead_letter_name)
        (alarm,) = [a for a in alarms if a.get("Dimensions") == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    for function_id in result.functions():
        metrics = {a["MetricName"] for a in alarms
                   if a.get("Dimensions") == [{"Name": "FunctionName",
                                               "Value": {"Ref": function_id}}]}
        assert metrics == {"Errors", "Throttles"}, function_id
    apis = result.of_type("AWS::Serverless::Api")
    assert len([a for a in alarms if a["MetricName"] == "5XXError"]) == len(apis)


# --------------------------------------------------------------------------- API and functions
def test_api_gateway_errors_answer_the_error_contract(synth):
    (api,) = synth.of_type("AWS::Serverless::Api").values()
    responses = api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == 404
    for response_type in ("MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[response_type]["responseTemplates"]["application/json"]
        assert template.startswith('{"error": {"code": ')
    assert api["Properties"]["StageName"] == "dev"


def test_functions_get_the_stage_environment_and_their_own_log_group(synth):
    functions = synth.functions()
    assert functions, "the API handler at least"
    for function_id, function in functions.items():
        props = function["Properties"]
        env = props["Environment"]["Variables"]
        settings = Settings.from_environ({**env, "AWS_DEFAULT_REGION": REGION})
        assert settings.stage == "dev" and settings.auth_mode == "cognito"
        assert settings.cognito_jwks_url.endswith(
            "/ap-southeast-3_Example/.well-known/jwks.json")
        assert settings.jwt_audience == "example-client"
        assert env["POWERTOOLS_SERVICE_NAME"] == "smile"
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert synth.resources[group]["Properties"]["RetentionInDays"] == 90
        assert props["Layers"], function_id  # dependencies in the managed layer


# --------------------------------------------------------------------------- lint
@pytest.mark.parametrize("which", ["synth", "fixture_synth"])
def test_cfn_lint_passes(which, request, tmp_path):
    from cfnlint.api import lint

    result = request.getfixturevalue(which)
    path = tmp_path / "template.json"
    path.write_text(json.dumps(result.template, indent=1))
    # Errors and warnings, nothing ignored (informational findings are not reported by
    # default: CDK's Fn::Join for ARNs).
    matches = lint(path.read_text(), regions=[REGION])
    assert not matches, "\n".join(f"{m.rule.id} {m.message} ({path}:{m.linenumber})"
                                  for m in matches)


# --------------------------------------------------------------------------- the packaged zips
def _glibc(platform: str, arch: str) -> tuple[int, int] | None:
    """The glibc a manylinux platform tag needs, or None when it is not manylinux for arch."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    match = re.fullmatch(r"(manylinux(?:1|2010|2014)|manylinux_(\d+)_(\d+))_(\w+)", platform)
    if not match or match.group(4) != arch:
        return None
    if match.group(2):
        return int(match.group(2)), int(match.group(3))
    return legacy[match.group(1)]


def _wheel_ok(tags: list[str], runtime: str, arch: str) -> bool:
    python = "cp" + runtime.removeprefix("python").replace(".", "")
    for tag in tags:
        interpreter, abi, platform = tag.split("-")
        if platform == "any":
            return True
        glibc = _glibc(platform, arch)
        if glibc is None or glibc > RUNTIME_GLIBC[runtime]:
            continue
        if interpreter == python or (abi == "abi3" and interpreter <= python):
            return True
    return False


def _compiled_files(zip_path: Path, runtime: str, arch: str) -> tuple[list, list]:
    """(every .so in the zip, the ones that do not come from a wheel that runs on Lambda)."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        owner: dict[str, tuple[str, bool]] = {}
        for record in (n for n in names if n.endswith(".dist-info/RECORD")):
            dist_info = record.rsplit("/", 1)[0]
            root = dist_info.rsplit("/", 1)[0] + "/" if "/" in dist_info else ""
            wheel = archive.read(f"{dist_info}/WHEEL").decode()
            tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines()
                    if line.startswith("Tag:")]
            ok = _wheel_ok(tags, runtime, arch)
            for row in csv.reader(io.StringIO(archive.read(record).decode())):
                if row:
                    owner[root + row[0]] = (dist_info.rsplit("/", 1)[-1], ok)
        shared = [n for n in names if re.search(r"\.so(\.\d+)*$", n)]
        bad = []
        for name in shared:
            dist, ok = owner.get(name, ("not from any wheel", False))
            header = archive.read(name)[:20]
            elf_machine = int.from_bytes(header[18:20], "little")
            if not ok or header[:4] != b"\x7fELF" or elf_machine != {"x86_64": 0x3E,
                                                                      "arm64": 0xB7}[arch]:
                bad.append((name, dist))
    return shared, bad


def test_packaged_code_has_no_library_built_for_this_machine(synth):
    """stack-notes §9: a wheel built from source (platform tag linux_x86_64, not manylinux),
    or a manylinux wheel needing a newer glibc than the runtime's, would be packaged without
    a warning and fail on Lambda at import."""
    functions = synth.functions()
    runtimes = {f["Properties"]["Runtime"] for f in functions.values()}
    arches = {a for f in functions.values() for a in f["Properties"]["Architectures"]}
    (runtime,), (arch,) = runtimes, arches
    zips = sorted(synth.stack.package_dir.glob("*.zip"))
    assert {z.name for z in zips} >= {"deployment.zip", "layer-deployment.zip"}
    report = []
    for path in zips:
        shared, bad = _compiled_files(path, runtime, arch)
        report.append(f"{path.name}: {len(shared)} shared libraries")
        report.extend(f"  {name}" for name in shared)
        assert not bad, f"{path.name}: not runnable on {runtime}/{arch}: {bad}"
    print("\n" + "\n".join(report))
