"""Lines of PyTorch parse as the language's own calls (issue 23, point 7): torch's methods, the
``torch.`` and ``F.`` prefixes, ``.values`` of max and min, the sizes of ``view``; anything else is one
clear error at its spot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backcalc.errors import ParseError
from backcalc.language.parser import parse
from backcalc.language.program import parse_program
from backcalc.ops import torch_spellings

PASTED = [
    # Karpathy's backprop ninja, line by line, and what each line is in the language.
    ("logits.max(1, keepdim=True).values", "max(logits, 1, keepdim=True)"),
    ("logits - logit_maxes", "logits - logit_maxes"),
    ("norm_logits.exp()", "exp(norm_logits)"),
    ("counts.sum(1, keepdims=True)", "sum(counts, 1, keepdim=True)"),
    ("counts_sum**-1", "counts_sum**-1"),
    ("probs.log()", "log(probs)"),
    ("-logprobs[range(4), Yb].mean()", "-mean(logprobs[range(4), Yb])"),
    ("emb.view(emb.shape[0], -1)", "flatten(emb, 1)"),
    ("emb.view(emb.size(0), emb.size(1), -1)", "flatten(emb, 2)"),
    ("1/n*hprebn.sum(0, keepdim=True)", "1/n*sum(hprebn, 0, keepdim=True)"),
    ("1/(n-1)*(bndiff2).sum(0, keepdim=True)", "1/(n - 1)*sum(bndiff2, 0, keepdim=True)"),
    ("(bnvar + 1e-5)**-0.5", "(bnvar + 1e-05)**-0.5"),
    ("bngain * bnraw + bnbias", "bngain*bnraw + bnbias"),
    ("torch.tanh(hpreact)", "tanh(hpreact)"),
    ("F.cross_entropy(logits, Yb)", "cross_entropy(logits, Yb)"),
    ("torch.nn.functional.relu(x)", "relu(x)"),
    ("nn.functional.gelu(x, approximate='tanh')", 'gelu(x, approximate="tanh")'),
    # Methods, with torch's conventions for their arguments.
    ("x.pow(2)", "x**2"),
    ("(x+1).pow(3)", "(x + 1)**3"),
    ("x.t()", "x.T"),
    ("x.t() @ y", "x.T@y"),
    ("x.unsqueeze(1)", "unsqueeze(x, 1)"),
    ("x.reshape(2, -1)", "reshape(x, (2, -1))"),
    ("x.reshape((2, -1))", "reshape(x, (2, -1))"),
    ("x.view(-1)", "reshape(x)"),
    ("x.permute(1, 0)", "permute(x, (1, 0))"),
    ("x.permute((2, 0, 1))", "permute(x, (2, 0, 1))"),
    ("x.transpose(0, 1)", "swapdims(x)"),
    ("x.transpose(1, 2)", "swapdims(x, 1, 2)"),
    ("x.abs()", "abs(x)"),
    ("x.sqrt()", "sqrt(x)"),
    ("x.clamp(0, 1)", "clamp(x, 0, 1)"),
    ("x.clamp(min=lo, max=hi)", "clamp(x, lo, hi)"),
    ("torch.clamp(x, -1, max=1)", "clamp(x, -1, 1)"),
    ("x.softmax(dim=1)", "softmax(x, 1)"),
    ("x.sum()", "sum(x)"),
    ("x.sum(dim=0)", "sum(x, 0)"),
    ("x.max()", "max(x)"),
    ("x.min(dim=0).values", "min(x, 0)"),
    ("torch.max(x, 1).values", "max(x, 1)"),
    ("x.amax(1, keepdim=True)", "amax(x, 1, keepdim=True)"),
    ("x.var(0, correction=0)", "var(x, 0, correction=0)"),
    ("x.exp().sum(1).log()", "log(sum(exp(x), 1))"),
    ("x.T.exp()", "exp(x.T)"),
    ("x[0].exp()", "exp(x[0])"),
    ("x.matmul(W) + b", "x@W + b"),
    ("x.mul(y).add(1)", "x*y + 1"),
    # torch's functions
    ("torch.sin(x)", "sin(x)"),
    ("torch.matmul(W, x)", "W@x"),
    ("torch.pow(x, 2)", "x**2"),
    ("torch.transpose(x, 0, 1)", "swapdims(x)"),
    ("torch.sigmoid(x) * (1 - torch.sigmoid(x))", "sigmoid(x)*(1 - sigmoid(x))"),
    ("torch.cat([a, b], 1)", "cat([a, b], 1)"),
    ("torch.sum(x, 0, keepdims=True)", "sum(x, 0, keepdim=True)"),
    ("torch.reshape(x, (2, -1))", "reshape(x, (2, -1))"),
    ("torch.where(x > 0, x, 0)", "where(x > 0, x, 0)"),
    ("F.softmax(z, dim=0)", "softmax(z, 0)"),
    ("F.leaky_relu(x, 0.1)", "leaky_relu(x, 0.1)"),
    ('F.mse_loss(x, y, reduction="sum")', 'mse_loss(x, y, reduction="sum")'),
    ("F.one_hot(y, 5)", "one_hot(y, 5)"),
    # A tensor called F or torch is still a name: F.T, F.sum(1).
    ("F.T", "F.T"),
    ("F.sum(1)", "sum(F, 1)"),
    ("nn.exp()", "exp(nn)"),
    ("torch*2", "torch*2"),
]


@pytest.mark.parametrize(("pasted", "language"), PASTED)
def test_a_pasted_line_is_the_languages_call(pasted, language):
    tree = parse(pasted)
    assert str(tree) == language
    assert parse(language) == tree  # the printed text parses back to the same tree
    assert (tree.start, tree.end) == (0, len(pasted))  # the node spans the whole paste


@pytest.mark.parametrize(
    ("pasted", "words", "column"),
    [
        ("x.grad", "attribute access is not allowed: .grad", 2),
        ("x.__class__", "attribute access is not allowed: .__class__", 2),
        ("x[0].__class__", "attribute access is not allowed", 5),
        ("x.data", "attribute access is not allowed: .data", 2),
        ("x.exp", "attribute access is not allowed: .exp", 2),
        ("x.numpy()", "unknown method .numpy()", 3),
        ("x.item()", "unknown method .item()", 3),
        ("x.backward()", "unknown method .backward()", 3),
        ("x.exp().__class__.__name__", "attribute access is not allowed: .__class__", 8),
        ("x.", "expected a method's name after '.'", 2),
        ("torch.load(f)", "torch.load is not a function backcalc knows", 1),
        ("torch.zeros_like(x)", "torch.zeros_like is not a function backcalc knows", 1),
        ("torch.linalg.det(x)", "torch.linalg is not a module backcalc reads", 1),
        ("F.zeros_like(x)", "F.zeros_like is not a function backcalc knows", 1),
        ("nn.Linear(3, 4)", "nn.Linear is not a function backcalc knows", 1),
        ("torch.exp", "attribute access is not allowed: torch.exp", 1),
        ("torch.", "expected a function's name after 'torch.'", 6),
        ("x.max(1)", "gives torch's (values, indices): write .values", 3),
        ("x.max(1)[0]", "gives torch's (values, indices): write .values", 3),
        ("x.max(1).indices", "indices of max() are whole numbers with no gradient", 10),
        ("x.values", ".values is only for torch's max and min", 3),
        ("x.sum(1).values", ".values is only for torch's max and min", 10),
        ("x.shape[0]", "x.shape is only for the sizes of view and reshape", 3),
        ("x.view(n, -1)", "n is not known when the line is read (a step n = 4 or an input n=4 is)", 8),
        ("x.view(y.shape[0], -1)", "y.shape is not x's", 8),
        ("(x+1).view(x.shape[0], -1)", "x.shape is not the tensor's", 12),
        ("x.view(x.shape[0], 3)", "flatten(x, k)", 3),
        ("x.view(x.shape[1], -1)", "flatten(x, k)", 3),
        ("x.view()", "view() needs its sizes", 3),
        ("x.view(2.5)", "the sizes of view() are integers", 8),
        ("x.permute(x.shape[0])", "the dimensions of permute() are integers", 11),
        ("x.view(" + "1, " * 40 + "1)", "view() takes at most 32 integers", 102),
        ("x.clamp(min=0)", "clamp() needs both bounds", 3),
        ("F.softmax(x)", "torch's softmax() needs its dimension here", 3),
        ("x.log_softmax()", "torch's log_softmax() needs its dimension here", 3),
        ("F.one_hot(y, 5).float()", ".float() changes the dtype", 17),
        ("x.clamp(min=0, min=1)", "min= and max=, once each", 16),
        ("x.exp(1)", "exp() takes 1 argument", 7),
        ("x.sum(1, 2)", "takes 1 or 2 arguments", 8),
    ],
)
def test_anything_else_is_one_clear_error_at_its_spot(pasted, words, column):
    with pytest.raises(ParseError) as caught:
        parse(pasted)
    assert words in caught.value.message
    assert caught.value.start + 1 == column
    assert "\n" not in caught.value.one_line()


def test_huge_sizes_and_deep_chains_stay_bounded():
    assert str(parse("x.view(99999999999999999999, -1)")) == "reshape(x, (99999999999999999999, -1))"
    with pytest.raises(ParseError, match="number literal is longer"):
        parse("x.view(" + "9" * 400 + ")")
    with pytest.raises(ParseError, match="nested too deeply"):
        parse("x" + ".exp()" * 200)
    with pytest.raises(ParseError, match="nested too deeply"):
        parse("x" + ".max(0).values" * 200)


def test_a_step_that_is_an_integer_is_known_to_range_and_view():
    program = parse_program("n = 4\nembcat = emb.view(n, -1)\nloss = -embcat[range(n), Yb].mean()*1/n")
    assert program.text() == "n = 4; embcat = reshape(emb, (4, -1)); loss = -mean(embcat[range(4), Yb])*1/n"
    with pytest.raises(ParseError, match="range"):
        parse_program("n = 4.5\nloss = x[range(n), y]")


def test_an_input_given_a_whole_number_is_known_to_range_and_view():
    program = parse_program("a = x.view(n, -1)\nloss = a[range(n), y].sum()/n", {"n": 2, "m": 3})
    assert program.text() == "a = reshape(x, (2, -1)); loss = sum(a[range(2), y])/n"
    assert program.integers == ("n",)  # m is not read
    assert parse_program("x[range(n), y]", {"n": 2}).integers == ("n",)
    assert parse_program("n = 3; loss = x[range(n), y]", {"n": 2}).text() == "n = 3; loss = x[range(3), y]"


def test_every_spelling_calls_a_record():
    for module in (torch_spellings.METHOD, torch_spellings.TORCH, torch_spellings.FUNCTIONAL):
        for name in torch_spellings.spellings(module):
            assert torch_spellings.spelled(module, name) is not None


METHODS = [
    "exp()",
    "log()",
    "tanh()",
    "sum(0)",
    "sum(1, keepdim=True)",
    "mean()",
    "max(1).values",
    "t()",
    "pow(2)",
    "view(-1)",
    "softmax(dim=1)",
]


@given(st.lists(st.sampled_from(METHODS), min_size=1, max_size=6))
def test_chained_methods_print_to_text_that_parses_back(chain):
    tree = parse("x." + ".".join(chain))
    assert parse(str(tree)) == tree
