"""The backward pass as it is taught: the computational graph of an expression (:mod:`.graph`) and
the chain rule applied edge by edge from the loss down, in float64 (:mod:`.chain_rule`), which
``explain`` shows node by node.

Place in the flow: after both evaluators, reading the same tree a third way.

May import: :mod:`backcalc.errors`, :mod:`backcalc.limits`, :mod:`backcalc.formats`, :mod:`backcalc.ops`,
:mod:`backcalc.language`, :mod:`backcalc.inputs`, :mod:`backcalc.numeric`, :mod:`backcalc.symbolic`.
"""
