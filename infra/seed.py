"""Demo data for the local stack: the Blitar branch with employers, workers and BPU
participants. Idempotent: running it again changes nothing."""
from __future__ import annotations


def seed() -> str:
    from chalicelib.bootstrap import container

    container()
    seeded = []
    for name, step in _STEPS:
        seeded.append(f"{name}={step()}")
    return ", ".join(seeded) or "nothing to seed yet"


_STEPS: list = []
