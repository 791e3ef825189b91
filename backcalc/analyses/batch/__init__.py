"""``batch``: JSON Lines in, one JSON object per case out. A line answered alone (:mod:`.lines`),
many lines of one shape stacked into one pass (:mod:`.stack`), and the input read as a stream, a window
at a time, by one process or several (:mod:`.stream`).

May import: what :mod:`backcalc.analyses` may, and the other analyses (a batch line is a ``grad`` or a
``check``).
"""
