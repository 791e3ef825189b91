"""The numeric evaluators of the one tree and how their numbers are judged: torch's autograd
(:mod:`.autograd`), plain NumPy (:mod:`.numpy_eval`), central finite differences
(:mod:`.finite_differences`), broadcasting undone (:mod:`.broadcasting`), the edges of calculus
(:mod:`.edges`), the arguments where an operation has no value (:mod:`.refusals`), the tolerance
rule (:mod:`.compare`) and the verdict with its reasons (:mod:`.verdict`).

Place in the flow: the ``torch (autograd)`` branch, and the ``compare`` after both branches meet.
Independent of sympy.

May import: :mod:`backcalc.errors`, :mod:`backcalc.limits`, :mod:`backcalc.formats`, :mod:`backcalc.ops`,
:mod:`backcalc.language`, :mod:`backcalc.inputs`.
"""
