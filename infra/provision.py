"""Create the stage's tables, queues (each with its dead-letter queue) and bucket from the
same definitions the code uses (chalicelib.shared_kernel.resources). Idempotent.

Used by the local stack (against the moto server) and by integration tests (moto in
process). The deployed stages get the same resources from the CDK stack in infra/cdk.
"""
from __future__ import annotations

import json

from chalicelib.shared_kernel.aws import client
from chalicelib.shared_kernel.resources import QUEUES, bind_tables, load_models


def provision(settings) -> dict:
    bind_tables(settings)
    created = {"tables": [], "queues": [], "bucket": settings.bucket_name}
    dynamodb = client("dynamodb", settings.region)
    existing_tables = set(dynamodb.list_tables(Limit=100)["TableNames"])
    for model_cls in load_models().values():
        if model_cls.Meta.table_name not in existing_tables:
            # moto answers ACTIVE at once; waiting would only add describe calls
            model_cls.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        created["tables"].append(model_cls.Meta.table_name)

    sqs = client("sqs", settings.region)
    for spec in QUEUES.values():
        dlq_url = sqs.create_queue(QueueName=spec.dead_letter_name,
                                   Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sqs.create_queue(QueueName=spec.name, Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(spec.max_receive_count)}),
        })
        created["queues"].append(spec.name)

    s3 = client("s3", settings.region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if settings.bucket_name not in existing:
        s3.create_bucket(Bucket=settings.bucket_name,
                         CreateBucketConfiguration={"LocationConstraint": settings.region})
    s3.put_bucket_versioning(Bucket=settings.bucket_name,
                             VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=settings.bucket_name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    return created
