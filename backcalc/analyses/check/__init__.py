"""``check``: is a hand-derived gradient right? Graded symbolically and at random points
(:mod:`.grade`), by the numbers for expressions that mix elements, programs and backward passes written
with ``dNAME`` (:mod:`.numeric`), against the true gradient of every input and step (:mod:`.truth`); a
wrong claim's mistake named by the one edit that repairs it (:mod:`.diagnose`); what it finds as plain
data (:mod:`.result`).

May import: what :mod:`backcalc.analyses` may, and :mod:`backcalc.analyses.problem`.
"""
