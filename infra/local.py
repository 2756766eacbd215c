"""The embedded local stack: moto server as the AWS of stage `local`, `chalice local` for
HTTP, and a pump that fires schedules and feeds queue messages to their consumers
(chalice local serves HTTP only: stack-notes §1).

    python -m infra.local up                 # what `make run` calls; Ctrl-C stops all of it
    python -m infra.local tick --at 2026-12-16T08:00:00+07:00
    python -m infra.local token --role RECEIVABLES [--branch BLT] [--npp ...] [--kpj ...]
    python -m infra.local seed               # demo data, idempotent

Time: schedules run on a virtual clock kept in .local/clock.json. `tick --at T` fires every
schedule instant in (last, T] in order, each with the event `time` set to that instant,
and drains every queue after each one; the pump does the same when the wall clock passes
the last instant. The virtual clock never goes back.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Overridable so end-to-end tests run their own stack beside a developer's.
LOCAL = Path(os.environ.get("SMILE_LOCAL_DIR", ROOT / ".local"))
KEYS = LOCAL / "keys"
CLOCK_FILE = LOCAL / "clock.json"
LOCK_FILE = LOCAL / "pump.lock"
PID_FILE = LOCAL / "stack.pid"
MOTO_PORT = int(os.environ.get("SMILE_LOCAL_MOTO_PORT", "5000"))
API_PORT = int(os.environ.get("SMILE_LOCAL_API_PORT", "8000"))
ENDPOINT = f"http://127.0.0.1:{MOTO_PORT}"
# Set: the stack starts at this instant on a purely virtual clock (only `tick` moves it),
# so replays and end-to-end tests do not depend on today's date.
START_AT = os.environ.get("SMILE_LOCAL_START_AT")
UTC = timezone.utc


# --------------------------------------------------------------------------- environment
def stage_environment() -> dict[str, str]:
    """The environment of stage `local`, from .chalice/config.json plus the moto endpoint."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"]["local"].get("environment_variables", {}))
    # Key paths are not in config.json: chalice local would let them override these, and
    # the keys live wherever SMILE_LOCAL_DIR puts them.
    env.update({
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_DEFAULT_REGION": env.get("SMILE_REGION", "ap-southeast-3"),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "SMILE_PUBLIC_BASE_URL": f"http://127.0.0.1:{API_PORT}",
        "SMILE_JWT_PUBLIC_KEY_PATH": str(KEYS / "jwt_public.pem"),
        "SMILE_SECRET_ENCRYPTION_KEY_PATH": str(KEYS / "secret_encryption.key"),
        "SMILE_SIGNING_KEYS_DIR": str(KEYS / "signing"),
        "SMILE_LOCAL_DIR": str(LOCAL),
        "SMILE_LOCAL_MOTO_PORT": str(MOTO_PORT),
        "SMILE_LOCAL_API_PORT": str(API_PORT),
    })
    if START_AT:
        env["SMILE_VIRTUAL_CLOCK_FILE"] = str(CLOCK_FILE)
        env["SMILE_LOCAL_START_AT"] = START_AT
    return env


def apply_stage_environment() -> None:
    os.environ.update(stage_environment())


# --------------------------------------------------------------------------- keys
def ensure_keys() -> None:
    """Local keys are generated at set-up, never committed (.local/ is git-ignored)."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    KEYS.mkdir(parents=True, exist_ok=True)
    private_path, public_path = KEYS / "jwt_private.pem", KEYS / "jwt_public.pem"
    if not private_path.exists() or not public_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        public_path.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        os.chmod(private_path, 0o600)
    secret_key = KEYS / "secret_encryption.key"
    if not secret_key.exists():
        secret_key.write_bytes(Fernet.generate_key())
        os.chmod(secret_key, 0o600)
    # Letters: a local CA and each branch head's signing key and certificate.
    from chalicelib.receivables.letters.keys import ensure_local_signing_keys

    ensure_local_signing_keys(KEYS / "signing")


# --------------------------------------------------------------------------- clock
def read_clock() -> datetime | None:
    if CLOCK_FILE.exists():
        return datetime.fromisoformat(json.loads(CLOCK_FILE.read_text())["last"])
    return None


def write_clock(moment: datetime) -> None:
    LOCAL.mkdir(exist_ok=True)
    tmp = CLOCK_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps({"last": moment.astimezone(UTC).isoformat()}))
    tmp.replace(CLOCK_FILE)


@contextlib.contextmanager
def pump_lock():
    """Serialises the pump and `tick`, so a tick sees no message in flight elsewhere."""
    LOCAL.mkdir(exist_ok=True)
    with open(LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def schedule_instants(spec, start: datetime, end: datetime) -> list[datetime]:
    """Instants in (start, end] at which an EventBridge cron of `spec` fires (UTC)."""
    import calendar as _cal

    out = []
    day = start.astimezone(UTC).date()
    last_day = end.astimezone(UTC).date()
    while day <= last_day:
        dom = spec.day_of_month
        month_end = _cal.monthrange(day.year, day.month)[1]
        if dom == "*" or (dom == "L" and day.day == month_end) or (
                isinstance(dom, int) and day.day == dom):
            hours = range(24) if spec.hour == "*" else [int(spec.hour)]
            for hour in hours:
                moment = datetime(day.year, day.month, day.day, hour, spec.minute, tzinfo=UTC)
                if start < moment <= end:
                    out.append(moment)
        day += timedelta(days=1)
    return out


def due_firings(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    from chalicelib.shared_kernel.resources import SCHEDULES

    firings = [(moment, spec.name) for spec in SCHEDULES
               for moment in schedule_instants(spec, start, end)]
    return sorted(firings)


# --------------------------------------------------------------------------- pump
class Pump:
    """Feeds schedules and queues to the app's handlers, in this process."""

    def __init__(self, out=print):
        import app as app_module
        from chalicelib.shared_kernel.resources import QUEUES

        self.app = app_module
        self.queues = QUEUES
        self.out = out
        self._urls: dict[str, str] = {}

    def _sqs(self):
        from chalicelib.bootstrap import container
        from chalicelib.shared_kernel.aws import client

        return client("sqs", container().settings.region)

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self._sqs().get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def set_clock(self, moment: datetime | None) -> None:
        """Handlers and consumers see the instant being replayed as "now"."""
        from chalicelib.bootstrap import container

        c = container()
        if moment is None:
            c.clock = lambda: datetime.now(UTC)
        else:
            c.clock = lambda m=moment: m

    def fire(self, name: str, moment: datetime) -> None:
        handler = self.app.app.handler_map.get(name)
        if handler is None:
            self.out(f"  schedule {name}: no handler in app.py yet, skipped")
            return
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000",
            "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-3"),
            "resources": [f"arn:aws:events:local:000000000000:rule/smile-{name}"],
            "detail": {},
        }
        started = time.perf_counter()
        result = handler(event, _LambdaContext(name))
        self.out(f"  schedule {name} at {moment.isoformat()}: {_summary(result)} "
                 f"({time.perf_counter() - started:.2f}s)")

    def drain(self, max_rounds: int = 10_000) -> dict[str, int]:
        """Feed every queue to its consumer until all are empty. Failed records are made
        visible again at once, so they are retried until SQS moves them to the DLQ."""
        processed: dict[str, int] = {}
        for _ in range(max_rounds):
            worked = False
            for spec in self.queues.values():
                consumer = self.app.app.handler_map.get(spec.consumer)
                if consumer is None:
                    continue
                count = self._feed_once(spec, consumer)
                if count:
                    worked = True
                    processed[spec.name] = processed.get(spec.name, 0) + count
            if not worked:
                break
        return processed

    def _feed_once(self, spec, consumer) -> int:
        sqs = self._sqs()
        url = self._url(spec.name)
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=spec.batch_size, WaitTimeSeconds=0,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        arn = f"arn:aws:sqs:{os.environ.get('AWS_DEFAULT_REGION')}:000000000000:{spec.name}"
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {k: {"stringValue": v.get("StringValue"),
                                      "dataType": v.get("DataType", "String")}
                                  for k, v in m.get("MessageAttributes", {}).items()},
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": arn, "awsRegion": os.environ.get("AWS_DEFAULT_REGION"),
        } for m in messages]}
        failed: set[str] = set()
        try:
            result = consumer(event, _LambdaContext(spec.consumer))
            for item in (result or {}).get("batchItemFailures", []):
                failed.add(item["itemIdentifier"])
        except Exception as exc:  # the whole batch failed, as Lambda would see it
            self.out(f"  consumer {spec.consumer} raised {type(exc).__name__}: {exc}")
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def tick(self, at: datetime) -> list[str]:
        lines = []
        with pump_lock():
            last = read_clock() or (at - timedelta(seconds=1))
            if at <= last:
                self.out(f"clock is already at {last.isoformat()}; nothing to fire")
            sends = _SqsSends.watch()
            for moment, name in due_firings(last, at):
                self.set_clock(moment)
                self.fire(name, moment)
                if not sends.since_last_drain():
                    continue       # nothing new on any queue: a drain would only poll
                drained = self.drain()
                if drained:
                    self.out(f"    drained {drained}")
                lines.append(f"{moment.isoformat()} {name}")
                write_clock(moment)
            self.set_clock(max(at, last))
            drained = self.drain()
            if drained:
                self.out(f"  drained {drained}")
            write_clock(max(at, last))
        return lines


class _SqsSends:
    """Whether a drain after a firing can find anything: true for the first firing (messages
    the API sent before the tick), after any SQS send of this process since the last drain,
    and while a message sent with a delay may still become visible. A month of ticks fires the
    hourly timer release about 720 times, nearly always with nothing to release; each drain
    polled every queue over HTTP for nothing."""

    _installed: "_SqsSends | None" = None

    def __init__(self):
        self.dirty, self.delayed_until = True, 0.0

    @classmethod
    def watch(cls) -> "_SqsSends":
        """The process's tracker, reset for a new tick (installed once per process)."""
        if cls._installed is None:
            from botocore.client import BaseClient

            tracker = cls._installed = cls()
            original = BaseClient._make_api_call

            def watched(client_self, operation_name, api_params):
                if operation_name in ("SendMessage", "SendMessageBatch") and \
                        client_self.meta.service_model.service_name == "sqs":
                    tracker.sent(api_params)
                return original(client_self, operation_name, api_params)

            BaseClient._make_api_call = watched
        cls._installed.dirty, cls._installed.delayed_until = True, 0.0
        return cls._installed

    def sent(self, api_params: dict) -> None:
        self.dirty = True
        delays = [api_params.get("DelaySeconds", 0)] + [
            entry.get("DelaySeconds", 0) for entry in api_params.get("Entries", [])]
        if max(delays):
            self.delayed_until = max(self.delayed_until, time.monotonic() + max(delays) + 1)

    def since_last_drain(self) -> bool:
        due = self.dirty or time.monotonic() < self.delayed_until
        self.dirty = False
        return due


class _LambdaContext:
    def __init__(self, name: str):
        self.function_name = f"smile-local-{name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def _summary(result) -> str:
    if isinstance(result, dict):
        return json.dumps(result, default=str)[:300]
    return "done" if result is None else str(result)[:300]


def run_pump(stop: threading.Event, out=print) -> None:
    """Background loop of `up`: drain queues every second; fire schedules as the wall
    clock passes them (the virtual clock never goes back: after a tick into the future,
    wall-clock schedules wait until real time catches up)."""
    pump = Pump(out=out)
    while not stop.is_set():
        try:
            with pump_lock():
                now = datetime.now(UTC)
                last = read_clock()
                if last is None:
                    write_clock(now)
                elif now > last and not START_AT:
                    for moment, name in due_firings(last, now):
                        pump.set_clock(moment)
                        pump.fire(name, moment)
                        write_clock(moment)
                    write_clock(now)
                pump.set_clock(read_clock())
                pump.drain(max_rounds=50)
        except Exception as exc:  # keep pumping; the error is shown, not swallowed
            out(f"pump error: {type(exc).__name__}: {exc}")
        stop.wait(1.0)


# --------------------------------------------------------------------------- up
def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _check_not_running() -> None:
    if PID_FILE.exists():
        try:
            pid = int(PID_FILE.read_text().strip())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            print(f"removing stale pid file {PID_FILE} (its process is gone)")
            PID_FILE.unlink(missing_ok=True)
        except PermissionError:
            pass
        else:
            sys.exit(f"the local stack is already running (pid {pid}); stop it with Ctrl-C "
                     f"in its terminal or `kill {pid}`")
    for port, what in ((MOTO_PORT, "moto server"), (API_PORT, "API")):
        if _port_in_use(port):
            sys.exit(f"port {port} (for the {what}) is taken by another process; free it "
                     f"(`fuser -k {port}/tcp`) or set SMILE_LOCAL_"
                     f"{'MOTO' if port == MOTO_PORT else 'API'}_PORT")


def _wait_for_port(port: int, seconds: float, process=None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        if _port_in_use(port):
            return True
        time.sleep(0.1)
    return False


def up() -> None:
    _check_not_running()
    ensure_keys()
    apply_stage_environment()
    LOCAL.mkdir(exist_ok=True)
    PID_FILE.write_text(str(os.getpid()))
    if START_AT and read_clock() is None:
        write_clock(datetime.fromisoformat(START_AT))
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise

    from infra.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=MOTO_PORT, verbose=False)
    moto.start()
    chalice = None
    stop = threading.Event()
    try:
        from chalicelib.bootstrap import container
        from infra.provision import provision

        created = provision(container().settings)
        print(f"AWS (moto server)  {ENDPOINT}  tables={len(created['tables'])} "
              f"queues={len(created['queues'])} bucket={created['bucket']}")
        from infra.seed import seed

        print(f"demo data          {seed()}")
        chalice = subprocess.Popen(
            [str(Path(sys.executable).parent / "chalice"), "local", "--no-autoreload",
             "--stage", "local",
             "--host", "127.0.0.1", "--port", str(API_PORT)],
            cwd=ROOT, env={**os.environ, **stage_environment()}, start_new_session=True)
        if not _wait_for_port(API_PORT, 60, chalice):
            raise SystemExit("chalice local did not start (see its output above)")
        pump_thread = threading.Thread(target=run_pump, args=(stop,), daemon=True)
        pump_thread.start()
        print(f"API                http://127.0.0.1:{API_PORT}  (/health, /openapi.json)")
        print("schedules + queues pump running (virtual clock in .local/clock.json)")
        print("tokens             python -m infra.local token --role RECEIVABLES --branch BLT")
        print("time travel        python -m infra.local tick --at 2026-12-16T08:00:00+07:00")
        print("Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while chalice.poll() is None:
            time.sleep(0.5)
        print(f"chalice local exited with {chalice.returncode}")
    except KeyboardInterrupt:
        print("\nstopping the local stack")
    finally:
        stop.set()
        if chalice is not None and chalice.poll() is None:
            os.killpg(chalice.pid, signal.SIGTERM)
            try:
                chalice.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(chalice.pid, signal.SIGKILL)
        moto.stop()
        PID_FILE.unlink(missing_ok=True)


# --------------------------------------------------------------------------- cli
def _token(args) -> None:
    from chalicelib.shared_kernel.auth import Role, issue_local_token
    from chalicelib.shared_kernel.config import Settings

    ensure_keys()
    settings = Settings.from_environ(stage_environment())
    role = Role(args.role.upper())
    branch = args.branch
    if role in (Role.VERIFIER, Role.RECEIVABLES, Role.BRANCH_HEAD) and not branch:
        branch = "BLT"
    if role is Role.EMPLOYER and not args.npp:
        sys.exit("an EMPLOYER token needs --npp")
    if role is Role.PARTICIPANT and not args.kpj:
        sys.exit("a PARTICIPANT token needs --kpj")
    print(issue_local_token((KEYS / "jwt_private.pem").read_text(), role=role,
                            subject=args.subject or f"local-{role.value.lower()}",
                            issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                            branch=branch, npp=args.npp, kpj=args.kpj,
                            ttl_seconds=args.ttl))


def _require_running() -> None:
    if not _port_in_use(MOTO_PORT):
        sys.exit(f"the local stack is not running (nothing on {ENDPOINT}); start it with "
                 f"`make run`")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start moto server, the API and the pump (make run)")
    tick = sub.add_parser("tick", help="fire schedules up to an instant, drain queues")
    tick.add_argument("--at", required=True,
                      help="ISO 8601 instant with offset, e.g. 2026-12-16T08:00:00+07:00")
    token = sub.add_parser("token", help="print a bearer token for the local stage")
    token.add_argument("--role", required=True,
                       choices=["ADMIN", "VERIFIER", "RECEIVABLES", "BRANCH_HEAD", "EMPLOYER",
                                "PARTICIPANT"], type=str.upper)
    token.add_argument("--branch")
    token.add_argument("--npp")
    token.add_argument("--kpj")
    token.add_argument("--subject")
    token.add_argument("--ttl", type=int, default=12 * 3600)
    sub.add_parser("seed", help="load the demo branch (idempotent)")
    args = parser.parse_args(argv)

    if args.command == "up":
        up()
    elif args.command == "token":
        _token(args)
    elif args.command == "tick":
        try:
            at = datetime.fromisoformat(args.at.replace("Z", "+00:00"))
        except ValueError:
            sys.exit(f"--at {args.at!r} is not an ISO 8601 instant")
        if at.tzinfo is None:
            sys.exit("--at needs an offset, e.g. +07:00")
        _require_running()
        apply_stage_environment()
        print(f"tick to {at.isoformat()}")
        fired = Pump().tick(at)
        print(f"fired {len(fired)} schedule(s); clock now {read_clock().isoformat()}")
    elif args.command == "seed":
        _require_running()
        apply_stage_environment()
        from infra.seed import seed

        print(seed())


if __name__ == "__main__":
    main()
