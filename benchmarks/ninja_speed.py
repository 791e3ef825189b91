"""Issue 23's speed target: the "backprop ninja" exercise (Karpathy's makemore part 4: batch 32, block 3,
embedding 10, hidden 64, 27 classes, batch norm and cross-entropy written out step by step) through
`backcalc grad` and `backcalc explain`, each within 2x of a hand-written torch script doing the same job,
start-up included. Prints numbers; asserts nothing (timings never go in tests).

    .venv/bin/python benchmarks/ninja_speed.py [--repeat N]

The hand-written script reads the same .npy files, runs the forward pass with `retain_grad` on every
step, calls `loss.backward()` and prints the loss and every gradient as JSON: what a student writes to
check the exercise. backcalc does more (the backprop formulas in matrix notation, evaluated with NumPy and
compared with torch's, every step's verdict), so the ratio is the price of that check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BACKCALC = [str(BIN / "backcalc")]
N, VOCAB, BLOCK, EMBED, HIDDEN = 32, 27, 3, 10, 64
TARGET = 2.0

# The exercise's forward pass as the notebook writes it, pasted line by line (n a step of the program).
PROGRAM = f"""\
n = {N}
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hprebn = embcat @ W1 + b1
bnmeani = 1/n*hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5)**-0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()
"""

HAND_WRITTEN = r"""
import json, sys
import numpy as np
import torch

folder = sys.argv[1]
load = lambda name: torch.tensor(np.load(f"{folder}/{name}.npy", allow_pickle=False))
names = ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"]
C, W1, b1, W2, b2, bngain, bnbias = params = [load(name).requires_grad_() for name in names]
Xb, Yb = load("Xb"), load("Yb")
n = Xb.shape[0]
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hprebn = embcat @ W1 + b1
bnmeani = 1/n*hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5)**-0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()
steps = [emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h, logits,
         logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs]
for t in steps:
    t.retain_grad()
loss.backward()
out = {"loss": loss.item(), "gradients": {k: v.grad.tolist() for k, v in zip(names, params)},
       "steps": [t.grad.tolist() for t in steps]}
print(json.dumps(out))
"""


def write_inputs(folder: Path) -> list[str]:
    """The exercise's parameters and one batch, as .npy files; the NAME=@FILE arguments for backcalc."""
    import numpy as np

    rng = np.random.default_rng(42)
    values = {
        "C": rng.normal(size=(VOCAB, EMBED)),
        "W1": rng.normal(size=(BLOCK * EMBED, HIDDEN)) * (5 / 3) / (BLOCK * EMBED) ** 0.5,
        "b1": rng.normal(size=HIDDEN) * 0.1,
        "W2": rng.normal(size=(HIDDEN, VOCAB)) * 0.1,
        "b2": rng.normal(size=VOCAB) * 0.1,
        "bngain": rng.normal(size=(1, HIDDEN)) * 0.1 + 1.0,
        "bnbias": rng.normal(size=(1, HIDDEN)) * 0.1,
        "Xb": rng.integers(0, VOCAB, size=(N, BLOCK)),
        "Yb": rng.integers(0, VOCAB, size=N),
    }
    for name, value in values.items():
        np.save(folder / f"{name}.npy", value)
    return [f"{name}=@{folder / name}.npy" for name in values]


def run(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return elapsed, done.stdout


def measure(command: list[str], repeat: int) -> tuple[float, str]:
    runs = [run(command) for _ in range(repeat)]
    return statistics.median(seconds for seconds, _ in runs), runs[-1][1]


def largest_difference(ours: dict, theirs: dict) -> float:
    """The largest difference between backcalc's symbolic gradients and the hand-written script's."""
    import numpy as np

    return max(
        float(np.max(np.abs(np.asarray(ours["gradients"][name]["symbolic"]) - np.asarray(value))))
        for name, value in theirs["gradients"].items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = write_inputs(folder)
        (folder / "ninja.bc").write_text(PROGRAM)
        (folder / "hand.py").write_text(HAND_WRITTEN)
        env_note = f"{os.cpu_count()} cores, median of {args.repeat}"
        base, hand_out = measure([sys.executable, str(folder / "hand.py"), str(folder)], args.repeat)
        print(f"ninja exercise: batch {N}, hidden {HIDDEN}, {VOCAB} classes, 20 steps, float64 ({env_note})")
        print(f"  {'hand-written torch script (retain_grad, backward)':<62} {base:>7.3f} s")
        for command in ("grad", "explain"):
            line = [*BACKCALC, command, f"@{folder / 'ninja.bc'}", *inputs, "--dtype", "float64", "--json"]
            ours, out = measure(line, args.repeat)
            data = json.loads(out)
            extra = ""
            if command == "grad":
                extra = f", max |backcalc - hand| {largest_difference(data, json.loads(hand_out)):.1e}"
            print(f"  {'backcalc ' + command + ' (verdict ' + data['verdict'] + extra + ')':<62} {ours:>7.3f} s")
            print(f"  {'  ratio':<62} {ours / base:>7.2f}x   (target <= {TARGET}x)")


if __name__ == "__main__":
    main()
