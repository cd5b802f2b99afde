"""Fit the "I don't know" gate and show how it does on corpora it was not fitted on.

    python3 bench/answer_quality.py --dump cases.jsonl
    python3 bench/fit_gate.py cases.jsonl --train all
    python3 bench/fit_gate.py cases.jsonl --train python-faq

`--train all` fits the weights on every corpus, and shows each corpus with the weights
fitted on all the others (leave one corpus out), so no figure comes from the corpus it
was fitted on. `--train NAME` fits on that corpus alone and shows the others.

Each line of the dump is one case: the gate's inputs (`similarity`, `coverage`, and
`standing`, logged but not used), and whether the answer Trellis would give with no gate
at all was right (`verdict` "right"). A logistic regression (plain Newton steps, L2 0.01) learns
P(right | inputs) on the training corpus only. It prints the weights to put in
`app/answering/gate.py` and, for each corpus, answered-right / answered-wrong /
wrongly-refused at a range of thresholds, so the default can be chosen where wrong answers
stay rarer than refusals.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

FEATURES = ("similarity", "coverage", "judged")
"""What app/answering/gate.py weighs (`--features similarity,coverage` fits the gate without
the judge); `standing` is in the dump too, but grows with corpus size, so it is not used
(see the gate's docstring)."""
THRESHOLDS = (0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def matrix(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    # A case with nothing to quote has no judged score; the gate refuses it whatever the
    # weights (`outcomes`), and it is not fitted on.
    x = np.array([[1.0, *(r.get(f) or 0.0 for f in FEATURES)] for r in rows])
    y = np.array([1.0 if r["verdict"] == "right" else 0.0 for r in rows])
    return x, y


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01) -> np.ndarray:
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + l2 * np.r_[0, w[1:]]
        hessian = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        w -= np.linalg.solve(hessian, gradient)
    return w


def fitted(rows: list[dict]) -> list[dict]:
    """The cases the weights are fitted on: those with something to quote."""
    return [r for r in rows if r["coverage"] > 0.0]


def outcomes(rows: list[dict], w: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """Shares of the cases: answered right, answered wrong, wrongly refused."""
    x, _ = matrix(rows)
    p = 1 / (1 + np.exp(-x @ w))
    right = wrong = refused = 0
    for row, prob in zip(rows, p, strict=True):
        answered = row["coverage"] > 0.0 and prob >= threshold
        if answered and row["verdict"] == "right":
            right += 1
        elif answered and row["verdict"] != "right":
            wrong += 1
        elif not answered and row["expect"] == "answered":
            refused += 1
    n = len(rows)
    return right / n, wrong / n, refused / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument(
        "--train", required=True, help="the corpus the weights are fitted on, or 'all'"
    )
    parser.add_argument("--features", help="comma-separated inputs to fit (default: the gate's)")
    args = parser.parse_args(argv)
    global FEATURES
    if args.features:
        FEATURES = tuple(args.features.split(","))
    rows = [
        r for r in load(args.dump) if r["expect"] in ("answered", "no_answer") and "similarity" in r
    ]
    by_corpus: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_corpus[row["corpus"]].append(row)
    everyone = args.train == "all"
    w = fit(*matrix(fitted(rows if everyone else by_corpus[args.train])))
    print(
        "WEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")  # intercept, " + ", ".join(FEATURES)
    )
    summed = np.zeros((len(THRESHOLDS), 3))
    for name, group in by_corpus.items():
        shown = w
        if everyone:
            others = [r for r in rows if r["corpus"] != name]
            shown, mark = fit(*matrix(fitted(others))), " (weights fitted on the other corpora)"
        else:
            mark = " (fitted here)" if name == args.train else ""
        print(f"\n{name}{mark}: {len(group)} cases")
        for i, t in enumerate(THRESHOLDS):
            right, wrong, refused = outcomes(group, shown, t)
            summed[i] += np.array([right, wrong, refused]) * len(group)
            print(
                f"  t={t:.2f}  right {right:.3f}  wrong {wrong:.3f}  wrongly refused {refused:.3f}"
            )
    if everyone:
        print(f"\nheld out, summed over all {len(rows)} cases (counts):")
        for t, (right, wrong, refused) in zip(THRESHOLDS, summed, strict=True):
            print(
                f"  t={t:.2f}  right {right:.0f}  wrong {wrong:.0f}  wrongly refused {refused:.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
