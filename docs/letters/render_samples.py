"""Regenerates the sample letter images in this folder for human review.

    python docs/letters/render_samples.py [--dpi 100] [--out docs/letters] [--pdf]

Renders the demo letters of chalicelib/receivables/letters/samples.py (no AWS, no app, no
database) and rasterises them with poppler's pdftoppm (Debian: apt-get install poppler-utils;
fonts-urw-base35 gives Helvetica-compatible glyphs so the images match what viewers show).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from chalicelib.receivables.letters.model import LetterType  # noqa: E402
from chalicelib.receivables.letters.render import render_letter_pdf  # noqa: E402
from chalicelib.receivables.letters.samples import sample_letter  # noqa: E402

# letter -> [(image name, page number)]
SAMPLES = [
    (lambda: sample_letter(LetterType.REMINDER), [("reminder", 1)]),
    (lambda: sample_letter(LetterType.SP1), [("sp1", 1)]),
    (lambda: sample_letter(LetterType.SP2), [("sp2", 1), ("sp2-page2", 2)]),
    (lambda: sample_letter(LetterType.LEGAL_HANDOVER),
     [("handover-kejaksaan", 1), ("handover-kejaksaan-statement", 2)]),
    (lambda: sample_letter(LetterType.LEGAL_HANDOVER, target="KPKNL"),
     [("handover-kpknl", 1), ("handover-kpknl-statement", 2)]),
]

def rasterise(pdf: bytes, page: int, target: Path, dpi: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "letter.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                        "-singlefile", str(source), str(target.with_suffix(""))], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--pdf", action="store_true", help="keep the PDFs next to the images")
    args = parser.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: apt-get install -y poppler-utils", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for build, images in SAMPLES:
        pdf = render_letter_pdf(build())
        if args.pdf:
            (args.out / f"{images[0][0]}.pdf").write_bytes(pdf)
        for name, page in images:
            target = args.out / f"{name}.png"
            rasterise(pdf, page, target, args.dpi)
            print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
