"""app.py's import time is every Lambda's cold start: it must not pull heavy libraries."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("fpdf", "pyhanko", "jinja2", "segno", "num2words", "PIL", "pypdf", "aws_xray_sdk",
         "moto", "babel", "holidays", "cryptography.x509")


def test_importing_app_pulls_no_pdf_signing_template_or_test_library():
    code = ("import sys, json, app; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env={"AWS_DEFAULT_REGION": "ap-southeast-3",
                                            "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_importing_app_builds_no_aws_client(monkeypatch):
    """No region at import time must not matter (stack-notes §5)."""
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT,
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                            timeout=60)
    assert result.returncode == 0, result.stderr
