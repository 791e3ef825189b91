"""``check``: is a hand-derived gradient right? Graded symbolically and at random points
(:mod:`.grade`), by the numbers for expressions that mix elements (:mod:`.numeric`), and what it finds as
plain data (:mod:`.result`).

May import: what :mod:`backcalc.analyses` may, and :mod:`backcalc.analyses.problem`.
"""
