"""End-to-end: a real local stack (`python -m infra.local up`: moto server, chalice local,
pump) on free ports with its own state directory, driven over HTTP."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStack:
    def __init__(self, state_dir: Path):
        self.moto_port, self.api_port = _free_port(), _free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("AWS_") and not k.startswith("SMILE_")}
        self.env.update({"SMILE_LOCAL_DIR": str(state_dir),
                         "SMILE_LOCAL_MOTO_PORT": str(self.moto_port),
                         "SMILE_LOCAL_API_PORT": str(self.api_port),
                         # a virtual clock from a fixed instant: results never depend
                         # on the day the suite runs
                         "SMILE_LOCAL_START_AT": "2026-11-20T09:00:00+07:00",
                         "PYTHONUNBUFFERED": "1"})
        self.log = state_dir / "stack.log"
        self.process = None

    def start(self, timeout: float = 120) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "up"], cwd=ROOT, env=self.env,
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local stack exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"local stack did not come up: {self.log.read_text()[-3000:]}")

    def cli(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "infra.local", *args], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"infra.local {' '.join(args)} failed:\n{result.stdout}\n"
                               f"{result.stderr}")
        return result.stdout

    def token(self, role: str, **binding: str) -> str:
        args = ["token", "--role", role]
        for key, value in binding.items():
            args += [f"--{key}", value]
        return self.cli(*args).strip()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    """One stack per test module: each module owns its virtual clock and data."""
    stack = LocalStack(tmp_path_factory.mktemp("local-stack"))
    stack.start()
    yield stack
    stack.stop()
