"""Which inputs are labels, from where they are used (backcalc/language/labels.py)."""

from __future__ import annotations

import pytest

from backcalc.errors import InputError
from backcalc.language.labels import integer_inputs
from backcalc.language.parser import parse
from backcalc.language.shapes import infer


def _labels(text: str, **shapes: tuple[int, ...]) -> list[str]:
    tree = parse(text)
    return integer_inputs(tree, infer(tree, shapes))


def test_labels_are_found_where_they_are_used():
    assert _labels("cross_entropy(z, y) + nll_loss(z, t)", z=(2, 3), y=(2,), t=(2,)) == ["y", "t"]
    assert _labels("sum(embedding(y, W)) + sum(one_hot(k, 4) @ W)", y=(3,), W=(4, 2), k=()) == ["y", "k"]


def test_a_target_of_the_scores_shape_is_probabilities_not_labels():
    assert _labels("cross_entropy(z, p)", z=(2, 3), p=(2, 3)) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cross_entropy(z, y) * y", "and as a number in"),
        ("cross_entropy(z, exp(y))", "exp(y) is used as an index"),
        ("cross_entropy(z, 1)", "1 is used as an index"),
    ],
)
def test_other_integer_arguments_are_refused(text, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        _labels(text, z=(3,), y=())
