"""How many of a PDF's paragraphs have words run together, read by pypdf alone and with
PDFium's spacing (app/knowledge/formats/pdf.py `_spaced`), and what the reading costs.

    python3 bench/pdf_words.py FILE.pdf [FILE.pdf ...]

Prints, per file, its paragraphs and headings, how many hold a run of 25 letters or more
without a space (no English word is that long), pypdf alone against with PDFium, and the
seconds each reading took (median of three).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

from app.knowledge.formats import pdf

GLUED = re.compile(r"[^\W\d_]{25,}")


def read(raw: bytes, name: str, *, pdfium: bool) -> tuple[list[str], float]:
    times, texts = [], []
    for _ in range(3):
        started = time.perf_counter()
        if pdfium:
            _, blocks = pdf.pdf_blocks(raw, name)
        else:
            with mock.patch.object(pdf, "_spaced", lambda raw, pages: pages):
                _, blocks = pdf.pdf_blocks(raw, name)
        times.append(time.perf_counter() - started)
        texts = [b.text for b in blocks]
    return texts, statistics.median(times)


def main(paths: list[str]) -> None:
    print(
        f"{'file':40} {'blocks':>7} {'glued, pypdf':>13} {'with PDFium':>12} {'s, pypdf':>9} {'s, both':>8}"
    )
    for path in paths:
        raw = Path(path).read_bytes()
        alone, alone_s = read(raw, path, pdfium=False)
        spaced, spaced_s = read(raw, path, pdfium=True)
        glued = sum(1 for t in alone if GLUED.search(t))
        left = sum(1 for t in spaced if GLUED.search(t))
        print(
            f"{Path(path).name[:40]:40} {len(spaced):>7} {glued:>13} {left:>12} "
            f"{alone_s:>9.2f} {spaced_s:>8.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
