"""How numbers and JSON are written: the shortest decimal that round-trips in the dtype
(:mod:`.numfmt`), many arrays of a stack written at once by orjson (:mod:`.numtext`), and one JSON object
valid for ``jq`` (:mod:`.jsonout`).

Place in the flow: the floor beside :mod:`backcalc.errors` and :mod:`backcalc.limits`; the results'
``to_dict()`` and every view write numbers through it.

May import: the standard library, numpy, orjson, and nothing of backcalc's but itself.
"""
