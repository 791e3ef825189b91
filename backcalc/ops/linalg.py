"""Linear algebra of square matrices: ``trace``, ``det``, ``logdet``, ``slogdet``, ``inv``, ``solve``,
``diag`` and the identity (``eye(n)``, and ``eye_like(X)``, which the rule of ``trace`` needs).

The vector-Jacobian rules are the matrix calculus of the Matrix Cookbook: ``d logdet(X) = inv(X).T``,
``d det(X) = det(X)*inv(X).T``, ``d inv(X) = -inv(X).T @ dY @ inv(X).T``; for ``x = solve(A, b)``, the
gradient of ``b`` is ``solve(A.T, g)`` and that of ``A`` is minus its outer product with ``x``.

An inverse of a singular matrix has no value: the records' refusal rule names the matrix, and the
inputs are refused before anything runs (:mod:`backcalc.numeric.refusals`). The NumPy implementations
give nan there instead of raising, as NumPy's other undefined values do (random points may land there).
The sympy implementations take object arrays of element symbols; the inverse is the adjugate over the
determinant (Cramer's rule), a rational function sympy differentiates without pivoting.
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Growth, Op, Shape, ShapeMisfitError, register
from .rules import show


def square(name: str, shape: Shape) -> int:
    """The size of a square matrix, or a misfit that says what ``name`` needs."""
    if len(shape) != 2:
        raise ShapeMisfitError(f"{name} needs a square matrix (2 dimensions), not {show(shape)}")
    if shape[0] != shape[1]:
        raise ShapeMisfitError(f"{name} needs a square matrix, not {show(shape)}")
    return shape[0]


def _square_shape(name: str, result: str) -> Any:
    def rule(shapes: list[Shape], dim: int | None) -> Shape:
        size = square(name, shapes[0])
        return () if result == "scalar" else (size, size)

    return rule


def _cubic(args: list[Shape], shape: Shape) -> int:
    """An LU factorisation of an n x n matrix: about 2/3 n**3 operations (and more for the inverse)."""
    size = args[0][0]
    return max(1, 2 * size**3)


# -- singular matrices: refused at the inputs, nan inside NumPy ------------------------------------------------
def singular_reason(np: Any, matrix: Any) -> str | None:
    """Why ``matrix`` has no inverse in its dtype, or None: it is not finite, its determinant is 0, or its
    condition number is beyond 1/eps of its dtype (its inverse would be rounding error)."""
    if not np.all(np.isfinite(matrix)):
        return "the matrix has elements that are not finite"
    wide = matrix.astype(np.float64)
    with np.errstate(all="ignore"):
        condition = float(np.linalg.cond(wide))
    if not np.isfinite(condition) or np.linalg.det(wide) == 0:
        return "the matrix is singular (its determinant is 0)"
    for dtype, where in ((np.float64, "to float64's precision"), (matrix.dtype, f"in {matrix.dtype}")):
        limit = 1.0 / float(np.finfo(dtype).eps)
        if condition >= limit:
            beyond = f"its condition number {condition:.3g} is beyond 1/eps = {limit:.3g}"
            return f"the matrix is singular {where} ({beyond})"
    return None


def _refuse_singular(consequence: str) -> Any:
    """The refusal rule of an operation whose first argument must be invertible."""

    def rule(np: Any, args: list[Any]) -> str | None:
        reason = singular_reason(np, args[0])
        return f"{reason}: {consequence}" if reason else None

    return rule


def _nan_if_singular(np: Any, compute: Any, shape: Shape) -> Any:
    try:
        return compute()
    except np.linalg.LinAlgError:
        return np.full(shape, np.nan)


def _numpy_inv(np: Any, x: Any) -> Any:
    return _nan_if_singular(np, lambda: np.linalg.inv(x), x.shape)


def _numpy_solve(np: Any, a: Any, b: Any) -> Any:
    # NumPy 2 reads a 1-D b as a vector (b[..., None] is not needed), as torch.linalg.solve does.
    return _nan_if_singular(np, lambda: np.linalg.solve(a, b), b.shape)


def _numpy_logdet(np: Any, x: Any) -> Any:
    sign, log_abs = np.linalg.slogdet(x)
    return np.where(sign > 0, log_abs, np.where(sign < 0, np.nan, -np.inf))


# -- sympy, over object arrays of element symbols -------------------------------------------------------------
def _sympy_matrix(sp: Any, cells: Any) -> Any:
    return sp.Matrix(cells.tolist())


def _cells(np: Any, matrix: Any) -> Any:
    return np.array(matrix.tolist(), dtype=object)


def _scalar_cell(np: Any, value: Any) -> Any:
    cell = np.empty((), dtype=object)
    cell[()] = value
    return cell


def _sympy_det(sp: Any, np: Any, x: Any) -> Any:
    return _scalar_cell(np, _sympy_matrix(sp, x).det(method="berkowitz"))


def _sympy_logdet(sp: Any, np: Any, x: Any) -> Any:
    return _scalar_cell(np, sp.log(_sympy_matrix(sp, x).det(method="berkowitz")))


def _sympy_slogdet(sp: Any, np: Any, x: Any) -> Any:
    from .sympy_functions import absolute  # |det| of a real matrix: d|u|/du is sign(u), not sympy's re/im form

    return _scalar_cell(np, sp.log(absolute(_sympy_matrix(sp, x).det(method="berkowitz"))))


def _sympy_inv(sp: Any, np: Any, x: Any) -> Any:
    matrix = _sympy_matrix(sp, x)
    return _cells(np, matrix.adjugate(method="berkowitz") / matrix.det(method="berkowitz"))


def _sympy_solve(sp: Any, np: Any, a: Any, b: Any) -> Any:
    matrix = _sympy_matrix(sp, a)
    right = sp.Matrix(b.tolist()) if b.ndim == 2 else sp.Matrix(list(b))
    x = matrix.adjugate(method="berkowitz") * right / matrix.det(method="berkowitz")
    return _cells(np, x) if b.ndim == 2 else np.array(list(x), dtype=object)


def _sympy_trace(sp: Any, np: Any, x: Any) -> Any:
    return _scalar_cell(np, sp.Add(*(x[i, i] for i in range(x.shape[0]))))


def _sympy_identity(sp: Any, np: Any, size: int) -> Any:
    cells = np.full((size, size), sp.Integer(0), dtype=object)
    for i in range(size):
        cells[i, i] = sp.Integer(1)
    return cells


def _sympy_diag(sp: Any, np: Any, x: Any) -> Any:
    if x.ndim == 2:
        return np.array([x[i, i] for i in range(x.shape[0])], dtype=object)
    cells = _sympy_identity(sp, np, x.shape[0])
    for i, value in enumerate(x):
        cells[i, i] = value
    return cells


# -- shapes of the rest ----------------------------------------------------------------------------------------
def _solve_shape(shapes: list[Shape], dim: int | None) -> Shape:
    a, b = shapes
    size = square("solve's A", a)
    if len(b) not in (1, 2) or b[0] != size:
        raise ShapeMisfitError(f"solve needs b a vector or a matrix of {size} rows (A is {show(a)}), not {show(b)}")
    return b


def _solve_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    # x = inv(A) @ b: gb = inv(A).T @ g = solve(A.T, g), and gA = -gb @ x.T (an outer product for a vector b).
    if len(shapes[1]) == 1:
        return ("-outer(solve(u.T, g), out)", "solve(u.T, g)")
    return ("-(solve(u.T, g) @ out.T)", "solve(u.T, g)")


def _diag_shape(shapes: list[Shape], dim: int | None) -> Shape:
    (shape,) = shapes
    if len(shape) == 1:
        return (shape[0], shape[0])
    if len(shape) == 2:
        return (square("diag of a matrix", shape),)
    raise ShapeMisfitError(f"diag needs a vector or a square matrix, not {show(shape)}")


def _eye_shape(shapes: list[Shape], dim: int | None) -> Shape:
    if dim is None or dim < 1:
        raise ShapeMisfitError(f"eye(n) needs a positive size n, not {dim}")
    return (dim, dim)


def _logdet_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    negative = np.asarray(np.linalg.det(args[0]) < 0)
    return [("domain", f"{text} of a matrix with a negative determinant is undefined over the reals", negative)]


# logdet in emitted NumPy code, as :func:`_numpy_logdet` computes it.
_NUMPY_LOGDET = """def _logdet(x):
    sign, log_abs = np.linalg.slogdet(x)
    return np.where(sign > 0, log_abs, np.where(sign < 0, np.nan, -np.inf))"""


def _torch_eye(torch: Any, dim: int | None = None, dtype: Any = None) -> Any:
    return torch.eye(dim, dtype=dtype)


TRACE = register(
    Op(
        "trace",
        "the sum of the diagonal of a square matrix: trace(X)",
        latex=r"\operatorname{{tr}}\left({0}\right)",
        elementwise=False,
        shape=_square_shape("trace", "scalar"),
        work=lambda args, shape: args[0][0],
        vjp=lambda shapes, dim: ("g*eye_like(u)",),
        linear=True,
        sympy=_sympy_trace,
        torch=lambda torch, x: torch.trace(x),
        numpy_code="np.trace({0})",
        torch_code="torch.trace({0})",
        numpy=lambda np, x: np.asarray(np.trace(x)),
    )
)
DET = register(
    Op(
        "det",
        "the determinant of a square matrix: det(X)",
        latex=r"\det\left({0}\right)",
        elementwise=False,
        shape=_square_shape("det", "scalar"),
        growth=Growth.PRODUCT,
        work=_cubic,
        # At a singular matrix this rule has no value, while the derivative (the adjugate) exists: sympy's
        # witness gives it where the matrix is small. torch's backward gives 0 there, which is not it.
        vjp=lambda shapes, dim: ("g*out*inv(u).T",),
        jvp=lambda shapes, dim: ("out*trace(solve(u, d))",),  # d det X = det X tr(X^-1 dX)
        sympy=_sympy_det,
        torch=lambda torch, x: torch.linalg.det(x),
        numpy_code="np.linalg.det({0})",
        torch_code="torch.linalg.det({0})",
        numpy=lambda np, x: np.asarray(np.linalg.det(x)),
    )
)
register(
    Op(
        "logdet",
        "the log of the determinant of a square matrix (nan where it is negative): logdet(X)",
        latex=r"\log\det\left({0}\right)",
        elementwise=False,
        shape=_square_shape("logdet", "scalar"),
        work=_cubic,
        vjp=lambda shapes, dim: ("g*inv(u).T",),
        edges=_logdet_edges,
        jvp=lambda shapes, dim: ("trace(solve(u, d))",),
        refuse=_refuse_singular("its log-determinant is -inf, with no gradient"),
        sympy=_sympy_logdet,
        torch=lambda torch, x: torch.logdet(x),
        numpy_code=Code("_logdet({0})", (_NUMPY_LOGDET,)),
        torch_code="torch.logdet({0})",
        numpy=_numpy_logdet,
    )
)
register(
    Op(
        "slogdet",
        "the log of the absolute value of the determinant, log|det X|, as torch.slogdet's: slogdet(X)",
        latex=r"\log\left|\det {0}\right|",
        elementwise=False,
        shape=_square_shape("slogdet", "scalar"),
        work=_cubic,
        vjp=lambda shapes, dim: ("g*inv(u).T",),
        refuse=_refuse_singular("its log-determinant is -inf, with no gradient"),
        sympy=_sympy_slogdet,
        jvp=lambda shapes, dim: ("trace(solve(u, d))",),
        torch=lambda torch, x: torch.linalg.slogdet(x).logabsdet,
        numpy_code="np.linalg.slogdet({0})[1]",
        torch_code="torch.linalg.slogdet({0}).logabsdet",
        numpy=lambda np, x: np.asarray(np.linalg.slogdet(x)[1]),
    )
)
INV = register(
    Op(
        "inv",
        "the inverse of a square matrix: inv(X)",
        latex=r"{{{0}}}^{{-1}}",
        elementwise=False,
        shape=_square_shape("inv", "matrix"),
        growth=Growth.PRODUCT,
        work=_cubic,
        vjp=lambda shapes, dim: ("-(out.T @ g @ out.T)",),
        jvp=lambda shapes, dim: ("-(out @ d @ out)",),  # d X^-1 = -X^-1 dX X^-1
        refuse=_refuse_singular("it has no inverse"),
        sympy=_sympy_inv,
        torch=lambda torch, x: torch.linalg.inv(x),
        numpy_code="np.linalg.inv({0})",
        torch_code="torch.linalg.inv({0})",
        numpy=_numpy_inv,
    )
)
register(
    Op(
        "solve",
        "x with A @ x = b, for a square A and b a vector or a matrix: solve(A, b) (inv(A) @ b, stably)",
        arity=2,
        latex=r"{{{0}}}^{{-1}} {1}",
        elementwise=False,
        shape=_solve_shape,
        growth=Growth.PRODUCT,
        work=lambda args, shape: _cubic(args, shape) + 2 * args[0][0] * args[1][0] * (args[1][1:] or (1,))[0],
        vjp=_solve_vjp,
        jvp=lambda shapes, dim: ("-solve(u, d @ out)", "solve(u, d)"),
        refuse=_refuse_singular("A @ x = b has no unique solution"),
        sympy=_sympy_solve,
        torch=lambda torch, a, b: torch.linalg.solve(a, b),
        numpy_code="np.linalg.solve({0}, {1})",
        torch_code="torch.linalg.solve({0}, {1})",
        numpy=_numpy_solve,
    )
)
DIAG = register(
    Op(
        "diag",
        "a vector as a diagonal matrix, or the diagonal of a square matrix as a vector: diag(v), diag(X)",
        latex=r"\operatorname{{diag}}\left({0}\right)",
        elementwise=False,
        shape=_diag_shape,
        vjp=lambda shapes, dim: ("diag(g)",),  # the other way round: a diagonal's gradient is a diagonal
        linear=True,
        sympy=_sympy_diag,
        torch=lambda torch, x: torch.diag(x),
        numpy_code="np.diag({0})",
        torch_code="torch.diag({0})",
        numpy=lambda np, x: np.diag(x),
    )
)
EYE = register(
    Op(
        "eye",
        "the n x n identity matrix, for an integer n: eye(n)",
        arity=0,
        takes_dim=True,
        needs_dim=True,
        latex=r"I",
        elementwise=False,
        shape=_eye_shape,
        work=lambda args, shape: shape[0],
        vjp=lambda shapes, dim: (),  # a constant: no argument to pass a gradient to
        sympy=lambda sp, np, dim=None: _sympy_identity(sp, np, dim),
        torch=_torch_eye,  # an operation without tensor arguments is given the run's dtype
        numpy_code="np.eye({dim})",
        torch_code="torch.eye({dim}, dtype=torch.float64)",
        numpy=lambda np, dim=None: np.eye(dim),
    )
)
EYE_LIKE = register(
    Op(
        "eye_like",
        "the identity matrix of the shape of a square matrix (the gradient of trace): eye_like(X)",
        latex=r"I_{{{0}}}",
        elementwise=False,
        shape=_square_shape("eye_like", "matrix"),
        vjp=lambda shapes, dim: ("0*ones_like(u)",),  # it depends on its argument's shape only
        jvp=lambda shapes, dim: ("",),
        sympy=lambda sp, np, x: _sympy_identity(sp, np, x.shape[0]),
        torch=lambda torch, x: torch.eye(x.shape[0], dtype=x.dtype),
        numpy_code="np.eye(len({0}))",
        torch_code="torch.eye(len({0}), dtype=torch.float64)",
        numpy=lambda np, x: np.eye(x.shape[0], dtype=x.dtype),
    )
)
