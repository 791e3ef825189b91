"""The inputs: ``NAME=VALUE`` text, ``@file.json`` / ``@file.npy`` files and Python objects, checked and
turned into float64 arrays (:mod:`.values`); which files may be read (:mod:`.files`); JSON from users held
to the command line's bounds (:mod:`.jsonin`).

Place in the flow: ``values --load--> arrays``, beside the parse. Imports neither torch nor sympy.

May import: :mod:`backcalc.errors`, :mod:`backcalc.limits`, :mod:`backcalc.formats`, :mod:`backcalc.ops`,
:mod:`backcalc.language`.
"""
