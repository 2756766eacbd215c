"""Infra tests: jsii (the CDK's Node.js runtime) prints a banner on Node 20; set before any
aws_cdk import starts it."""
import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
