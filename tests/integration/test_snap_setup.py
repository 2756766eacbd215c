"""Given-steps shared by the SNAP integration tests (no tests here). Test modules import
them with `from tests.integration.test_snap_setup import *`.

Provisioning moto's 30-odd tables is most of an integration test's cost, so each SNAP test
module shares one provisioned world (one moto, one app, parties registered and billed once)
and isolates its tests by data instead: every test gets its own partner (client id, company
code, X-EXTERNAL-ID space) and, when it pays or re-issues, bills nobody else touches. Bills
that no test pays ("employer", "open") are shared read-only.
"""
from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest

from chalicelib.shared_kernel.calendar import JAKARTA
from tests.support.snap_client import SnapPartner, chalice_transport, generate_rsa_keypair

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)
DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=JAKARTA)
DEC_10 = datetime(2026, 12, 10, 8, 0, tzinfo=JAKARTA)
DAY = DEC_10.date().isoformat()

EMPLOYER_BILL = 1_594_389   # two workers, 5,000,000 and 12,000,000 (test_billing.py)
BPU_BILL = 16_800           # JKK + JKM on 1,000,000
BPU_JHT_BILL = 36_800       # JKK + JKM + JHT (2 %) on 1,000,000

# A module may set SNAP_POOL = {"bpu": n, "saver": m}: how many fresh bills its tests take;
# None: its tests need no bills at all.
DEFAULT_POOL = {"bpu": 4, "saver": 1}


class World:
    """One provisioned moto + app for a test module, with bills to hand out."""

    def __init__(self, container, client, private_jwt_pem: str):
        self.container = container
        self.client = client
        self._jwt_pem = private_jwt_pem
        self._pool: dict[str, list[dict]] = {}
        self.shared: dict[str, dict] = {}
        self._ids = itertools.count(1)

    def auth_header(self, role: str = "ADMIN", branch: str | None = "BLT",
                    npp: str | None = None, kpj: str | None = None) -> dict:
        from chalicelib.shared_kernel.auth import Role, issue_local_token

        s = self.container.settings
        token = issue_local_token(self._jwt_pem, role=Role(role),
                                  subject=f"user-{role.lower()}", issuer=s.jwt_issuer,
                                  audience=s.jwt_audience, branch=branch, npp=npp, kpj=kpj)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def populate(self, pool: dict[str, int]) -> None:
        from tests.integration.factories import Parties, run_schedule

        self.container.clock = lambda: NOV_20
        parties = Parties(self.client, self.auth_header)
        employer = parties.employer(jkk_risk_class=2)
        parties.worker(employer["npp"], 5_000_000)
        parties.worker(employer["npp"], 12_000_000)
        people = {"open": [parties.bpu(1_000_000)],
                  "bpu": [parties.bpu(1_000_000) for _ in range(pool.get("bpu", 0))],
                  "saver": [parties.bpu(1_000_000, programs=("JKK", "JKM", "JHT"))
                            for _ in range(pool.get("saver", 0))]}
        self.container.clock = lambda: DEC_1
        run_schedule("generate_monthly_bills", DEC_1)
        self.container.clock = lambda: DEC_10
        self.shared["employer"] = {**self.bill(npp=employer["npp"]), "party": employer}
        [self.shared["open"]] = [{**self.bill(kpj=p["kpj"]), "party": p}
                                 for p in people.pop("open")]
        for kind, persons in people.items():
            self._pool[kind] = [{**self.bill(kpj=p["kpj"]), "party": p} for p in persons]

    def bill(self, **query) -> dict:
        path = "/v1/bills?" + "&".join(f"{k}={v}" for k, v in query.items())
        response = self.client.http.get(path,
                                        headers=self.auth_header("RECEIVABLES", branch="BLT"))
        assert response.status_code == 200, response.body
        [bill] = response.json_body["items"]
        return bill

    def take(self, kind: str) -> dict:
        if not self._pool.get(kind):
            raise RuntimeError(f"no fresh {kind!r} bill left: raise SNAP_POOL[{kind!r}]")
        return self._pool[kind].pop()

    def next_client_id(self) -> str:
        return f"BANK-{next(self._ids):03d}"


class Bills:
    """bills["employer"] and bills["open"]: shared, never paid. bills["bpu"] and
    bills["saver"]: this test's own (taken on first use)."""

    def __init__(self, world: World):
        self._world = world
        self._taken: dict[str, dict] = {}

    def __getitem__(self, kind: str) -> dict:
        if kind in self._world.shared:
            return self._world.shared[kind]
        if kind not in self._taken:
            self._taken[kind] = self._world.take(kind)
        return self._taken[kind]


@pytest.fixture(scope="session")
def partner_keys():
    """Two RSA key pairs, made once: RSA generation is the slow part of onboarding."""
    return [generate_rsa_keypair() for _ in range(2)]


@pytest.fixture(scope="module")
def world(request, jwt_keys, tmp_path_factory):
    from chalice.test import Client
    from cryptography.fernet import Fernet
    from moto import mock_aws

    from chalicelib.bootstrap import Container, override
    from chalicelib.shared_kernel.aws import reset_clients
    from chalicelib.shared_kernel.config import Settings
    from infra.moto_atomic import make_dynamodb_atomic
    from infra.provision import provision

    key_path = tmp_path_factory.mktemp("snap") / "secret_encryption.key"
    key_path.write_bytes(Fernet.generate_key())
    private_pem, public_path = jwt_keys
    make_dynamodb_atomic()
    with mock_aws():
        reset_clients()
        settings = Settings(stage="test", resource_prefix="smile-test",
                            bucket_name="smile-test-documents",
                            jwt_public_key_path=str(public_path),
                            secret_encryption_key_path=str(key_path))
        provision(settings)
        container = Container(settings)
        override(container)
        import app as app_module

        with Client(app_module.app) as client:
            shared = World(container, client, private_pem)
            pool = getattr(request.module, "SNAP_POOL", DEFAULT_POOL)
            if pool is not None:
                shared.populate(pool)
            yield shared
        override(None)
        reset_clients()


@pytest.fixture
def stack(world):
    """The world's container, its clock on 10 December 2026 08:00 WIB, its queues empty."""
    from chalicelib.bootstrap import override

    override(world.container)
    world.container.clock = lambda: DEC_10
    for queue in ("payments", "reminders"):
        _empty(queue)
    return world.container


@pytest.fixture
def client(world, stack):
    return world.client


@pytest.fixture
def auth_header(world):
    return world.auth_header


@pytest.fixture
def at(stack):
    def set_clock(moment: datetime):
        stack.clock = lambda: moment
    return set_clock


@pytest.fixture
def bills(world, stack):
    return Bills(world)


def onboard(client, auth_header, keys, client_id: str, channel_id: str = "95221",
            **extra) -> dict:
    from tests.integration.factories import post

    _, public_pem = keys
    response = post(client, "/v1/partners",
                    {"client_id": client_id, "name": f"Bank {client_id}",
                     "channel_id": channel_id, "public_key_pem": public_pem, **extra},
                    auth_header("ADMIN", branch=None))
    assert response.status_code == 201, response.body
    return response.json_body


@pytest.fixture
def partner_factory(world, stack, partner_keys):
    """make(client_id=None) -> a freshly onboarded SnapPartner (the spec client) speaking to
    the app in process, its timestamps following the test clock."""

    def make(client_id: str | None = None, keys_index: int = 0, **extra) -> SnapPartner:
        client_id = client_id or world.next_client_id()
        created = onboard(world.client, world.auth_header, partner_keys[keys_index],
                          client_id, **extra)
        return SnapPartner(client_id=client_id, client_secret=created["client_secret"],
                           private_key_pem=partner_keys[keys_index][0],
                           partner_service_id=created["partner_service_id"],
                           channel_id=created["channel_id"],
                           transport=chalice_transport(world.client),
                           clock=lambda: stack.clock())

    return make


@pytest.fixture
def bank(partner_factory):
    """This test's own partner, onboarded and holding an access token."""
    partner = partner_factory()
    assert partner.get_token().status == 200
    return partner


def service_transport():
    """The spec client straight into SnapService, without Chalice: chalice.test.Client keeps
    the current request on the app object and swaps os.environ per call, so it cannot serve
    threads; the service is what the routes call, byte for byte."""
    from chalicelib.billing.snap.codes import SnapError
    from chalicelib.bootstrap import container

    snap = container().snap
    handlers = {
        "/snap/v1.0/access-token/b2b": lambda h, b: snap.access_token(h, b),
        "/snap/v1.0/transfer-va/inquiry": lambda h, b: snap.inquiry(
            h, b, "/snap/v1.0/transfer-va/inquiry"),
        "/snap/v1.0/transfer-va/payment": lambda h, b: snap.payment(
            h, b, "/snap/v1.0/transfer-va/payment"),
        "/snap/v1.0/transfer-va/status": lambda h, b: snap.status(
            h, b, "/snap/v1.0/transfer-va/status"),
    }

    def send(method, path, headers, body):
        try:
            # Round-trip through JSON as the HTTP edge would.
            return 200, json.loads(json.dumps(handlers[path](headers, body))), {}
        except SnapError as error:
            return error.status, error.to_body(), {}

    return send


def payments_of(day: str, client_id: str) -> list:
    from chalicelib.billing.store import BillingStore

    return [p for p in BillingStore().payments_of_day(day) if p.client_id == client_id]


def bill_record(bill_id: str):
    from chalicelib.billing.store import BillingStore

    return BillingStore().bill(bill_id)


def queued(queue: str) -> list[dict]:
    """The messages on a queue (received and deleted)."""
    from chalicelib.bootstrap import container
    from chalicelib.shared_kernel.aws import client
    from chalicelib.shared_kernel.resources import QUEUES

    sqs = client("sqs", container().settings.region)
    url = sqs.get_queue_url(QueueName=QUEUES[queue].name)["QueueUrl"]
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _empty(queue: str) -> None:
    queued(queue)


def receipts() -> list[dict]:
    """Receipt requests (template payment_received) published to blast since the test began."""
    return [m for m in queued("reminders") if m.get("template") == "payment_received"]


__all__ = ["DAY", "DEC_1", "DEC_10", "NOV_20", "EMPLOYER_BILL", "BPU_BILL", "BPU_JHT_BILL",
           "partner_keys", "world", "stack", "client", "auth_header", "at", "bills",
           "onboard", "partner_factory", "bank", "service_transport", "payments_of",
           "bill_record", "queued", "receipts"]
