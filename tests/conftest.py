"""Test environment: fake credentials, a fixed region, no endpoint override (so moto's
in-process mock intercepts everything; stack-notes §4), then the app is imported lazily."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

for _key in list(os.environ):
    if _key.startswith("AWS_ENDPOINT_URL") or _key.startswith("SMILE_"):
        del os.environ[_key]
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-3",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
})

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory):
    from tests.support.keys import generate_rsa_pem

    private_pem, public_pem = generate_rsa_pem()
    directory = tmp_path_factory.mktemp("keys")
    (directory / "jwt_public.pem").write_text(public_pem)
    return private_pem, directory / "jwt_public.pem"
