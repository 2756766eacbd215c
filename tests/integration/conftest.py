"""Integration tests: the Chalice app in process against moto's in-process AWS."""
from __future__ import annotations

import pytest


@pytest.fixture
def aws():
    from moto import mock_aws

    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()
    with mock_aws():
        from chalicelib.shared_kernel.aws import reset_clients

        reset_clients()
        yield
        reset_clients()


@pytest.fixture
def settings(jwt_keys):
    from chalicelib.shared_kernel.config import Settings

    _, public_path = jwt_keys
    return Settings(stage="test", resource_prefix="smile-test",
                    bucket_name="smile-test-documents",
                    jwt_public_key_path=str(public_path))


@pytest.fixture
def stack(aws, settings):
    """Tables, queues and bucket created from the same definitions the code uses."""
    from chalicelib.bootstrap import Container, override
    from infra.provision import provision

    provision(settings)
    c = Container(settings)
    override(c)
    yield c
    override(None)


@pytest.fixture
def client(stack):
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app) as test_client:
        yield test_client


@pytest.fixture
def token(jwt_keys, settings):
    from chalicelib.shared_kernel.auth import Role, issue_local_token

    private_pem, _ = jwt_keys

    def make(role: str = "ADMIN", branch: str | None = "BLT", npp: str | None = None,
             kpj: str | None = None, ttl: int = 3600, now: float | None = None) -> str:
        return issue_local_token(private_pem, role=Role(role), subject=f"user-{role.lower()}",
                                 issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                 branch=branch, npp=npp, kpj=kpj, ttl_seconds=ttl, now=now)

    return make


@pytest.fixture
def auth_header(token):
    def make(role: str = "ADMIN", **kwargs) -> dict:
        return {"Authorization": f"Bearer {token(role, **kwargs)}",
                "Content-Type": "application/json"}

    return make
