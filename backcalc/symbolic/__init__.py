"""The symbolic side: everything that derives a formula. One sympy formula for element-wise
expressions (:mod:`.elementwise`), sympy element by element (:mod:`.elements`), formulas in matrix
notation by backprop on the tree (:mod:`.formulas`, simplified by :mod:`.simplify`, evaluated by
:mod:`.matrix`), Jacobians and Hessians in matrix notation by forward mode over a formula
(:mod:`.forward`, written for NumPy by :mod:`.lowering`), what a side gives for one input
(:mod:`.derived`), and the choice among them (:mod:`.side`).

Place in the flow: the ``sympy (symbolic derivative)`` branch. Independent of torch.

May import: :mod:`backcalc.errors`, :mod:`backcalc.limits`, :mod:`backcalc.formats`, :mod:`backcalc.ops`,
:mod:`backcalc.language`, :mod:`backcalc.inputs`, :mod:`backcalc.numeric` (its NumPy evaluator and
broadcasting, never torch).
"""
