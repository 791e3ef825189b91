"""The one layer that turns result objects into text: rich for people, JSON for programs.

Views dispatch on the result's type (:mod:`.views`); the results know nothing of this layer, and
:mod:`.display` installs their notebook and rich hooks. The terminal (:mod:`.terminal` and a view module
per command), JSON (:mod:`.json_view`), HTML (:mod:`.html`), DOT/SVG/PNG (:mod:`.graphviz`) and LaTeX
(:mod:`.latex`).

Place in the flow: the last step, ``render (rich | JSON)``.

May import: every library package below it: :mod:`backcalc.errors`, :mod:`backcalc.limits`,
:mod:`backcalc.formats`, :mod:`backcalc.ops`, :mod:`backcalc.language`, :mod:`backcalc.inputs`,
:mod:`backcalc.numeric`, :mod:`backcalc.symbolic`, :mod:`backcalc.backprop`, :mod:`backcalc.analyses`.
"""
