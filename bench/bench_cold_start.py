"""Cold start: app.py's import time against the floor `import chalice, boto3, pynamodb`,
measured in the same run, with warm .pyc files and without them (as in a fresh Lambda zip).

    .venv/bin/python bench/bench_cold_start.py [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import chalice, boto3, pynamodb"
APP = "import app"


def one(code: str, cold: bool) -> float:
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-3"}
    if cold:
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="pyc-")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    base = statistics.median(one("pass", False) for _ in range(runs))
    for label, cold in (("warm .pyc", False), ("no .pyc", True)):
        floor = statistics.median(one(FLOOR, cold) for _ in range(runs)) - base
        app = statistics.median(one(APP, cold) for _ in range(runs)) - base
        print(f"{label:10s} floor {floor * 1000:7.1f} ms   app {app * 1000:7.1f} ms   "
              f"ratio {app / floor:5.2f}")
    print(f"(interpreter start {base * 1000:.1f} ms subtracted; median of {runs} runs; "
          f"python {sys.version.split()[0]})")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
