"""CDK app: one SMILE stage per synth, chosen with `-c stage=<stage>` (default dev).

    cd infra/cdk && cdk deploy -c stage=dev -c cognito_user_pool_id=... -c cognito_app_client_id=...

Also runs without the CDK CLI (a synth into infra/cdk/cdk.out, nothing deployed):

    python -m infra.cdk.app -c stage=dev -c cognito_user_pool_id=... -c cognito_app_client_id=...

cdk.json's command runs this file as a script from infra/cdk; both ways work.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Run as a script from infra/cdk, this directory is sys.path[0] and this file would be found
# as the top-level module `app` instead of the Chalice app: put the project first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
# jsii prints a banner on every run on Node 20; the deployment notes say which Node to use.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from infra.cdk.stack import SmileStack  # noqa: E402


def _context_from_argv(argv: list[str]) -> dict[str, str]:
    """`-c key=value` pairs, as the CDK CLI takes them (the CLI itself passes its context in
    CDK_CONTEXT_JSON, which cdk.App reads)."""
    context, args = {}, list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-c", "--context") and args:
            key, _, value = args.pop(0).partition("=")
            context[key] = value
    return context


def build(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App(outdir=os.environ.get("CDK_OUTDIR") or str(HERE / "cdk.out"),
                         context=_context_from_argv(sys.argv[1:]))
    stage = app.node.try_get_context("stage") or "dev"
    SmileStack(app, stage)
    return app


def main() -> None:
    build().synth()


if __name__ == "__main__":
    main()
