"""The questions a user asks, one module or subpackage each, every one answered with a result of plain
data: the prepared request they all start from (:mod:`.problem`); the gradient (:mod:`.gradient`, its
result in :mod:`.gradient_result`, and d loss / d each step of a program in :mod:`.intermediates`); the
backward pass node by node (:mod:`.explain`); a hand-derived gradient graded (:mod:`.check`); Jacobians
and Hessians (:mod:`.derivatives`: in matrix notation by :mod:`.second_order`, element by element and
their result types in :mod:`.element_derivatives`); gradient descent (:mod:`.descend`); JSON Lines
(:mod:`.batch`); the loss and its gradient as a NumPy or torch file of their own (:mod:`.emit`).

Place in the flow: where the branches are run, compared and judged. No result imports the render
layer: :mod:`backcalc.render` looks the results up.

May import: every package below it: :mod:`backcalc.errors`, :mod:`backcalc.limits`,
:mod:`backcalc.formats`, :mod:`backcalc.ops`, :mod:`backcalc.language`, :mod:`backcalc.inputs`,
:mod:`backcalc.numeric`, :mod:`backcalc.symbolic`, :mod:`backcalc.backprop`.
"""
