"""The speed of the code ``--emit`` prints, as ratios against the same gradient written by hand in NumPy
and in torch, run in the same process, interleaved and repeated (a ratio is of runs made side by side).
Prints numbers; asserts nothing. The emitted code is the formulas backcalc shows, one assignment per
shared subexpression: it should be within a small factor of the hand-written code.

    .venv/bin/python benchmarks/emitted_code.py [--repeat N] [--size N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from backcalc.analyses.emit import emit_gradient
from backcalc.analyses.problem import prepare


def _numpy_least_squares(W, x, y):  # noqa: N803  (the inputs by their names)
    r = W @ x - y
    return {"W": 2 * np.outer(r, x), "x": 2 * (W.T @ r), "y": -2 * r}


def _torch_least_squares(W, x, y):  # noqa: N803
    r = W @ x - y
    return {"W": 2 * torch.outer(r, x), "x": 2 * (W.T @ r), "y": -2 * r}


def _numpy_network(W1, W2, x):  # noqa: N803
    h = np.maximum(W1 @ x, 0.0)
    s = 0.5 * (1.0 + np.tanh(0.5 * (W2 @ h)))
    g = s * (1 - s)
    dh = (W2.T @ g) * (W1 @ x > 0)
    return {"W1": np.outer(dh, x), "W2": np.outer(g, h), "x": W1.T @ dh}


def _torch_network(W1, W2, x):  # noqa: N803
    h = torch.relu(W1 @ x)
    s = torch.sigmoid(W2 @ h)
    g = s * (1 - s)
    dh = (W2.T @ g) * (W1 @ x > 0)
    return {"W1": torch.outer(dh, x), "W2": torch.outer(g, h), "x": W1.T @ dh}


def _best_and_median(function, inputs, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(**inputs)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--size", type=int, default=1000)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    n = options.size
    cases = {
        "sum((W@x - y)**2)": (
            {"W": rng.normal(size=(n, n)), "x": rng.normal(size=n), "y": rng.normal(size=n)},
            {"numpy": _numpy_least_squares, "torch": _torch_least_squares},
        ),
        "sum(sigmoid(W2@relu(W1@x)))": (
            {"W1": rng.normal(size=(n, n)) / n, "W2": rng.normal(size=(n, n)) / n, "x": rng.normal(size=n)},
            {"numpy": _numpy_network, "torch": _torch_network},
        ),
    }
    for expression, (inputs, by_hand) in cases.items():
        problem = prepare(expression, inputs, None, "float64")
        for target, hand in by_hand.items():
            namespace: dict = {}
            exec(emit_gradient(problem, target), namespace)
            given = inputs if target == "numpy" else {k: torch.tensor(v) for k, v in inputs.items()}
            emitted, written = [], []
            for _ in range(3):  # interleaved rounds
                emitted.append(_best_and_median(namespace["gradient"], given, options.repeat))
                written.append(_best_and_median(hand, given, options.repeat))
            best_ratio = min(e[0] for e in emitted) / min(w[0] for w in written)
            median_ratio = statistics.median(e[1] for e in emitted) / statistics.median(w[1] for w in written)
            print(f"{expression:32} {target:6} emitted/by hand: best {best_ratio:.2f}x, median {median_ratio:.2f}x")


if __name__ == "__main__":
    main()
