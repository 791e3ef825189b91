"""The language: text to the project's own expression tree, and what the tree costs before anything
runs. The tokenizer (:mod:`.tokens`), the whitelist parser (:mod:`.parser`), a program of named steps
as one graph (:mod:`.program`), the tree (:mod:`.tree`),
shapes through the tree (:mod:`.shapes`), the guard on exact constants (:mod:`.cost`), the estimate of a
run's time and memory (:mod:`.workload`), and the fix for a refused expression (:mod:`.hints`).

Place in the flow: the first step, ``text --parse--> tree``. Imports neither torch nor sympy.

May import: :mod:`backcalc.errors`, :mod:`backcalc.limits`, :mod:`backcalc.formats`, :mod:`backcalc.ops`.
"""
