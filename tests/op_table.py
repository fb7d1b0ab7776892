"""The table of op cases that drives tests/test_op_table.py.

One row (a :class:`Case`) per operation and argument configuration: the
trax function to call, how to make its arguments, a NumPy reference and
flags for the transformation checks. Adding a primitive or a trax.numpy
function means adding a row here; it then gets eager-vs-numpy, jaxpr,
derivative, Jacobian, vmap, jit and jit-of-grad tests.

trax functions are looked up lazily through :data:`lax`, :data:`jnp` and
:data:`nn`: a row whose function does not exist raises :class:`Missing`,
which fails its tests with the function's name.
"""
import importlib
import math
import types
import zlib
from dataclasses import dataclass

import numpy as np

F32, F64 = np.dtype("float32"), np.dtype("float64")
I32, I64 = np.dtype("int32"), np.dtype("int64")
BOOL = np.dtype("bool")
FLOATS = (F32, F64)
INTS = (I32, I64)
INF, NAN = np.inf, np.nan


# ----------------------------------------------------------------------------
# lazy access to trax's namespaces

class Missing(AttributeError):
    """A trax function a row needs does not exist (yet)."""


def resolve(path):
    """The object at a dotted path such as ``trax.numpy.linalg.inv``."""
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for i, name in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            module = ".".join(parts[:i + 1])
            try:
                obj = importlib.import_module(module)
            except ModuleNotFoundError as e:
                if e.name != module:
                    raise
                raise Missing(f"{path} does not exist yet") from None
    return obj


class Namespace:
    """Attribute access that resolves ``trax.<path>.<name>`` when used."""

    def __init__(self, path):
        self._path = path

    def __getattr__(self, name):
        obj = resolve(f"{self._path}.{name}")
        return Namespace(obj.__name__) if isinstance(obj, types.ModuleType) else obj


lax = Namespace("trax.lax")
jnp = Namespace("trax.numpy")
nn = Namespace("trax.nn")


# ----------------------------------------------------------------------------
# argument generators

class A:
    """A random array. ``dtype=None`` takes the row's dtype. Floats are
    uniform in [lo, hi) (``nonzero``: |x| >= lo, random sign), ints in
    [lo, hi], bools fair coins. Float arrays are differentiable."""
    diff = True

    def __init__(self, shape, lo=-2.0, hi=2.0, dtype=None, nonzero=False):
        self.shape, self.lo, self.hi = tuple(shape), lo, hi
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.nonzero = nonzero

    def make(self, rng, dtype):
        dt = self.dtype or dtype
        if dt.kind == "b":
            return rng.random(self.shape) < 0.5
        if dt.kind in "iu":
            return rng.integers(int(self.lo), int(self.hi) + 1, self.shape).astype(dt)
        x = rng.uniform(self.lo, self.hi, self.shape)
        if self.nonzero:
            x = np.abs(x) * rng.choice([-1.0, 1.0], self.shape)
        return np.asarray(x, dt)


def P(shape, lo=0.5, hi=2.0, dtype=None):
    """Positive floats (log, sqrt, ...)."""
    return A(shape, lo, hi, dtype)


def NZ(shape, lo=0.5, hi=2.0, dtype=None):
    """Floats bounded away from zero (divisors, kinks at 0)."""
    return A(shape, lo, hi, dtype, nonzero=True)


def I(shape, lo, hi, dtype=I64):
    """Integer arrays (indices) of a fixed dtype."""
    return A(shape, lo, hi, dtype)


class Const:
    """A fixed value (edge cases, index arrays); not differentiated."""
    diff = False

    def __init__(self, value, dtype=None):
        self.value, self.dtype = value, dtype
        self.shape = np.shape(value)

    def make(self, rng, dtype):
        return np.array(self.value, self.dtype or dtype)


class Gen:
    """A custom generator ``fn(rng, dtype) -> array``."""

    def __init__(self, fn, shape, diff=True):
        self.fn, self.shape, self.diff = fn, tuple(shape), diff

    def make(self, rng, dtype):
        return np.asarray(self.fn(rng, dtype))


def Distinct(shape):
    """Floats with well separated values (sorting, max ties)."""
    def make(rng, dtype):
        n = int(np.prod(shape))
        return (rng.permutation(n) * 0.37 - n * 0.15 + rng.uniform(0, 0.1, n)
                ).reshape(shape).astype(dtype)
    return Gen(make, shape)


# ----------------------------------------------------------------------------
# cases

@dataclass
class Case:
    """One row: ``fn(*args)`` against ``ref(*args)`` on NumPy arrays.

    order: derivative order for check_grads (0: not differentiable).
    tol: multiplier of the dtype's default tolerance.
    grad_tol: (atol, rtol) for check_grads, None for its defaults.
    vmap: whether to check vmap (needs at least one argument).
    jac: whether to compare jacfwd with jacrev (small differentiable rows).
    check_dtype: whether the result dtype must equal the reference's.
    signed_zeros: whether zero results must match the reference's sign.
    """
    name: str
    fn: object
    args: tuple
    ref: object
    dtypes: tuple = FLOATS
    order: int = 2
    tol: float = 1.0
    grad_tol: tuple = None
    vmap: bool = True
    jac: bool = True
    check_dtype: bool = True
    signed_zeros: bool = False

    def make_args(self, dtype, draw=0):
        """The arguments for ``dtype``, reproducible per (row, dtype, draw)."""
        seed = zlib.crc32(f"{self.name}/{dtype}/{draw}".encode())
        rng = np.random.default_rng(seed)
        return [a.make(rng, dtype) for a in self.args]

    def diff_argnums(self, args):
        """Positions of the arguments derivatives are taken with respect to."""
        return tuple(i for i, (spec, x) in enumerate(zip(self.args, args))
                     if spec.diff and x.dtype.kind == "f")


CASES = []


def _shape_tag(args):
    return ",".join("x".join(map(str, a.shape)) or "0d" for a in args)


def _kw_tag(kw):
    return ";".join(f"{k}={v}" for k, v in kw.items())


def add(name, fn, args, ref, **flags):
    """Append a row (its name must be unique)."""
    if any(c.name == name for c in CASES):
        raise ValueError(f"duplicate op_table row name {name!r}")
    CASES.append(Case(name, fn, tuple(args), ref, **flags))


def _callable(ns, path):
    """``ns.<path>`` resolved at call time (path may be dotted)."""
    def fn(*args, **kw):
        obj = ns
        for p in path.split("."):
            obj = getattr(obj, p)
        return obj(*args, **kw)
    return fn


def _np_callable(path):
    obj = np
    for p in path.split("."):
        obj = getattr(obj, p)
    return obj


def op(ns_name, fname, args, ref=None, kw=None, tag="", **flags):
    """A row calling ``<ns>.fname(*args, **kw)``; the reference defaults to
    the NumPy function of the same name with the same keywords."""
    kw = kw or {}
    ns = {"lax": lax, "jnp": jnp, "nn": nn}[ns_name]
    f = _callable(ns, fname)
    r = ref if ref is not None else _np_callable(fname)
    name = f"{ns_name}.{fname}({_shape_tag(args)}{';' + _kw_tag(kw) if kw else ''}){tag}"
    add(name, lambda *a: f(*a, **kw), args, lambda *a: r(*a, **kw) if ref is None else r(*a),
        **flags)


def lax_op(fname, args, ref, kw=None, tag="", **flags):
    """A lax row; ``ref`` takes the same positional args (kw not passed)."""
    kw = kw or {}
    f = _callable(lax, fname)
    name = f"lax.{fname}({_shape_tag(args)}{';' + _kw_tag(kw) if kw else ''}){tag}"
    add(name, lambda *a: f(*a, **kw), args, ref, **flags)


# ----------------------------------------------------------------------------
# NumPy references that NumPy lacks

_erf_scalar = np.vectorize(math.erf, otypes=[np.float64])


def sign_ref(x):
    """np.sign, except that -0.0 keeps its sign (as JAX's sign)."""
    return np.where(x == 0, x, np.sign(x))


def erf_ref(x):
    return _erf_scalar(x).astype(x.dtype) if x.size else x.copy()


def erf_inv_ref(x):
    """Inverse of erf by bisection in float64 (exact edge values)."""
    xd = np.asarray(x, np.float64)
    lo, hi = np.full(xd.shape, -10.0), np.full(xd.shape, 10.0)
    for _ in range(200):
        mid = (lo + hi) / 2
        below = _erf_scalar(mid) < xd if xd.size else mid < 0
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    y = (lo + hi) / 2
    y = np.where(np.abs(xd) == 1, np.copysign(np.inf, xd), y)
    y = np.where((np.abs(xd) > 1) | np.isnan(xd), np.nan, y)
    y = np.where(xd == 0, xd, y)
    return y.astype(x.dtype)


def logistic_ref(x):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(x.dtype)


def rsqrt_ref(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 / np.sqrt(x)).astype(x.dtype)


def trunc_div_ref(x, y):
    """C-style (truncating) division for ints, true division for floats."""
    if x.dtype.kind == "f":
        return x / y
    return (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(x.dtype)


def pad_ref(x, value, config):
    """lax.pad: low/high (possibly negative) and interior padding."""
    out = np.asarray(x)
    for axis, (lo, hi, interior) in enumerate(config):
        n = out.shape[axis]
        size = n + max(n - 1, 0) * interior
        shape = list(out.shape)
        shape[axis] = size + max(lo, 0) + max(hi, 0)
        grown = np.full(shape, value, out.dtype)
        idx = [slice(None)] * out.ndim
        idx[axis] = slice(max(lo, 0), max(lo, 0) + size, interior + 1)
        grown[tuple(idx)] = out
        idx[axis] = slice(-min(lo, 0), shape[axis] + min(hi, 0))
        out = grown[tuple(idx)]
    return out


def clamp_starts(shape, starts, sizes):
    return [int(np.clip(s, 0, d - k)) for s, d, k in zip(starts, shape, sizes)]


def dynamic_slice_ref(x, starts, sizes):
    st = clamp_starts(x.shape, starts, sizes)
    return x[tuple(slice(s, s + k) for s, k in zip(st, sizes))]


def dynamic_update_slice_ref(x, upd, starts):
    st = clamp_starts(x.shape, starts, upd.shape)
    out = x.copy()
    out[tuple(slice(s, s + k) for s, k in zip(st, upd.shape))] = upd
    return out


def gather_ref(x, idx):
    """gather_nd: ``out[b] = x[tuple(idx[b])]`` over the leading axes of x."""
    return x[tuple(np.moveaxis(idx, -1, 0))]


def scatter_ref(ufunc):
    def ref(x, idx, upd):
        out = x.copy()
        where = tuple(np.moveaxis(idx, -1, 0))
        if ufunc is None:
            out[where] = upd
        else:
            ufunc.at(out, where, upd)
        return out
    return ref


def cum_ref(ufunc):
    def ref(x, axis=0, reverse=False):
        if reverse:
            return np.flip(ufunc.accumulate(np.flip(x, axis), axis=axis), axis)
        return ufunc.accumulate(x, axis=axis)
    return ref


def dot_general_ref(lhs, rhs, dimension_numbers):
    """lax.dot_general through einsum: batch, lhs free, rhs free axes."""
    (lc, rc), (lb, rb) = dimension_numbers
    letters = iter("abcdefghijklmnop")
    ls = [next(letters) for _ in range(lhs.ndim)]
    rs = [next(letters) for _ in range(rhs.ndim)]
    for i, j in zip(lc + lb, rc + rb):
        rs[j] = ls[i]
    out = ([ls[i] for i in lb] + [ls[i] for i in range(lhs.ndim) if i not in lc + lb]
           + [rs[j] for j in range(rhs.ndim) if j not in rc + rb])
    return np.einsum(f"{''.join(ls)},{''.join(rs)}->{''.join(out)}", lhs, rhs)


def softmax_ref(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsumexp_ref(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def gelu_ref(x, approximate=True):
    if approximate:
        c = np.sqrt(2 / np.pi).astype(x.dtype)
        return 0.5 * x * (1 + np.tanh(c * (x + x.dtype.type(0.044715) * x ** 3)))
    return x * (1 + erf_ref(x / np.sqrt(x.dtype.type(2)))) / 2


EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, INF, -INF, NAN]


# ----------------------------------------------------------------------------
# trax.lax: elementwise

_UNARY = [  # name, reference, generator, derivative order
    ("neg", np.negative, A, 2), ("sign", sign_ref, NZ, 1), ("floor", np.floor, A, 1),
    ("ceil", np.ceil, A, 1), ("round", np.round, A, 1), ("abs", np.abs, NZ, 2),
    ("exp", np.exp, A, 2), ("exp2", np.exp2, A, 2), ("log", np.log, P, 2),
    ("log1p", np.log1p, lambda s: A(s, -0.5, 2), 2), ("expm1", np.expm1, A, 2),
    ("sqrt", np.sqrt, P, 2), ("rsqrt", rsqrt_ref, P, 2), ("cbrt", np.cbrt, NZ, 2),
    ("sin", np.sin, A, 2), ("cos", np.cos, A, 2), ("tan", np.tan, lambda s: A(s, -1.2, 1.2), 2),
    ("asin", np.arcsin, lambda s: A(s, -0.9, 0.9), 2),
    ("acos", np.arccos, lambda s: A(s, -0.9, 0.9), 2), ("atan", np.arctan, A, 2),
    ("sinh", np.sinh, A, 2), ("cosh", np.cosh, A, 2), ("tanh", np.tanh, A, 2),
    ("asinh", np.arcsinh, A, 2), ("acosh", np.arccosh, lambda s: A(s, 1.2, 3), 2),
    ("atanh", np.arctanh, lambda s: A(s, -0.9, 0.9), 2),
    ("logistic", logistic_ref, A, 2), ("erf", erf_ref, A, 2),
    ("erf_inv", erf_inv_ref, lambda s: A(s, -0.9, 0.9), 2),
]

for _name, _ref, _gen, _order in _UNARY:
    lax_op(_name, [_gen((2, 3))], _ref, order=_order, tol=4 if _name == "erf_inv" else 1)
    with np.errstate(all="ignore"):
        _edge = [v for v in EDGE if _name != "erf_inv" or abs(v) <= 1] + (
            [0.999, -1.5] if _name == "erf_inv" else [])
    lax_op(_name, [Const(_edge)], _ref, tag="[edge]", order=0, signed_zeros=True,
           tol=4 if _name == "erf_inv" else 1)

for _name, _ref in [("sin", np.sin), ("exp", np.exp), ("neg", np.negative),
                    ("abs", np.abs)]:
    _gen = NZ if _name == "abs" else A
    lax_op(_name, [_gen(())], _ref)
    lax_op(_name, [_gen((0,))], _ref)
    lax_op(_name, [_gen((3, 0, 2))], _ref)
    lax_op(_name, [_gen((2, 1, 2))], _ref)

lax_op("is_finite", [Const(EDGE)], np.isfinite, order=0)
lax_op("is_finite", [A((2, 3))], np.isfinite, order=0)
lax_op("bitwise_not", [A((2, 3), -5, 5)], np.invert, dtypes=INTS + (BOOL,), order=0)
lax_op("neg", [A((2, 3), -5, 5)], np.negative, dtypes=INTS, order=0, tag="[int]")
lax_op("abs", [A((2, 3), -5, 5)], np.abs, dtypes=INTS, order=0, tag="[int]")
lax_op("sign", [A((2, 3), -5, 5)], np.sign, dtypes=INTS, order=0, tag="[int]")

_BINARY = [  # name, reference, generators, order
    ("add", np.add, (A, A), 2), ("sub", np.subtract, (A, A), 2),
    ("mul", np.multiply, (A, A), 2), ("div", trunc_div_ref, (A, NZ), 2),
    ("rem", np.fmod, (A, NZ), 1), ("pow", np.power, (P, A), 2),
    ("max", np.maximum, (A, A), 2), ("min", np.minimum, (A, A), 2),
    ("atan2", np.arctan2, (NZ, NZ), 2),
]
for _name, _ref, (_g1, _g2), _order in _BINARY:
    lax_op(_name, [_g1((2, 3)), _g2((2, 3))], _ref, order=_order)
    lax_op(_name, [_g1(()), _g2((2, 3))], _ref, order=_order)
    lax_op(_name, [_g1((2, 3)), _g2(())], _ref, order=_order)

with np.errstate(all="ignore"):
    _EX, _EY = np.meshgrid(EDGE, EDGE)
for _name, _ref in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                    ("div", np.divide), ("max", np.maximum), ("min", np.minimum),
                    ("pow", np.power), ("atan2", np.arctan2), ("rem", np.fmod)]:
    lax_op(_name, [Const(_EX), Const(_EY)], _ref, tag="[edge]", order=0,
           signed_zeros=_name not in ("max", "min"))

lax_op("nextafter", [A((2, 3)), A((2, 3))], np.nextafter, order=0)
lax_op("nextafter", [Const([0.0, 1.0, -1.0, INF]), Const([1.0, 2.0, -INF, 0.0])],
       np.nextafter, order=0, tag="[edge]")

for _name, _ref in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                    ("max", np.maximum), ("min", np.minimum)]:
    lax_op(_name, [A((2, 3), -9, 9), A((2, 3), -9, 9)], _ref, dtypes=INTS, order=0,
           tag="[int]")
lax_op("div", [A((8,), -9, 9), Const([3, -3, 2, -2, 7, -7, 1, 5])], trunc_div_ref,
       dtypes=INTS, order=0, tag="[int]")
lax_op("rem", [A((8,), -9, 9), Const([3, -3, 2, -2, 7, -7, 1, 5])], np.fmod,
       dtypes=INTS, order=0, tag="[int]")

for _name, _ref in [("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                    ("bitwise_xor", np.bitwise_xor)]:
    lax_op(_name, [A((2, 3), -9, 9), A((2, 3), -9, 9)], _ref, dtypes=INTS + (BOOL,),
           order=0)

for _name, _ref in [("shift_left", np.left_shift), ("shift_right_arithmetic", np.right_shift),
                    ("shift_right_logical", lambda x, y: np.right_shift(
                        x.view(f"u{x.itemsize}"), y.astype(f"u{x.itemsize}")).view(x.dtype))]:
    lax_op(_name, [A((2, 3), -99, 99), A((2, 3), 0, 31)], _ref, dtypes=INTS, order=0)

for _name, _ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                    ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]:
    lax_op(_name, [A((2, 3), -2, 2), A((2, 3), -2, 2)], _ref, dtypes=FLOATS + INTS, order=0)
    lax_op(_name, [Const(_EX), Const(_EY)], _ref, order=0, tag="[edge]")

for _y in (0, 1, 2, 3, -2):
    lax_op("integer_pow", [NZ((2, 3))], lambda x, y=_y: (x ** y).astype(x.dtype),
           kw={"y": _y})
lax_op("integer_pow", [A((2, 3), -3, 3)], lambda x: x ** 3, kw={"y": 3}, dtypes=INTS,
       order=0, tag="[int]")

lax_op("select_n", [A((2, 3), dtype=BOOL), A((2, 3)), A((2, 3))],
       lambda p, a, b: np.where(p, b, a))
lax_op("select_n", [A((), dtype=BOOL), A((2, 3)), A((2, 3))],
       lambda p, a, b: np.where(p, b, a))
lax_op("select_n", [A((2, 3), 0, 2, dtype=I32), A((2, 3)), A((2, 3)), A((2, 3))],
       lambda w, *cs: np.choose(w, cs))
lax_op("clamp", [A((), -0.7, -0.3), A((2, 3)), A((), 0.3, 0.7)],
       lambda lo, x, hi: np.clip(x, lo, hi))
lax_op("clamp", [A((2, 3), -0.7, -0.3), A((2, 3)), A((2, 3), 0.3, 0.7)],
       lambda lo, x, hi: np.clip(x, lo, hi))
lax_op("clamp", [A((), -3, -1), A((2, 3), -5, 5), A((), 1, 3)],
       lambda lo, x, hi: np.clip(x, lo, hi), dtypes=INTS, order=0, tag="[int]")

for _to in (F32, F64):
    lax_op("convert_element_type", [A((2, 3))], lambda x, t=_to: x.astype(t),
           kw={"new_dtype": _to})
for _to in (I32, BOOL):
    lax_op("convert_element_type", [Const([-1.7, -0.5, 0.0, 0.5, 2.9])],
           lambda x, t=_to: x.astype(t), kw={"new_dtype": _to}, order=0)
lax_op("convert_element_type", [A((2, 3), -5, 5)], lambda x: x.astype(F64),
       kw={"new_dtype": F64}, dtypes=INTS + (BOOL,), order=0, tag="[int]")
lax_op("stop_gradient", [A((2, 3))], lambda x: x, order=0)


# ----------------------------------------------------------------------------
# trax.lax: shapes

lax_op("broadcast_in_dim", [A((3,))], lambda x: np.broadcast_to(x, (2, 3)),
       kw={"shape": (2, 3), "broadcast_dimensions": (1,)})
lax_op("broadcast_in_dim", [A((2,))], lambda x: np.broadcast_to(x[:, None, None], (2, 3, 4)),
       kw={"shape": (2, 3, 4), "broadcast_dimensions": (0,)})
lax_op("broadcast_in_dim", [A((1, 3))], lambda x: np.broadcast_to(x, (2, 3)),
       kw={"shape": (2, 3), "broadcast_dimensions": (0, 1)})
lax_op("broadcast_in_dim", [A(())], lambda x: np.broadcast_to(x, (2, 3)),
       kw={"shape": (2, 3), "broadcast_dimensions": ()})
lax_op("reshape", [A((2, 3))], lambda x: x.reshape(3, 2), kw={"new_sizes": (3, 2)})
lax_op("reshape", [A((2, 3))], lambda x: x.reshape(1, 6, 1), kw={"new_sizes": (1, 6, 1)})
lax_op("reshape", [A(())], lambda x: x.reshape(1, 1), kw={"new_sizes": (1, 1)})
lax_op("reshape", [A((2, 0))], lambda x: x.reshape(0, 5), kw={"new_sizes": (0, 5)})
lax_op("transpose", [A((2, 3, 4))], lambda x: x.transpose(2, 0, 1),
       kw={"permutation": (2, 0, 1)})
lax_op("transpose", [A((2, 3))], lambda x: x.T, kw={"permutation": (1, 0)})
add("lax.full(2x3)", lambda v: lax.full((2, 3), v), [A(())],
    lambda v: np.full((2, 3), v, v.dtype))
add("lax.full(0d;dtype=f32)", lambda v: lax.full((2,), v, F32), [A(())],
    lambda v: np.full((2,), v, F32))
lax_op("zeros_like", [A((2, 3))], np.zeros_like)

lax_op("squeeze", [A((1, 3, 1))], lambda x: x.reshape(3), kw={"dimensions": (0, 2)})
lax_op("squeeze", [A((2, 1))], lambda x: x[:, 0], kw={"dimensions": (1,)})
lax_op("expand_dims", [A((2, 3))], lambda x: x[None, :, None],
       kw={"dimensions": (0, 2)})
lax_op("expand_dims", [A(())], lambda x: x.reshape(1), kw={"dimensions": (0,)})
lax_op("rev", [A((2, 3))], lambda x: x[:, ::-1], kw={"dimensions": (1,)})
lax_op("rev", [A((2, 3, 2))], lambda x: x[::-1, :, ::-1], kw={"dimensions": (0, 2)})
add("lax.concatenate(2x3,2x1;dimension=1)", lambda a, b: lax.concatenate([a, b], 1),
    [A((2, 3)), A((2, 1))], lambda a, b: np.concatenate([a, b], 1))
add("lax.concatenate(2,0,3;dimension=0)", lambda a, b, c: lax.concatenate([a, b, c], 0),
    [A((2,)), A((0,)), A((3,))], lambda a, b, c: np.concatenate([a, b, c]))
add("lax.concatenate(2x2;single)", lambda a: lax.concatenate([a], 0),
    [A((2, 2))], lambda a: a)
for _cfg in (((1, 2, 0), (0, 1, 1)), ((-1, 1, 0), (1, -1, 2)), ((0, 0, 0), (2, 0, 0))):
    lax_op("pad", [A((2, 3)), A(())], lambda x, v, c=_cfg: pad_ref(x, v, c),
           kw={"padding_config": _cfg})
lax_op("pad", [A((0,)), A(())], lambda x, v: pad_ref(x, v, ((1, 1, 2),)),
       kw={"padding_config": ((1, 1, 2),)})
lax_op("slice", [A((4, 5))], lambda x: x[1:3, 0:5],
       kw={"start_indices": (1, 0), "limit_indices": (3, 5)})
lax_op("slice", [A((4, 5))], lambda x: x[0:4:3, 1:5:2],
       kw={"start_indices": (0, 1), "limit_indices": (4, 5), "strides": (3, 2)})
lax_op("slice", [A((4,))], lambda x: x[2:2],
       kw={"start_indices": (2,), "limit_indices": (2,)})
add("lax.dynamic_slice(4x5,0d,0d)", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)),
    [A((4, 5)), I((), 0, 2), I((), 0, 2)],
    lambda x, i, j: dynamic_slice_ref(x, (i, j), (2, 3)))
add("lax.dynamic_slice[clamped]", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)),
    [A((4, 5)), Const(3, I32), Const(-4, I32)],
    lambda x, i, j: dynamic_slice_ref(x, (i, j), (2, 3)))
add("lax.dynamic_update_slice(4x5,2x3,0d,0d)",
    lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
    [A((4, 5)), A((2, 3)), I((), 0, 2), I((), 0, 2)],
    lambda x, u, i, j: dynamic_update_slice_ref(x, u, (i, j)))
add("lax.dynamic_update_slice[clamped]",
    lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
    [A((4, 5)), A((2, 3)), Const(5, I32), Const(-1, I32)],
    lambda x, u, i, j: dynamic_update_slice_ref(x, u, (i, j)))
for _dt in (I32, F32, F64):
    add(f"lax.iota({_dt.name})", lambda d=_dt: lax.iota(d, 5), [],
        lambda d=_dt: np.arange(5, dtype=d), dtypes=(_dt,), order=0)
add("lax.broadcasted_iota(i32;2x3;1)", lambda: lax.broadcasted_iota(I32, (2, 3), 1), [],
    lambda: np.broadcast_to(np.arange(3, dtype=I32), (2, 3)), dtypes=(I32,), order=0)
add("lax.broadcasted_iota(f64;2x3;0)", lambda: lax.broadcasted_iota(F64, (2, 3), 0), [],
    lambda: np.broadcast_to(np.arange(2.0)[:, None], (2, 3)), dtypes=(F64,), order=0)

# gather / scatter with gather_nd semantics: indices (..., k) index x's first k axes
lax_op("gather", [A((4, 3)), I((5, 1), 0, 3)], gather_ref)
lax_op("gather", [A((4, 3)), I((2, 2), 0, 2)], gather_ref)
lax_op("gather", [A((4, 3, 2)), I((2, 3, 2), 0, 2)], gather_ref)
lax_op("gather", [A((4,)), I((1,), 0, 3)], gather_ref)
for _name, _uf in [("scatter_add", np.add), ("scatter", None),
                   ("scatter_mul", np.multiply), ("scatter_min", np.minimum),
                   ("scatter_max", np.maximum)]:
    # repeated indices for the combining scatters; unique ones for plain scatter
    _idx = Const([[0], [2], [0]] if _uf is not None else [[3], [0], [2]], I64)
    lax_op(_name, [A((4, 3)), _idx, A((3, 3))], scatter_ref(_uf),
           order=1 if _uf in (np.minimum, np.maximum) else 2)
    lax_op(_name, [A((4, 3)), Const([[1, 2], [3, 0]], I64), A((2,))], scatter_ref(_uf))

# out-of-range coordinates: by default gather clamps them (promise_in_bounds)
# and scatters drop their updates; mode="clip" clamps both, mode="fill"
# fills gathered rows with fill_value
lax_op("gather", [A((4, 3)), Const([[5], [-2], [1]], I64)],
       lambda x, i: gather_ref(x, np.clip(i, 0, 3)), tag="[out-of-range]")
lax_op("gather", [A((4, 3)), Const([[5], [-2], [1]], I64)],
       lambda x, i: gather_ref(x, np.clip(i, 0, 3)), kw={"mode": "clip"}, tag="[out-of-range]")
lax_op("gather", [A((4, 3)), Const([[5], [-2], [1]], I64)],
       lambda x, i: np.where(i == 1, gather_ref(x, np.clip(i, 0, 3)), np.asarray(0.5, x.dtype)),
       kw={"mode": "fill", "fill_value": 0.5}, tag="[out-of-range]")
lax_op("gather", [A((4, 3)), Const([[1, 7], [2, 0]], I64)],
       lambda x, i: np.array([-1.0, x[2, 0]], x.dtype),
       kw={"mode": "fill", "fill_value": -1.0}, tag="[out-of-range]")
lax_op("scatter_add", [A((4, 3)), Const([[5], [1], [-1]], I64), A((3, 3))],
       lambda x, i, u: scatter_ref(np.add)(x, i[1:2], u[1:2]), tag="[out-of-range]")
lax_op("scatter_add", [A((4, 3)), Const([[5], [1], [-1]], I64), A((3, 3))],
       lambda x, i, u: scatter_ref(np.add)(x, np.clip(i, 0, 3), u), kw={"mode": "clip"},
       tag="[out-of-range]")
lax_op("scatter", [A((4, 3)), Const([[5], [1], [-1]], I64), A((3, 3))],
       lambda x, i, u: scatter_ref(None)(x, np.clip(i, 0, 3), u), kw={"mode": "clip"},
       tag="[out-of-range]")
lax_op("scatter_mul", [A((4, 3)), Const([[5], [1], [-1]], I64), A((3, 3))],
       lambda x, i, u: scatter_ref(np.multiply)(x, i[1:2], u[1:2]), kw={"mode": "drop"},
       tag="[out-of-range]")

# convenience wrappers of the primitives
lax_op("full_like", [A((2, 3))], lambda x: np.full_like(x, 2.5), kw={"fill_value": 2.5})
lax_op("slice_in_dim", [A((4, 3))], lambda x: x[:, 0:3:2],
       kw={"start_index": 0, "limit_index": None, "stride": 2, "axis": 1})
lax_op("index_in_dim", [A((4, 3))], lambda x: x[2], kw={"index": 2, "keepdims": False})
add("lax.dynamic_slice_in_dim", lambda x, i: lax.dynamic_slice_in_dim(x, i, 2, axis=1),
    [A((4, 3)), I((), 0, 1)], lambda x, i: x[:, i:i + 2])
add("lax.dynamic_index_in_dim", lambda x, i: lax.dynamic_index_in_dim(x, i, 0, False),
    [A((4, 3)), I((), 0, 3)], lambda x, i: x[i])
add("lax.dynamic_update_slice_in_dim",
    lambda x, u, i: lax.dynamic_update_slice_in_dim(x, u, i, 0),
    [A((4, 3)), A((2, 3)), I((), 0, 2)],
    lambda x, u, i: dynamic_update_slice_ref(x, u, (i, 0)))
add("lax.dynamic_update_index_in_dim",
    lambda x, u, i: lax.dynamic_update_index_in_dim(x, u, i, 1),
    [A((4, 3)), A((4,)), I((), 0, 2)],
    lambda x, u, i: dynamic_update_slice_ref(x, u[:, None], (0, i)))
for _name, _ref in [("cumsum", np.add), ("cummax", np.maximum)]:
    add(f"lax.associative_scan[{_name}]",
        lambda x, n=_name: lax.associative_scan(getattr(lax, n.replace("cum", "")
                                                        .replace("sum", "add")), x, axis=1),
        [Distinct((2, 5))], lambda x, u=_ref: u.accumulate(x, axis=1))
add("lax.associative_scan[add,reverse]",
    lambda x: lax.associative_scan(lax.add, x, reverse=True),
    [A((6,))], lambda x: np.cumsum(x[::-1])[::-1])
lax_op("dot", [A((2, 3)), A((3,))], lambda a, b: a @ b)
lax_op("dot", [A((2, 3)), A((3, 4))], lambda a, b: a @ b)

# ----------------------------------------------------------------------------
# trax.lax: reductions, cumulative ops, dot_general, sort

for _name, _ref, _gen in [("reduce_sum", np.sum, A), ("reduce_max", np.max, Distinct),
                          ("reduce_min", np.min, Distinct), ("reduce_prod", np.prod, NZ)]:
    for _axes in ((0,), (1,), (0, 1)):
        lax_op(_name, [_gen((2, 3))], lambda x, a=_axes, r=_ref: r(x, axis=a),
               kw={"axes": _axes})
    lax_op(_name, [_gen((2, 3, 2))], lambda x, r=_ref: r(x, axis=(0, 2)),
           kw={"axes": (0, 2)})
    lax_op(_name, [A((2, 3), -9, 9)], lambda x, r=_ref: r(x, axis=1).astype(x.dtype),
           kw={"axes": (1,)}, dtypes=INTS, order=0, tag="[int]")
# long enough for blocked float sums (reductions.BLOCK, ROW_BLOCK), with partial blocks
for _shape, _axes in [((2, 2500), (1,)), ((1300, 2), (0,)), ((3, 40, 30), (1, 2)),
                      ((140, 2, 3), (0, 2))]:
    lax_op("reduce_sum", [A(_shape)], lambda x, a=_axes: np.sum(x, axis=a), kw={"axes": _axes},
           order=1, jac=False, tag="[blocked]")
lax_op("reduce_sum", [A((2, 0))], lambda x: np.sum(x, axis=1), kw={"axes": (1,)})
lax_op("reduce_sum", [A((2, 0))], lambda x: np.sum(x, axis=0), kw={"axes": (0,)})
lax_op("reduce_prod", [A((0, 2))], lambda x: np.prod(x, axis=0), kw={"axes": (0,)})
lax_op("reduce_max", [Const([[1.0, NAN], [-INF, 2.0]])], lambda x: np.max(x, axis=1),
       kw={"axes": (1,)}, order=0, tag="[edge]")
for _name, _ref in [("reduce_and", np.all), ("reduce_or", np.any)]:
    lax_op(_name, [A((2, 3))], lambda x, r=_ref: r(x, axis=1), kw={"axes": (1,)},
           dtypes=(BOOL,), order=0)
    lax_op(_name, [A((2, 0))], lambda x, r=_ref: r(x, axis=1), kw={"axes": (1,)},
           dtypes=(BOOL,), order=0)
for _name, _ref in [("argmax", np.argmax), ("argmin", np.argmin)]:
    for _axis in (0, 1):
        lax_op(_name, [A((3, 4))], lambda x, a=_axis, r=_ref: r(x, axis=a).astype(I32),
               kw={"axis": _axis, "index_dtype": I32}, order=0, dtypes=FLOATS + INTS)
    lax_op(_name, [Const([[1.0, 3.0, 3.0, 0.0], [NAN, 1.0, NAN, 2.0]])],
           lambda x, r=_ref: r(x, axis=1).astype(I64), kw={"axis": 1, "index_dtype": I64},
           order=0, tag="[ties,nan]")
for _name, _uf, _gen in [("cumsum", np.add, A), ("cumprod", np.multiply, NZ),
                         ("cummax", np.maximum, Distinct), ("cummin", np.minimum, Distinct)]:
    for _axis, _rev in ((0, False), (1, False), (1, True)):
        lax_op(_name, [_gen((3, 4))],
               lambda x, a=_axis, r=_rev, f=cum_ref(_uf): f(x, a, r),
               kw={"axis": _axis, "reverse": _rev})
    lax_op(_name, [A((5,), -9, 9)], lambda x, f=cum_ref(_uf): f(x, 0).astype(x.dtype),
           kw={"axis": 0}, dtypes=INTS, order=0, tag="[int]")
for _lhs, _rhs, _dn in [((3, 4), (4, 2), (((1,), (0,)), ((), ()))),
                        ((4,), (4,), (((0,), (0,)), ((), ()))),
                        ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
                        ((3, 4), (2, 4), (((1,), (1,)), ((), ()))),
                        ((2, 3), (4,), (((), ()), ((), ()))),
                        ((2, 3, 4), (3, 2), (((1, 0), (0, 1)), ((), ())))]:
    lax_op("dot_general", [A(_lhs), A(_rhs)],
           lambda a, b, dn=_dn: dot_general_ref(a, b, dn), kw={"dimension_numbers": _dn})
lax_op("dot_general", [A((2, 3), -5, 5), A((3,), -5, 5)],
       lambda a, b: a @ b, kw={"dimension_numbers": (((1,), (0,)), ((), ()))},
       dtypes=INTS, order=0, tag="[int]")
lax_op("sort", [Distinct((3, 4))], lambda x: np.sort(x, axis=-1))
lax_op("sort", [Distinct((3, 4))], lambda x: np.sort(x, axis=0), kw={"dimension": 0})
lax_op("sort", [Const([3.0, NAN, -INF, 1.0, -0.0, INF, 0.5])], np.sort, order=0,
       tag="[edge]")
add("lax.sort(keys,values;num_keys=1)",
    lambda k, v: tuple(lax.sort((k, v), num_keys=1)), [Distinct((5,)), A((5,))],
    lambda k, v: (np.sort(k), v[np.argsort(k)]))


# ----------------------------------------------------------------------------
# trax.numpy: elementwise, with numpy broadcasting and promotion

_JNP_UNARY = [  # name, generator
    ("sin", A), ("cos", A), ("tan", lambda s: A(s, -1.2, 1.2)),
    ("arcsin", lambda s: A(s, -0.9, 0.9)), ("arccos", lambda s: A(s, -0.9, 0.9)),
    ("arctan", A), ("sinh", A), ("cosh", A), ("tanh", A), ("arcsinh", A),
    ("arccosh", lambda s: A(s, 1.2, 3)), ("arctanh", lambda s: A(s, -0.9, 0.9)),
    ("exp", A), ("exp2", A), ("expm1", A), ("log", P), ("log2", P), ("log10", P),
    ("log1p", lambda s: A(s, -0.5, 2)), ("sqrt", P), ("cbrt", NZ), ("square", A),
    ("reciprocal", NZ), ("abs", NZ), ("absolute", NZ), ("negative", A), ("positive", A),
    ("sign", NZ), ("floor", A), ("ceil", A), ("round", A), ("rint", A), ("trunc", A),
    ("fix", A), ("deg2rad", A), ("rad2deg", A),
]
for _name, _gen in _JNP_UNARY:
    op("jnp", _name, [_gen((2, 3))],
       order=1 if _name in ("sign", "floor", "ceil", "round", "rint", "trunc", "fix") else 2)
for _name in ("sin", "exp", "log", "sqrt", "abs", "sign", "floor", "round", "trunc",
              "arctanh", "reciprocal", "square", "cbrt"):
    with np.errstate(all="ignore"):
        op("jnp", _name, [Const(EDGE)], sign_ref if _name == "sign" else None, tag="[edge]",
           order=0, signed_zeros=True)
for _name in ("isnan", "isinf", "isfinite", "signbit"):
    op("jnp", _name, [Const(EDGE)], order=0)
op("jnp", "logical_not", [A((2, 3))], dtypes=(BOOL,), order=0)
for _name in ("sin", "exp", "sqrt", "abs", "square", "negative"):
    op("jnp", _name, [A((2, 3), 0, 9)], dtypes=(I32, I64, BOOL) if _name == "square"
       else INTS, order=0, tag="[int]", check_dtype=True)

_JNP_BINARY = [  # name, generators, order
    ("add", (A, A), 2), ("subtract", (A, A), 2), ("multiply", (A, A), 2),
    ("divide", (A, NZ), 2), ("true_divide", (A, NZ), 2), ("power", (P, A), 2),
    ("maximum", (A, A), 2), ("minimum", (A, A), 2), ("fmax", (A, A), 2),
    ("fmin", (A, A), 2), ("arctan2", (NZ, NZ), 2), ("hypot", (NZ, NZ), 2),
    ("logaddexp", (A, A), 2), ("copysign", (NZ, NZ), 1), ("mod", (A, NZ), 1),
    ("remainder", (A, NZ), 1), ("fmod", (A, NZ), 1), ("floor_divide", (A, NZ), 1),
]
for _name, (_g1, _g2), _order in _JNP_BINARY:
    op("jnp", _name, [_g1((2, 3)), _g2((2, 3))], order=_order)
    op("jnp", _name, [_g1((2, 1)), _g2((3,))], order=_order)
for _name in ("add", "multiply", "maximum", "power", "divide"):
    op("jnp", _name, [P((3,), dtype=F32), P((2, 1), dtype=F64)], dtypes=(F64,),
       tag="[promote]")
for _name in ("add", "multiply", "divide", "floor_divide", "mod", "maximum"):
    op("jnp", _name, [A((2, 3), -9, 9), NZ((3,), 1, 4, dtype=I64)], dtypes=INTS,
       order=0, tag="[int]")
for _name in ("add", "true_divide", "power"):
    op("jnp", _name, [P((2, 3), dtype=I32), P((3,))], dtypes=FLOATS, tag="[int-float]",
       order=1)
for _name in ("divide", "mod", "power", "maximum", "fmax", "arctan2",
              "copysign", "logaddexp", "hypot"):
    op("jnp", _name, [Const(_EX), Const(_EY)], tag="[edge]", order=0)
for _name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"):
    op("jnp", _name, [A((2, 3), -2, 2), A((3,), -2, 2)], dtypes=FLOATS + INTS, order=0)
for _name in ("logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
              "bitwise_xor"):
    op("jnp", _name, [A((2, 3)), A((2, 3))], dtypes=(BOOL,), order=0)
for _name in ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"):
    op("jnp", _name, [A((2, 3), 0, 20), A((2, 3), 0, 3)], dtypes=INTS, order=0, tag="[int]")
op("jnp", "where", [A((2, 3), dtype=BOOL), A((2, 3)), A((3,))])
op("jnp", "where", [A((2, 1), dtype=BOOL), A(()), A((3,), dtype=F32)], dtypes=(F64,),
   tag="[promote]")
op("jnp", "clip", [A((2, 3))], kw={"a_min": -0.5, "a_max": 0.5},
   ref=lambda x: np.clip(x, -0.5, 0.5))
op("jnp", "clip", [A((2, 3)), A((3,), -0.7, -0.3), A((2, 1), 0.3, 0.7)], tag="[arrays]")
add("jnp.nan_to_num[edge]", lambda x: jnp.nan_to_num(x), [Const(EDGE)], np.nan_to_num,
    order=0)
add("jnp.nan_to_num", lambda x: jnp.nan_to_num(x), [A((2, 3))], np.nan_to_num)

# Python operators and weak scalars on tracers (eager inputs are numpy arrays)
_OPERATORS = [
    ("x+y", lambda x, y: x + y, (A, A)), ("x-y", lambda x, y: x - y, (A, A)),
    ("x*y", lambda x, y: x * y, (A, A)), ("x/y", lambda x, y: x / y, (A, NZ)),
    ("x**y", lambda x, y: x ** y, (P, A)), ("x//y", lambda x, y: x // y, (A, NZ)),
    ("x%y", lambda x, y: x % y, (A, NZ)), ("x@y", lambda x, y: x @ y.T, (A, A)),
]
for _tag, _f, (_g1, _g2) in _OPERATORS:
    add(f"op[{_tag}]", _f, [_g1((2, 3)), _g2((2, 3))], _f,
        order=1 if _tag in ("x//y", "x%y") else 2)
_SCALAR_OPS = [
    ("x*2.0", lambda x: x * 2.0), ("2.0*x", lambda x: 2.0 * x), ("x+1", lambda x: x + 1),
    ("1-x", lambda x: 1 - x), ("1/x", lambda x: 1 / x), ("x/2", lambda x: x / 2),
    ("x**2", lambda x: x ** 2), ("x**0.5", lambda x: x ** 0.5), ("2.0**x", lambda x: 2.0 ** x),
    ("-x", lambda x: -x), ("+x", lambda x: +x), ("abs(x)", abs), ("x%1.5", lambda x: x % 1.5),
    ("x>0", lambda x: x > 0), ("x==x", lambda x: x == x), ("0.5<=x", lambda x: 0.5 <= x),
]
for _tag, _f in _SCALAR_OPS:
    _cmp = any(c in _tag for c in "<>=")
    add(f"op[{_tag}]", _f, [P((2, 3))], _f, order=0 if _cmp else 2)
for _tag, _f in [("x*2", lambda x: x * 2), ("x//3", lambda x: x // 3), ("x%3", lambda x: x % 3),
                 ("x/2", lambda x: x / 2), ("x*1.5", lambda x: x * 1.5),
                 ("~x", lambda x: ~x), ("x&6", lambda x: x & 6), ("x|1", lambda x: x | 1),
                 ("x^3", lambda x: x ^ 3), ("x<<1", lambda x: x << 1), ("-x", lambda x: -x)]:
    add(f"op[{_tag}][int]", _f, [A((2, 3), -9, 9)], _f, dtypes=INTS, order=0)
for _tag, _f in [("a&b", lambda a, b: a & b), ("a|b", lambda a, b: a | b),
                 ("a^b", lambda a, b: a ^ b), ("~a", lambda a, b: ~a)]:
    add(f"op[{_tag}][bool]", _f, [A((2, 3)), A((2, 3))], _f, dtypes=(BOOL,), order=0)

# ----------------------------------------------------------------------------
# trax.numpy: reductions

_REDUCTIONS = [  # name, generator, order
    ("sum", A, 2), ("prod", NZ, 2), ("mean", A, 2), ("max", Distinct, 2),
    ("min", Distinct, 2), ("amax", Distinct, 2), ("amin", Distinct, 2), ("var", A, 2),
    ("std", A, 2), ("ptp", Distinct, 2), ("argmax", A, 0), ("argmin", A, 0),
    ("all", A, 0), ("any", A, 0), ("count_nonzero", A, 0),
]
for _name, _gen, _order in _REDUCTIONS:
    for _kw in ({}, {"axis": 0}, {"axis": 1}, {"axis": -1, "keepdims": True},
                {"axis": (0, 2)}):
        if _name in ("argmax", "argmin") and isinstance(_kw.get("axis"), tuple):
            continue
        if _name == "count_nonzero" and "keepdims" in _kw:
            continue
        _shape = (2, 3, 2) if "axis" in _kw and isinstance(_kw["axis"], tuple) else (2, 3)
        op("jnp", _name, [_gen(_shape)], kw=_kw, order=_order)
for _name in ("sum", "prod", "mean", "max", "argmax", "all", "any", "cumsum"):
    op("jnp", _name, [A((2, 3), -3, 3)], kw={"axis": 1}, dtypes=(I32, I64, BOOL),
       order=0, tag="[int]")
for _name in ("sum", "prod", "any", "all"):
    op("jnp", _name, [A((2, 0))], kw={"axis": 1}, order=0, tag="[empty]")
op("jnp", "sum", [A(())], tag="[0d]")
op("jnp", "max", [Const([[1.0, NAN], [-INF, 2.0]])], kw={"axis": 1}, order=0, tag="[edge]")
op("jnp", "sum", [Const([1.0, INF, -INF])], order=0, tag="[edge]")
op("jnp", "var", [A((2, 3))], kw={"ddof": 1})
add("jnp.average(2x3,3;axis=1)", lambda x, w: jnp.average(x, axis=1, weights=w),
    [A((2, 3)), P((3,))], lambda x, w: np.average(x, axis=1, weights=w))
op("jnp", "median", [Distinct((2, 5))], kw={"axis": 1}, order=1)
op("jnp", "nansum", [Const([1.0, NAN, 2.0])], order=0)
op("jnp", "nanmax", [Const([1.0, NAN, 2.0])], order=0)
op("jnp", "nanmean", [Const([1.0, NAN, 2.0])], order=0)
for _name, _gen in [("cumsum", A), ("cumprod", NZ)]:
    for _kw in ({}, {"axis": 0}, {"axis": 1}):
        op("jnp", _name, [_gen((2, 3))], kw=_kw)
op("jnp", "diff", [A((2, 5))], kw={"axis": 1})
op("jnp", "diff", [A((6,))], kw={"n": 2})

# ----------------------------------------------------------------------------
# trax.numpy: shapes and creation

add("jnp.reshape(2x3;(3,-1))", lambda x: jnp.reshape(x, (3, -1)), [A((2, 3))],
    lambda x: np.reshape(x, (3, -1)))
add("jnp.reshape(2x3;-1)", lambda x: jnp.reshape(x, -1), [A((2, 3))],
    lambda x: np.reshape(x, -1))
op("jnp", "transpose", [A((2, 3, 4))])
op("jnp", "transpose", [A((2, 3, 4))], kw={"axes": (1, 0, 2)})
op("jnp", "swapaxes", [A((2, 3, 4))], kw={"axis1": 0, "axis2": 2})
op("jnp", "moveaxis", [A((2, 3, 4))], kw={"source": 0, "destination": -1})
op("jnp", "squeeze", [A((1, 3, 1))])
op("jnp", "squeeze", [A((1, 3, 1))], kw={"axis": 2})
op("jnp", "expand_dims", [A((2, 3))], kw={"axis": 1})
op("jnp", "expand_dims", [A((2, 3))], kw={"axis": (0, -1)})
op("jnp", "ravel", [A((2, 3))])
op("jnp", "flip", [A((2, 3))])
op("jnp", "flip", [A((2, 3))], kw={"axis": 1})
op("jnp", "fliplr", [A((2, 3))])
op("jnp", "roll", [A((2, 3))], kw={"shift": 1})
op("jnp", "roll", [A((2, 3))], kw={"shift": -1, "axis": 1})
op("jnp", "rot90", [A((2, 3))])
op("jnp", "tile", [A((2, 3))], kw={"reps": (2, 1)})
op("jnp", "repeat", [A((2, 3))], kw={"repeats": 2, "axis": 1})
op("jnp", "repeat", [A((2, 3))], kw={"repeats": 2})
op("jnp", "broadcast_to", [A((3,))], kw={"shape": (2, 3)})
op("jnp", "atleast_1d", [A(())])
op("jnp", "atleast_2d", [A((3,))])
op("jnp", "atleast_3d", [A((2, 3))])
op("jnp", "tril", [A((3, 3))])
op("jnp", "triu", [A((3, 4))], kw={"k": 1})
op("jnp", "diag", [A((3,))])
op("jnp", "diag", [A((3, 3))], tag="[extract]")
op("jnp", "diagonal", [A((3, 4))], kw={"offset": 1})
op("jnp", "trace", [A((3, 3))])
op("jnp", "pad", [A((2, 3))], kw={"pad_width": ((1, 0), (2, 1))})
op("jnp", "pad", [A((2, 3))], kw={"pad_width": 1, "constant_values": 2.5})
op("jnp", "pad", [A((3,))], kw={"pad_width": 2, "mode": "edge"}, order=1)
op("jnp", "sort", [Distinct((3, 4))])
op("jnp", "sort", [Distinct((3, 4))], kw={"axis": 0})
op("jnp", "argsort", [Distinct((3, 4))], order=0)
op("jnp", "argsort", [Const([2.0, 1.0, 2.0, 1.0, 0.0])], order=0, tag="[stable]")
op("jnp", "take", [A((4, 3)), I((2, 2), 0, 3)])
op("jnp", "take", [A((4, 3)), I((5,), 0, 2)], kw={"axis": 1})
op("jnp", "take_along_axis", [A((3, 4)), I((3, 2), 0, 3)], kw={"axis": 1})
add("jnp.concatenate(2x3,1x3)", lambda a, b: jnp.concatenate([a, b]), [A((2, 3)), A((1, 3))],
    lambda a, b: np.concatenate([a, b]))
add("jnp.concatenate(2x3,2x1;axis=-1)", lambda a, b: jnp.concatenate([a, b], axis=-1),
    [A((2, 3)), A((2, 1))], lambda a, b: np.concatenate([a, b], axis=-1))
add("jnp.concatenate[promote]", lambda a, b: jnp.concatenate([a, b]),
    [A((2,), dtype=F32), A((3,), -5, 5, dtype=I64)], lambda a, b: np.concatenate([a, b]),
    dtypes=(F64,), order=0)
for _fname in ("stack", "hstack", "vstack", "column_stack", "dstack"):
    add(f"jnp.{_fname}(3,3)", lambda a, b, f=_fname: getattr(jnp, f)([a, b]),
        [A((3,)), A((3,))], lambda a, b, f=_fname: getattr(np, f)([a, b]))
add("jnp.stack(2x3,2x3;axis=2)", lambda a, b: jnp.stack([a, b], axis=2),
    [A((2, 3)), A((2, 3))], lambda a, b: np.stack([a, b], axis=2))
add("jnp.split(6;3)", lambda x: tuple(jnp.split(x, 3)), [A((6,))],
    lambda x: tuple(np.split(x, 3)))
add("jnp.split(2x5;[1,3];axis=1)", lambda x: tuple(jnp.split(x, [1, 3], axis=1)),
    [A((2, 5))], lambda x: tuple(np.split(x, [1, 3], axis=1)))
add("jnp.zeros", lambda: jnp.zeros((2, 3)), [], lambda: np.zeros((2, 3)), dtypes=(F64,),
    order=0)
add("jnp.ones(f32)", lambda: jnp.ones(3, F32), [], lambda: np.ones(3, F32), dtypes=(F32,),
    order=0)
add("jnp.full", lambda v: jnp.full((2, 3), v), [A(())], lambda v: np.full((2, 3), v))
add("jnp.zeros_like", lambda x: jnp.zeros_like(x), [A((2, 3))], np.zeros_like)
add("jnp.ones_like", lambda x: jnp.ones_like(x), [A((2, 3))], np.ones_like)
add("jnp.full_like", lambda x: jnp.full_like(x, 7), [A((2, 3))],
    lambda x: np.full_like(x, 7))
add("jnp.eye", lambda: jnp.eye(3, 4, k=1), [], lambda: np.eye(3, 4, k=1), dtypes=(F64,),
    order=0)
add("jnp.identity", lambda: jnp.identity(3, F32), [], lambda: np.identity(3, F32),
    dtypes=(F32,), order=0)
add("jnp.arange(5)", lambda: jnp.arange(5), [], lambda: np.arange(5), dtypes=(I64,),
    order=0)
add("jnp.arange(1,2,0.25)", lambda: jnp.arange(1, 2, 0.25), [],
    lambda: np.arange(1, 2, 0.25), dtypes=(F64,), order=0)
add("jnp.linspace", lambda: jnp.linspace(0.0, 1.0, 5), [], lambda: np.linspace(0.0, 1.0, 5),
    dtypes=(F64,), order=0)
add("jnp.meshgrid", lambda x, y: tuple(jnp.meshgrid(x, y)), [A((3,)), A((2,))],
    lambda x, y: tuple(np.meshgrid(x, y)))
add("jnp.array(list)", lambda x: jnp.array([x, 2 * x]), [A((3,))],
    lambda x: np.array([x, 2 * x]))
add("jnp.asarray(f32)", lambda x: jnp.asarray(x, F32), [A((3,))],
    lambda x: np.asarray(x, F32), dtypes=(F64,), order=1)
add("x.astype(f32)", lambda x: jnp.asarray(x).astype(F32), [A((3,))],
    lambda x: x.astype(F32), dtypes=(F64,), order=1)
add("jnp.outer", lambda a, b: jnp.outer(a, b), [A((3,)), A((2,))], np.outer)

# methods and properties of arrays (tracers under transformations)
_METHODS = [
    ("x.T", lambda x: x.T), ("x.sum(axis=0)", lambda x: x.sum(axis=0)),
    ("x.mean()", lambda x: x.mean()), ("x.max(axis=1)", lambda x: x.max(axis=1)),
    ("x.reshape(3,2)", lambda x: x.reshape(3, 2)), ("x.reshape((6,))", lambda x: x.reshape((6,))),
    ("x.ravel()", lambda x: x.ravel()), ("x.transpose()", lambda x: x.transpose()),
    ("x.astype(f32)", lambda x: x.astype(F32)), ("x.prod()", lambda x: x.prod()),
    ("x.std()", lambda x: x.std()), ("x.cumsum(axis=1)", lambda x: x.cumsum(axis=1)),
    ("x.dot(x.T)", lambda x: x.dot(x.T)), ("x.clip(0,1)", lambda x: x.clip(0, 1)),
    ("x.flatten()", lambda x: x.flatten()), ("x.squeeze()", lambda x: x[None].squeeze()),
    ("len(x)*x", lambda x: len(x) * x), ("x.shape[1]*x", lambda x: x.shape[1] * x),
    ("x.ndim*x.size*x", lambda x: x.ndim * x.size * x),
]
for _tag, _f in _METHODS:
    add(f"method[{_tag}]", _f, [NZ((2, 3))], _f, tol=2)

# ----------------------------------------------------------------------------
# trax.numpy: indexing

_INDEXING = [
    ("x[1]", lambda x: x[1]), ("x[-1,1:]", lambda x: x[-1, 1:]),
    ("x[::2,::-1]", lambda x: x[::2, ::-1]), ("x[...,None,0]", lambda x: x[..., None, 0]),
    ("x[None,1]", lambda x: x[None, 1]), ("x[:,None]", lambda x: x[:, None]),
    ("x[1:-1]", lambda x: x[1:-1]), ("x[5:]", lambda x: x[5:]),
    ("x[[0,2,2]]", lambda x: x[np.array([0, 2, 2])]), ("x[[-1,0]]", lambda x: x[[-1, 0]]),
    ("x[1,[0,2]]", lambda x: x[1, np.array([0, 2])]),
    ("x[[0,2],[1,0]]", lambda x: x[np.array([0, 2]), np.array([1, 0])]),
    ("x[:,[2,0]]", lambda x: x[:, np.array([2, 0])]), ("x[()]", lambda x: x[()]),
    ("x[np.int64(1)]", lambda x: x[np.int64(1)]),
]
for _tag, _f in _INDEXING:
    add(f"index[{_tag}]", _f, [A((4, 3))], _f)
add("index[x[i]]", lambda x, i: x[i], [A((4, 3)), I((), -4, 3)], lambda x, i: x[i])
add("index[x[idx]]", lambda x, i: x[i], [A((4, 3)), I((2, 2), -4, 3)], lambda x, i: x[i])
add("index[x[idx,1]]", lambda x, i: x[i, 1], [A((4, 3)), I((3,), 0, 3)],
    lambda x, i: x[i, 1])
add("index[x[:,idx]]", lambda x, i: x[:, i], [A((4, 3)), I((2,), 0, 2)],
    lambda x, i: x[:, i])


def _at_ref(method, idx):
    def ref(x, v):
        out = x.copy()
        if method == "set":
            out[idx] = v
        else:
            getattr(np, {"add": "add", "mul": "multiply", "min": "minimum",
                         "max": "maximum"}[method]).at(out, idx, v)
        return out
    return ref


for _method in ("set", "add", "mul", "min", "max"):
    for _tag, _idx, _vshape in [("1", 1, (3,)), ("[0,0,2]", np.array([0, 0, 2]), (3, 3)),
                                ("1:3,::2", (slice(1, 3), slice(None, None, 2)), (2, 2)),
                                ("...,1", (Ellipsis, 1), ())]:
        if _method == "set" and _tag == "[0,0,2]":
            _idx = np.array([0, 3, 2])
        add(f"at[{_tag}].{_method}",
            lambda x, v, m=_method, i=_idx: getattr(jnp.asarray(x).at[i], m)(v),
            [A((4, 3)), A(_vshape)], _at_ref(_method, _idx),
            order=1 if _method in ("min", "max") else 2)
add("at[i].get", lambda x, i: jnp.asarray(x).at[i].get(), [A((4, 3)), I((2,), 0, 3)],
    lambda x, i: x[i])
add("at[i].add[traced-index]", lambda x, i, v: jnp.asarray(x).at[i].add(v),
    [A((4,)), I((3,), 0, 3), A((3,))], lambda x, i, v: _at_ref("add", i)(x, v))

# ----------------------------------------------------------------------------
# trax.numpy: linear algebra

op("jnp", "dot", [A((3,)), A((3,))])
op("jnp", "dot", [A((2, 3)), A((3,))])
op("jnp", "dot", [A((2, 3)), A((3, 4))])
op("jnp", "dot", [A((2, 3)), A(())], tag="[scalar]")
op("jnp", "dot", [A((2, 3), -5, 5), A((3,), -5, 5)], dtypes=INTS, order=0, tag="[int]")
op("jnp", "matmul", [A((2, 3, 4)), A((4, 2))])
op("jnp", "matmul", [A((3, 4)), A((2, 4, 2))])
op("jnp", "matmul", [A((4,)), A((2, 4, 3))])
op("jnp", "matmul", [A((2, 3)), A((3,), dtype=F32)], dtypes=(F64,), tag="[promote]")
op("jnp", "vdot", [A((2, 3)), A((2, 3))])
op("jnp", "inner", [A((2, 3)), A((4, 3))])
op("jnp", "tensordot", [A((2, 3, 4)), A((4, 3))], kw={"axes": ((1, 2), (1, 0))})
op("jnp", "tensordot", [A((2, 3)), A((3, 2))], kw={"axes": 1})
op("jnp", "kron", [A((2, 2)), A((1, 3))])
op("jnp", "cross", [A((2, 3)), A((2, 3))])
for _spec, _shapes in [("ij,jk->ik", ((2, 3), (3, 4))), ("bij,bjk->bik", ((2, 2, 3), (2, 3, 2))),
                       ("ii->i", ((3, 3),)), ("ij->", ((2, 3),)), ("i,j->ij", ((2,), (3,))),
                       ("ij,ij->i", ((2, 3), (2, 3))), ("...ij,...jk", ((2, 2, 3), (3, 2)))]:
    add(f"jnp.einsum({_spec})", lambda *a, s=_spec: jnp.einsum(s, *a),
        [A(s) for s in _shapes], lambda *a, s=_spec: np.einsum(s, *a))
for _kw, _shape in [({}, (3,)), ({"ord": 1}, (3,)), ({"ord": np.inf}, (3,)), ({}, (2, 3)),
                    ({"ord": "fro"}, (2, 3)), ({"axis": 1}, (2, 3)),
                    ({"axis": -1, "keepdims": True}, (2, 3)), ({"ord": 1}, (3, 3))]:
    op("jnp", "linalg.norm", [NZ(_shape)], kw=_kw)

# ----------------------------------------------------------------------------
# trax.nn

def _np_nn(fn):
    def ref(x, **kw):
        with np.errstate(all="ignore"):
            return fn(x, **kw).astype(x.dtype)
    return ref


_NN = [  # name, reference, generator, kwargs
    ("relu", lambda x: np.maximum(x, 0), NZ, {}),
    ("relu6", lambda x: np.clip(x, 0, 6), lambda s: NZ(s, 0.5, 8), {}),
    ("sigmoid", logistic_ref, A, {}),
    ("softplus", lambda x: np.logaddexp(x, 0), A, {}),
    ("log_sigmoid", lambda x: -np.logaddexp(-x, 0), A, {}),
    ("silu", lambda x: x * logistic_ref(x), A, {}),
    ("swish", lambda x: x * logistic_ref(x), A, {}),
    ("gelu", gelu_ref, A, {}),
    ("gelu", lambda x: gelu_ref(x, False), A, {"approximate": False}),
    ("elu", lambda x: np.where(x > 0, x, np.expm1(x)), NZ, {}),
    ("leaky_relu", lambda x: np.where(x >= 0, x, 0.01 * x), NZ, {}),
    ("softmax", softmax_ref, A, {}),
    ("softmax", lambda x: softmax_ref(x, 0), A, {"axis": 0}),
    ("log_softmax", lambda x: np.log(softmax_ref(x)), A, {}),
    ("logsumexp", logsumexp_ref, A, {}),
    ("logsumexp", lambda x: logsumexp_ref(x, 1), A, {"axis": 1}),
    ("logsumexp", lambda x: logsumexp_ref(x, 1, True), A, {"axis": 1, "keepdims": True}),
]
for _name, _ref, _gen, _kw in _NN:
    op("nn", _name, [_gen((2, 3))], ref=_np_nn(_ref), kw=_kw, tol=2)
op("nn", "softmax", [Const([[0.0, -INF, 1.0], [1000.0, 1000.0, -1000.0]])], order=0,
   ref=softmax_ref, tag="[edge]")
op("nn", "logsumexp", [Const([[-INF, -INF], [INF, 1.0], [1000.0, 1000.0]])],
   kw={"axis": 1}, ref=lambda x: logsumexp_ref(x, 1), order=0, tag="[edge]")
op("nn", "relu", [Const(EDGE)], ref=lambda x: np.maximum(x, 0), order=0, tag="[edge]")
op("nn", "sigmoid", [Const([-INF, INF, 0.0, -800.0, 800.0])], ref=logistic_ref, order=0,
   tag="[edge]")
add("nn.one_hot", lambda i: nn.one_hot(i, 4), [I((5,), 0, 3)],
    lambda i: (i[:, None] == np.arange(4)).astype(F64), dtypes=(I64,), order=0)
add("nn.one_hot(f32)", lambda i: nn.one_hot(i, 3, dtype=F32), [I((2, 2), -1, 3)],
    lambda i: (i[..., None] == np.arange(3)).astype(F32), dtypes=(I64,), order=0)
add("nn.standardize", lambda x: nn.standardize(x, axis=-1), [A((2, 4))],
    lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5),
    tol=10)


# ----------------------------------------------------------------------------
# control flow: cond / switch (branches see the operands; closures work too)

add("lax.cond(pred,3)",
    lambda p, x: lax.cond(p, lambda x: lax.mul(lax.sin(x), x), lambda x: x * x * x, x),
    [A((), dtype=BOOL), A((3,))], lambda p, x: np.where(p, np.sin(x) * x, x * x * x))
add("lax.cond(int pred,2x2;closure)",
    lambda p, x: lax.cond(p, lambda: x * 2.0, lambda: lax.neg(x)),
    [A((), 0, 2, dtype=I64), A((2, 2))], lambda p, x: np.where(p != 0, x * 2, -x))
add("lax.switch(index,3;pytree)",
    lambda i, x, y: lax.switch(i, [lambda x, y: (x * y, x),
                                   lambda x, y: (lax.sin(x) + y, y * x * x),
                                   lambda x, y: (x - y, lax.exp(x))], x, y),
    [A((), -1, 3, dtype=I64), A((3,)), A(())],
    lambda i, x, y: [(x * y, x), (np.sin(x) + y, y * x * x),
                     (x - y, np.exp(x))][min(max(int(i), 0), 2)])


# ----------------------------------------------------------------------------
# control flow: loops (a traced trip count is a while loop, forward mode only)

def _scan_ref(c, xs):
    ys = []
    for x in xs:
        c, y = c * x + np.sin(c), c * 2.0
        ys.append(y)
    return c, np.stack(ys)


add("lax.scan(carry,ys)",
    lambda c, xs: lax.scan(lambda c, x: (c * x + lax.sin(c), c * 2.0), c, xs),
    [A((2,)), A((4, 2))], _scan_ref)
add("lax.scan(reverse)",
    lambda c, xs: lax.scan(lambda c, x: (c * x + lax.sin(c), c * 2.0), c, xs,
                           reverse=True),
    [A((2,)), A((4, 2))], lambda c, xs: (lambda r: (r[0], r[1][::-1]))(_scan_ref(c, xs[::-1])))
add("lax.map", lambda xs: lax.map(lambda x: lax.exp(x) * x, xs), [A((3, 2))],
    lambda xs: np.exp(xs) * xs)
add("lax.fori_loop(static)", lambda x: lax.fori_loop(0, 3, lambda i, y: y * x + i, x),
    [A((3,))], lambda x: ((x * x + 0) * x + 1) * x + 2)
add("lax.while_loop(newton)",
    lambda a: lax.while_loop(lambda c: c[1] < 6, lambda c: ((c[0] + a / c[0]) * 0.5, c[1] + 1),
                             (a, 0))[0],
    [A((4,), 0.5, 3.0)], lambda a: _newton_ref(a), order=0)


def _newton_ref(a):
    x = a
    for _ in range(6):
        x = (x + a / x) * 0.5
    return x
