"""The operation registry: one record per operation of backcalc's language, holding everything the
package knows about it (see :mod:`.record` for what a record holds). The parser, the cost guard, shape
inference, the printers and the three evaluators are generic walkers that look each node's operation
up here; no other module names an operation.

The records: :mod:`.arithmetic` (operators), :mod:`.functions` (element-wise functions),
:mod:`.softmax` (logsumexp, softmax, log_softmax), :mod:`.norms` (norm and its ord),
:mod:`.activations` (the activation functions of a network course, with their options),
:mod:`.tensors` (operations that mix elements), :mod:`.reductions` (max, min, var, std, prod, cumsum),
:mod:`.losses` (torch.nn.functional's losses of a float target), :mod:`.linalg` (square matrices:
trace, det, inv, solve, diag, eye), :mod:`.kron` (the Kronecker product and the block operations of
its gradient), :mod:`.classes` (integer class labels: one_hot, embedding and the losses of labels),
:mod:`.subscripts` (``x[...]``, its backward ``put_at``, and ``arange``), :mod:`.shaping` (reshape,
flatten, squeeze, permute, swapdims), :mod:`.comparisons` (``<``, ``<=``, ``>``, ``>=`` as masks, and
``where``), :mod:`.layers` (linear, layer_norm, batch_norm, dropout), :mod:`.convolution` (conv1d,
conv2d and the helpers of their gradients) and :mod:`.pooling` (max_pool2d, avg_pool2d and theirs).
:mod:`.torch_spellings` says which PyTorch method or function (``x.view``, ``F.relu``) calls which record.

Place in the flow: the floor that every walker stands on (the parser, the evaluators, the printers
look their operations up here). :mod:`.sympy_functions` holds the sympy classes the records use.

May import: :mod:`backcalc.errors`, :mod:`backcalc.limits`; sympy, torch and NumPy only inside the
implementations, when they run.
"""

from __future__ import annotations

from . import arithmetic, functions, norms, softmax, tensors  # noqa: F401  (importing them registers the records)

# isort: split
from . import activations, losses, reductions  # noqa: F401  (registered last: the list of known functions keeps its order)

# isort: split
from . import classes, comparisons, kron, linalg, shaping, subscripts  # noqa: F401  (labels, masks, reshaping, subscripts)

# isort: split
from . import convolution, layers, pooling  # noqa: F401  (the layers of a network)

# isort: split
from . import torch_spellings  # noqa: F401  (torch's spellings of them all)
from .record import (
    ATOM,
    Growth,
    Op,
    Option,
    OptionError,
    Options,
    OptionValue,
    OutOfRangeError,
    Shape,
    ShapeMisfitError,
    Syntax,
    all_ops,
    closest_function,
    constants,
    function,
    function_names,
    get,
    infix,
    infix_at,
    is_constant_name,
    option_text,
    postfix,
    prefix,
    reserved_names,
)

#: Precedence of the operators that bind like a sum, a product, a sign and a power.
SUM, PRODUCT, SIGN, POWER = (get(name).precedence for name in arithmetic.LEVELS)

__all__ = [
    "ATOM",
    "POWER",
    "PRODUCT",
    "SIGN",
    "SUM",
    "Growth",
    "Op",
    "Option",
    "OptionError",
    "OptionValue",
    "Options",
    "OutOfRangeError",
    "Shape",
    "ShapeMisfitError",
    "Syntax",
    "all_ops",
    "closest_function",
    "constants",
    "function",
    "function_names",
    "get",
    "infix",
    "infix_at",
    "is_constant_name",
    "option_text",
    "postfix",
    "prefix",
    "reserved_names",
]
