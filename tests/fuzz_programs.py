"""Random small trax.numpy programs, as data, for tests/test_fuzz.py.

A program is a list of input specs and a list of steps; each step is one line
of Python over earlier values (``v3 = jnp.sin(x0) * v1``), so a program prints
as the source of the function it becomes, and a failing case can be pasted
and rerun. Every value carries what the generator knows of it: its shape and
dtype, a bound on its magnitude, an estimate of its absolute rounding error
(how far a correct eager and a correct jit result may differ), and whether it
is computed exactly (only exact values feed discontinuous ops such as
comparisons, floor or float->int casts, so that rounding differences cannot
flip a discrete result). Magnitudes stay bounded, so no program makes inf or
nan, except where a step makes them on purpose just before casting them to
int32 (which saturates, NaN -> 0). Integer-array indices may be out of range
and negative (gathers clamp or fill, scatters drop, as JAX). Control flow
(``lax.cond``, ``lax.scan``, ``lax.fori_loop``, ``lax.while_loop``) runs
small random sub-programs as its bodies, printed as nested functions.

With ``grad=True`` programs use only float64, smooth ops on the float inputs
(conditions and indices come from integer/bool inputs) and return a scalar,
so that derivatives can be checked against finite differences; they have no
``while_loop`` and no casts of big floats.
"""
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from trax import lax

# unit roundoff per dtype; ints and bools are exact
EPS = {"float32": 2.0 ** -24, "float64": 2.0 ** -53, "int32": 0.0, "int64": 0.0, "bool": 0.0}
FLOATS = ("float32", "float64")
MAX_BOUND = {"float32": 1e5, "float64": 1e6, "int32": 2 ** 24, "int64": 2 ** 40, "bool": 1}
INPUT_BOUND = {"float32": 2.0, "float64": 2.0, "int32": 4, "bool": 1}
LETTERS = "abcdefg"


@dataclass
class Val:
    """One value of a program: a function argument or a step's result."""
    name: str
    shape: tuple
    dtype: str
    bound: float = 1.0
    err: float = 0.0
    exact: bool = False
    range: tuple = None     # an index input's (lo, hi) instead of +-bound

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def is_float(self):
        return self.dtype in FLOATS


class _NoInput(Exception):
    """A sub-program (a control-flow body) cannot add function inputs."""


class Program:
    """Inputs, steps (value, expression) and the names returned; ``pre``
    maps a step's name to the lines (nested functions) written before it."""

    def __init__(self, inputs, steps, outputs, grad, pre=None):
        self.inputs, self.steps, self.outputs, self.grad = inputs, steps, outputs, grad
        self.pre = pre or {}

    def source(self):
        """The program as the Python source of a function ``f``."""
        args = ", ".join(v.name for v in self.inputs)
        lines = [f"def f({args}):"]
        for v, expr in self.steps:
            lines += ["    " + line for line in self.pre.get(v.name, ())]
            lines.append(f"    {v.name} = {expr}")
        lines.append(f"    return {self.outputs[0] if self.grad else '(' + ', '.join(self.outputs) + ',)'}")
        return "\n".join(lines)

    def __repr__(self):
        return self.describe()

    def describe(self):
        """The source plus each input's shape, dtype and value range."""
        specs = [f"#   {v.name}: {v.dtype}{list(v.shape)} in {list(v.range or (-v.bound, v.bound))}"
                 for v in self.inputs]
        return "\n".join(["# inputs:"] + specs + [self.source()])

    def build(self, jnp, nn):
        """The function ``f`` built from the source over trax's modules."""
        scope = {"jnp": jnp, "nn": nn, "np": np, "lax": lax}
        exec(self.source(), scope)
        return scope["f"]

    def float_inputs(self):
        return [i for i, v in enumerate(self.inputs) if v.is_float]

    def values(self):
        """Every value of the program with its name, inputs first."""
        return {v.name: v for v in self.inputs + [s for s, _ in self.steps]}


def _promote(a, b):
    """trax's (NumPy 2's) promotion of two non-weak dtypes."""
    return np.promote_types(a, b).name


def _sum_dtype(dtype):
    """numpy accumulates bools and int32 in int64."""
    return "int64" if dtype in ("bool", "int32") else dtype


def _broadcast(a, b):
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


class _Gen:
    """The state of drawing one program."""

    def __init__(self, draw, grad, prefix="v", sub=False):
        self.draw, self.grad, self.prefix, self.sub = draw, grad, prefix, sub
        self.inputs, self.steps, self.used, self.pre = [], [], set(), {}

    # -- helpers ---------------------------------------------------------
    def pool(self):
        return self.inputs + [v for v, _ in self.steps]

    def pick(self, pred=lambda v: True):
        """A value of the pool satisfying ``pred``, newest first, or None."""
        cands = [v for v in reversed(self.pool()) if pred(v)]
        if not cands:
            return None
        return self.draw(st.sampled_from(cands))

    def new_input(self, shape, dtype, bound=None):
        if self.sub:
            raise _NoInput
        v = Val(f"x{len(self.inputs)}", tuple(shape), dtype,
                bound=INPUT_BOUND[dtype] if bound is None else bound, exact=True)
        self.inputs.append(v)
        return v

    def emit(self, expr, operands, shape, dtype, bound, err=0.0, exact=False, pre=()):
        """Append a step; the error gets the result's own rounding added."""
        bound = float(bound) if dtype in FLOATS else int(math.ceil(bound))
        if dtype not in FLOATS:
            err, exact = 0.0, True
        v = Val(self.next_name(), tuple(shape), dtype, bound,
                err + (0.0 if exact else EPS[dtype] * bound), exact)
        if pre:
            self.pre[v.name] = pre
        self.steps.append((v, expr))
        self.used.update(o.name for o in operands)
        return v

    def next_name(self):
        return f"{self.prefix}{len(self.steps)}"

    def step(self, ops):
        """Append one step of a random op of ``ops`` (trying a few)."""
        for _ in range(10):     # an op may not apply to the pool; try another
            try:
                if self.draw(st.sampled_from(ops))(self) is not None:
                    return
            except _NoInput:
                pass

    def fits(self, dtype, bound):
        return bound <= MAX_BOUND[dtype]

    def axis(self, v):
        return self.draw(st.integers(0, v.ndim - 1))

    # -- the program -----------------------------------------------------
    def program(self):
        draw = self.draw
        base = draw(st.lists(st.integers(1, 4) | st.sampled_from([5, 8, 9, 17]), max_size=3))
        while math.prod(base) > 512:
            base[base.index(max(base))] = 4
        if not self.grad and base and draw(st.integers(0, 9)) == 0:
            base[draw(st.integers(0, len(base) - 1))] = 0
        dtypes = ["float64"] if self.grad else [draw(st.sampled_from(FLOATS))]
        for k in range(draw(st.integers(1, 3))):
            # shapes broadcast against the base: a suffix with some sides 1
            nd = draw(st.integers(0, len(base)))
            shape = [1 if draw(st.booleans()) and draw(st.booleans()) else s
                     for s in base[len(base) - nd:]]
            if k == 0:
                dtype = dtypes[0]
            else:
                dtype = draw(st.sampled_from(dtypes + ["float32", "float64", "int32", "bool"]))
                if self.grad and dtype == "float32":
                    dtype = "float64"
            self.new_input(shape, dtype)
        ops = GRAD_OPS if self.grad else ALL_OPS
        for _ in range(draw(st.integers(1, 8))):
            self.step(ops)
        return Program(self.inputs, self.steps, self.outputs(), self.grad, self.pre)

    def outputs(self):
        pool = self.pool()
        leaves = [v for v in pool[len(self.inputs):] if v.name not in self.used]
        if self.grad:   # every float leaf counts towards the scalar
            floats = [v for v in leaves if v.is_float] or [v for v in pool if v.is_float][-1:]
            return [" + ".join(f"jnp.sum({v.name})" for v in floats)]
        return [v.name for v in leaves or pool[-1:]][-3:]


# -- elementwise ------------------------------------------------------------
# name: (template, smooth, continuous, out_bound(B), lipschitz(B), ulps, max_B)
UNARY = {
    "sin": ("jnp.sin({x})", True, True, lambda b: min(1, b), lambda b: 1, 4, 1e4),
    "cos": ("jnp.cos({x})", True, True, lambda b: 1, lambda b: 1, 4, 1e4),
    "tanh": ("jnp.tanh({x})", True, True, lambda b: min(1, b), lambda b: 1, 4, math.inf),
    "arctan": ("jnp.arctan({x})", True, True, lambda b: min(2, b), lambda b: 1, 4, math.inf),
    "exp": ("jnp.exp({x})", True, True, math.exp, math.exp, 4, 10),
    "expm1": ("jnp.expm1({x})", True, True, math.exp, math.exp, 4, 10),
    "sinh": ("jnp.sinh({x})", True, True, math.cosh, math.cosh, 4, 10),
    "cosh": ("jnp.cosh({x})", True, True, math.cosh, math.cosh, 4, 10),
    "arcsinh": ("jnp.arcsinh({x})", True, True, math.asinh, lambda b: 1, 4, 1e4),
    "log1p_sq": ("jnp.log1p({x} * {x})", True, True, lambda b: math.log1p(b * b),
                 lambda b: 1, 4, 1e3),
    "log_sq": ("jnp.log({x} * {x} + 1.0)", True, True, lambda b: math.log1p(b * b),
               lambda b: 1, 4, 1e3),
    "softplus_log": ("jnp.log(jnp.exp({x}) + 1.0)", True, True, lambda b: b + 1,
                     lambda b: 1, 6, 20),
    "sqrt_sq": ("jnp.sqrt({x} * {x} + 1.0)", True, True, lambda b: b + 1, lambda b: 1, 4, 1e3),
    "recip": ("1.0 / (1.0 + {x} * {x})", True, True, lambda b: 1, lambda b: 1, 4, 1e3),
    "square": ("jnp.square({x})", True, True, lambda b: b * b, lambda b: 2 * b, 1, 300),
    "cube": ("{x} ** 3", True, True, lambda b: b ** 3, lambda b: 3 * b * b, 2, 40),
    "sigmoid": ("nn.sigmoid({x})", True, True, lambda b: 1, lambda b: 0.25, 4, math.inf),
    "softplus": ("nn.softplus({x})", True, True, lambda b: b + 1, lambda b: 1, 4, 1e4),
    "negative": ("-{x}", True, True, lambda b: b, lambda b: 1, 0, math.inf),
    "abs": ("jnp.abs({x})", False, True, lambda b: b, lambda b: 1, 0, math.inf),
    "relu": ("nn.relu({x})", False, True, lambda b: b, lambda b: 1, 0, math.inf),
    "floor": ("jnp.floor({x})", False, False, lambda b: b + 1, lambda b: 0, 0, math.inf),
    "ceil": ("jnp.ceil({x})", False, False, lambda b: b + 1, lambda b: 0, 0, math.inf),
    "rint": ("jnp.rint({x})", False, False, lambda b: b + 1, lambda b: 0, 0, math.inf),
    "sign": ("jnp.sign({x})", False, False, lambda b: 1, lambda b: 0, 0, math.inf),
}
EXACT_UNARY = {"negative", "abs", "relu", "floor", "ceil", "rint", "sign"}
INT_UNARY = {"negative": "-{x}", "abs": "jnp.abs({x})", "sign": "jnp.sign({x})",
             "square": "jnp.square({x})"}


def op_unary(g):
    """A float unary op (domain-safe forms), an int unary op, or logical_not."""
    x = g.pick(lambda v: v.dtype != "bool" or not g.grad)
    if x is None:
        return None
    if x.dtype == "bool":
        return g.emit(f"jnp.logical_not({x.name})", [x], x.shape, "bool", 1)
    if not x.is_float:
        name = g.draw(st.sampled_from(sorted(INT_UNARY)))
        bound = x.bound ** 2 if name == "square" else x.bound
        if not g.fits(x.dtype, bound):
            return None
        return g.emit(INT_UNARY[name].format(x=x.name), [x], x.shape, x.dtype, bound)
    names = [n for n, spec in UNARY.items()
             if (spec[1] or not g.grad) and (spec[2] or x.exact) and x.bound <= spec[6]]
    name = g.draw(st.sampled_from(names))
    tmpl, _, _, out_bound, lip, ulps, _ = UNARY[name]
    bound = out_bound(x.bound)
    if not g.fits(x.dtype, bound):
        return None
    exact = x.exact and name in EXACT_UNARY
    err = lip(x.bound) * x.err + ulps * EPS[x.dtype] * bound
    return g.emit(tmpl.format(x=x.name), [x], x.shape, x.dtype, bound, err, exact)


def _partner(g, a, pred=lambda v: True):
    """A value broadcasting against ``a`` (often ``a`` itself)."""
    return g.pick(lambda v: _broadcast(a.shape, v.shape) is not None and pred(v))


def op_binary(g):
    """Arithmetic with broadcasting and promotion, or with a Python scalar."""
    numeric = lambda v: v.dtype != "bool"
    a = g.pick(numeric)
    if a is None:
        return None
    if g.draw(st.integers(0, 3)) == 0:      # a weakly typed Python scalar
        c = g.draw(st.sampled_from([2, 3, -1])) if not a.is_float else \
            g.draw(st.sampled_from([0.5, 1.5, -2.0, 3.0]))
        form = g.draw(st.sampled_from(["{a} * {c}", "{a} + {c}", "{c} - {a}"]))
        bound = a.bound * abs(c) if "*" in form else a.bound + abs(c)
        if not g.fits(a.dtype, bound):
            return None
        lip = abs(c) if "*" in form else 1
        return g.emit(form.format(a=a.name, c=c), [a], a.shape, a.dtype, bound,
                      lip * a.err, exact=False)
    b = _partner(g, a, numeric)
    shape = _broadcast(a.shape, b.shape)
    dtype = _promote(a.dtype, b.dtype)
    names = ["add", "sub", "mul"]
    if dtype in FLOATS:
        names += ["div", "logaddexp"]
        if not g.grad:
            names += ["hypot"]
    if not g.grad:
        names += ["maximum", "minimum"]
    name = g.draw(st.sampled_from(names))
    A, B = a.name, b.name
    ea, eb, ba, bb = a.err, b.err, a.bound, b.bound
    if name in ("add", "sub"):
        expr, bound, err = f"{A} {'+' if name == 'add' else '-'} {B}", ba + bb, ea + eb
    elif name == "mul":
        expr, bound, err = f"{A} * {B}", ba * bb, ea * bb + eb * ba
    elif name == "div":
        den = b.dtype if b.is_float else "float64"     # the dtype 1 + b * b is rounded in
        expr, bound, err = f"{A} / (1.0 + {B} * {B})", ba, ea + eb * ba + 3 * EPS[den] * ba
    elif name == "logaddexp":
        if max(ba, bb) > 1e3:
            return None
        expr, bound, err = f"jnp.logaddexp({A}, {B})", max(ba, bb) + 1, max(ea, eb)
        err += 4 * EPS[dtype] * bound
    elif name == "hypot":
        expr, bound, err = f"jnp.hypot({A}, {B})", ba + bb, ea + eb + 4 * EPS[dtype] * (ba + bb)
    else:
        expr, bound, err = f"jnp.{name}({A}, {B})", max(ba, bb), max(ea, eb)
        exact = a.exact and b.exact
        return g.emit(expr, [a, b], shape, dtype, bound, err, exact)
    if not g.fits(dtype, bound):
        return None
    return g.emit(expr, [a, b], shape, dtype, bound, err)


def op_compare(g):
    """A comparison of exact values, or a logical op of bools."""
    if g.draw(st.booleans()):
        a = g.pick(lambda v: v.dtype == "bool")
        if a is None:
            return None
        b = _partner(g, a, lambda v: v.dtype == "bool")
        name = g.draw(st.sampled_from(["logical_and", "logical_or", "logical_xor"]))
        return g.emit(f"jnp.{name}({a.name}, {b.name})", [a, b],
                      _broadcast(a.shape, b.shape), "bool", 1)
    ok = lambda v: v.exact and not (g.grad and v.is_float)
    a = g.pick(ok)
    if a is None:
        return None
    b = _partner(g, a, ok)
    op = g.draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    return g.emit(f"{a.name} {op} {b.name}", [a, b], _broadcast(a.shape, b.shape), "bool", 1)


def op_where(g):
    """``jnp.where`` with a bool condition and two broadcasting branches."""
    c = g.pick(lambda v: v.dtype == "bool")
    if c is None:
        return None
    a = _partner(g, c, lambda v: v.dtype != "bool")
    if a is None:
        return None
    b = g.pick(lambda v: v.dtype != "bool" and
               _broadcast(_broadcast(c.shape, a.shape), v.shape) is not None)
    shape = _broadcast(_broadcast(c.shape, a.shape), b.shape)
    return g.emit(f"jnp.where({c.name}, {a.name}, {b.name})", [c, a, b], shape,
                  _promote(a.dtype, b.dtype), max(a.bound, b.bound), max(a.err, b.err),
                  a.exact and b.exact)


def op_cast(g):
    """``astype`` among float32/float64/int32/bool where the result is safe."""
    x = g.pick()
    if g.grad:
        targets = ["float64"] if x.dtype != "float64" else []
    else:
        targets = [d for d in FLOATS if d != x.dtype]
        if x.dtype != "int32" and x.exact:
            targets.append("int32")
        if x.dtype != "bool" and x.exact:
            targets.append("bool")
    if not targets:
        return None
    to = g.draw(st.sampled_from(targets))
    return g.emit(f"{x.name}.astype(jnp.{to + '_' if to == 'bool' else to})", [x], x.shape, to,
                  1 if to == "bool" else x.bound, x.err, x.exact)


# -- reductions -------------------------------------------------------------
def _axes(g, x):
    """Random reduction axes: None, one axis (maybe negative) or a tuple."""
    kind = g.draw(st.sampled_from(["none", "one", "tuple"]))
    if kind == "none" or x.ndim == 0:
        return None, tuple(range(x.ndim)), "None"
    if kind == "one":
        ax = g.axis(x)
        text = str(ax - x.ndim if g.draw(st.booleans()) else ax)
        return ax, (ax,), text
    axes = tuple(sorted(g.draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))))
    return axes, axes, str(axes)


def op_reduce(g):
    """sum/mean/var/prod/max/min/logsumexp/any/all/argmax/argmin/cumsum."""
    x = g.pick()
    axis, axes, text = _axes(g, x)
    n = math.prod(x.shape[a] for a in axes)
    keep = g.draw(st.booleans())
    shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keep else \
        tuple(s for i, s in enumerate(x.shape) if i not in axes)
    if x.dtype == "bool":
        name = g.draw(st.sampled_from(["any", "all", "sum"]))
        dtype = "int64" if name == "sum" else "bool"
        return g.emit(f"jnp.{name}({x.name}, axis={text}, keepdims={keep})", [x],
                      shape, dtype, n)
    names = ["sum", "prod"] + (["mean", "var", "logsumexp"] if x.is_float else [])
    if not (g.grad and x.is_float):
        names += ["max", "min"]
        if x.exact:
            names += ["argmax", "argmin", "cumsum"]
    elif g.grad:
        names += ["cumsum"]
    name = g.draw(st.sampled_from(names))
    eps, b, e = EPS[x.dtype], x.bound, x.err
    if n == 0 and (name in ("max", "min", "argmax", "argmin", "logsumexp")
                   or g.grad and name in ("mean", "var")):     # nan, whose grad is 0
        return None
    if name in ("argmax", "argmin", "cumsum"):
        if kind_is_tuple(axis):
            return None
        if name == "cumsum":
            out = (x.size,) if axis is None else x.shape
            return g.emit(f"jnp.cumsum({x.name}, axis={text})", [x], out, _sum_dtype(x.dtype),
                          n * b, n * e + n * n * eps * b) if g.fits(x.dtype, n * b) else None
        return g.emit(f"jnp.{name}({x.name}, axis={text}, keepdims={keep})", [x],
                      shape, "int64", max(n, 1))
    call = f"({x.name}, axis={text}, keepdims={keep})"
    if name == "sum":
        bound, err = n * b, n * e + n * n * eps * b
    elif name == "mean":
        bound, err = b, e + n * eps * b
    elif name == "var":
        bound, err = 4 * b * b, 4 * b * e + 4 * n * eps * b * b
    elif name == "prod":
        if n > 6:
            return None
        bound, err = max(b, 1) ** n, n * max(b, 1) ** (n - 1) * e + 2 * n * eps * max(b, 1) ** n
    elif name == "logsumexp":
        if b > 30:
            return None
        bound = b + math.log(max(n, 1)) + 1
        return g.emit(f"nn.logsumexp{call}", [x], shape, x.dtype, bound,
                      e + 4 * n * eps * bound)
    else:
        return g.emit(f"jnp.{name}{call}", [x], shape, x.dtype, b, e, x.exact)
    dtype = _sum_dtype(x.dtype) if name in ("sum", "prod") else x.dtype
    if not g.fits(dtype, bound):
        return None
    return g.emit(f"jnp.{name}{call}", [x], shape, dtype, bound, err)


def kind_is_tuple(axis):
    return isinstance(axis, tuple)


# -- shapes and indexing ----------------------------------------------------
def _factor(g, n):
    """A random shape of size ``n`` with 0 to 3 dimensions."""
    if n == 0:
        return g.draw(st.sampled_from([(0,), (0, 1), (1, 0)]))
    dims = []
    for p in _primes(n):
        if dims and g.draw(st.booleans()):
            dims[g.draw(st.integers(0, len(dims) - 1))] *= p
        elif len(dims) < 3:
            dims.append(p)
        else:
            dims[-1] *= p
    if len(dims) < 3 and g.draw(st.booleans()):
        dims.insert(g.draw(st.integers(0, len(dims))), 1)
    return tuple(dims)


def _primes(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _same(g, x, expr, shape, operands=None):
    """A step that moves ``x``'s elements without changing them."""
    return g.emit(expr, operands or [x], shape, x.dtype, x.bound, x.err, x.exact)


def op_reshape(g):
    """reshape / ravel to a random shape of the same size."""
    x = g.pick()
    shape = _factor(g, x.size)
    if g.draw(st.booleans()) and shape:
        text = list(shape)
        text[g.draw(st.integers(0, len(shape) - 1))] = -1
        if x.size == 0:
            text = list(shape)
        return _same(g, x, f"jnp.reshape({x.name}, {tuple(text)})", shape)
    return _same(g, x, f"{x.name}.reshape({shape})", shape)


def op_transpose(g):
    """transpose / swapaxes / expand_dims / squeeze / flip / broadcast_to."""
    x = g.pick()
    kind = g.draw(st.sampled_from(["transpose", "expand", "squeeze", "flip", "broadcast"]))
    if kind == "transpose" and x.ndim >= 2:
        perm = tuple(g.draw(st.permutations(range(x.ndim))))
        return _same(g, x, f"jnp.transpose({x.name}, {perm})",
                     tuple(x.shape[p] for p in perm))
    if kind == "expand" and x.ndim < 4:
        ax = g.draw(st.integers(-x.ndim - 1, x.ndim))
        shape = list(x.shape)
        shape.insert(ax if ax >= 0 else x.ndim + 1 + ax, 1)
        return _same(g, x, f"jnp.expand_dims({x.name}, {ax})", tuple(shape))
    if kind == "squeeze" and 1 in x.shape:
        ax = g.draw(st.sampled_from([i for i, s in enumerate(x.shape) if s == 1]))
        return _same(g, x, f"jnp.squeeze({x.name}, axis={ax})",
                     x.shape[:ax] + x.shape[ax + 1:])
    if kind == "flip" and x.ndim >= 1:
        ax = g.axis(x)
        return _same(g, x, f"jnp.flip({x.name}, {ax})", x.shape)
    if kind == "broadcast" and x.ndim < 3:
        shape = tuple(g.draw(st.integers(1, 3)) if s == 1 else s for s in x.shape)
        shape = (g.draw(st.integers(1, 3)),) + shape
        return _same(g, x, f"jnp.broadcast_to({x.name}, {shape})", shape)
    return None


def _index_text(ndim, axis, entry):
    return "[" + ", ".join([":"] * axis + [entry]) + "]" if axis < ndim else ""


def op_index(g):
    """Basic slicing, integer indexing (static, dynamic from an int input,
    and with an in-range integer array) and ``jnp.take``."""
    x = g.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    ax = g.axis(x)
    n = x.shape[ax]
    kind = g.draw(st.sampled_from(["slice", "int", "dynamic", "array", "take"]))
    if kind == "slice":
        start = g.draw(st.integers(-n - 1, n + 1))
        stop = g.draw(st.integers(-n - 1, n + 1))
        step = g.draw(st.sampled_from([1, 1, 2, -1]))
        m = len(range(n)[slice(start, stop, step)])
        entry = f"{start}:{stop}" + (f":{step}" if step != 1 else "")
        shape = x.shape[:ax] + (m,) + x.shape[ax + 1:]
        return _same(g, x, f"{x.name}{_index_text(x.ndim, ax, entry)}", shape)
    if n == 0:
        return None
    if kind in ("int", "dynamic"):
        if kind == "int":
            entry, operands = str(g.draw(st.integers(-n, n - 1))), [x]
        else:
            i = g.new_input((), "int32", bound=n)
            i.range = (-n, n - 1)
            entry, operands = i.name, [x, i]
        return _same(g, x, f"{x.name}{_index_text(x.ndim, ax, entry)}",
                     x.shape[:ax] + x.shape[ax + 1:], operands)
    idx = g.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
    if kind == "array":
        rows = g.draw(st.sampled_from([1, 2])) if len(idx) % 2 == 0 else 1
        arr = np.array(idx).reshape(rows, -1) if rows == 2 else np.array(idx)
        text = f"np.array({arr.tolist()})"
        return _same(g, x, f"{x.name}{_index_text(x.ndim, ax, text)}",
                     x.shape[:ax] + arr.shape + x.shape[ax + 1:])
    idx = [i % n for i in idx]      # jnp.take's default mode is not numpy's for negatives
    return _same(g, x, f"jnp.take({x.name}, np.array({idx}), axis={ax})",
                 x.shape[:ax] + (len(idx),) + x.shape[ax + 1:])


def op_concat(g):
    """concatenate / stack of a value with a partner of fitting shape."""
    a = g.pick(lambda v: v.ndim >= 1)
    if a is None:
        return None
    ax = g.axis(a)
    if g.draw(st.booleans()):
        b = g.pick(lambda v: v.shape == a.shape)
        shape = a.shape[:ax] + (2,) + a.shape[ax:]
        fn = "stack"
    else:
        b = g.pick(lambda v: v.ndim == a.ndim and all(
            s == t for i, (s, t) in enumerate(zip(a.shape, v.shape)) if i != ax))
        shape = a.shape[:ax] + (a.shape[ax] + b.shape[ax],) + a.shape[ax + 1:]
        fn = "concatenate"
    return g.emit(f"jnp.{fn}([{a.name}, {b.name}], axis={ax})", [a, b], shape,
                  _promote(a.dtype, b.dtype), max(a.bound, b.bound), max(a.err, b.err),
                  a.exact and b.exact)


# -- products ---------------------------------------------------------------
def _product(g, expr, a, b, shape, k):
    dtype = _promote(a.dtype, b.dtype)
    bound = max(k, 1) * a.bound * b.bound
    if not g.fits(dtype, bound):
        return None
    err = k * (a.err * b.bound + b.err * a.bound) + k * k * EPS[dtype] * a.bound * b.bound
    return g.emit(expr, [a, b], shape, dtype, bound, err)


def op_matmul(g):
    """matmul / dot / outer with a fitting partner, or with itself transposed."""
    num = lambda v: v.dtype != "bool"
    a = g.pick(lambda v: num(v) and 1 <= v.ndim <= 3)
    if a is None:
        return None
    k = a.shape[-1]
    kind = g.draw(st.sampled_from(["matmul", "dot", "outer"]))
    if kind == "outer":
        b = g.pick(num)
        return _product(g, f"jnp.outer({a.name}, {b.name})", a, b, (a.size, b.size), 1)
    b = g.pick(lambda v: num(v) and 1 <= v.ndim <= 2 and v.shape[0] == k)
    if b is None or (kind == "dot" and a.ndim == 3):
        if a.ndim == 1:
            return _product(g, f"jnp.dot({a.name}, {a.name})", a, a, (), k)
        return _product(g, f"{a.name} @ jnp.swapaxes({a.name}, -1, -2)", a, a,
                        a.shape[:-1] + a.shape[-2:-1], k)
    shape = a.shape[:-1] + b.shape[1:]
    if kind == "dot":
        return _product(g, f"jnp.dot({a.name}, {b.name})", a, b, shape, k)
    return _product(g, f"{a.name} @ {b.name}", a, b, shape, k)


def op_einsum(g):
    """einsum of one or two operands with random letters: shared letters of
    equal sizes are contracted or kept, repeated letters take diagonals."""
    num = lambda v: v.dtype != "bool"
    a = g.pick(lambda v: num(v) and v.ndim >= 1)
    if a is None:
        return None
    sizes, terms = {}, []
    operands = [a] + ([g.pick(num)] if g.draw(st.booleans()) else [])
    for x in operands:
        term = ""
        for s in x.shape:
            same = [c for c, n in sizes.items() if n == s]
            if same and g.draw(st.booleans()):
                c = g.draw(st.sampled_from(same))
            else:
                c = LETTERS[len(sizes)]
                sizes[c] = s
            term += c
        terms.append(term)
    letters = sorted(set("".join(terms)))
    out = "".join(g.draw(st.permutations([c for c in letters if g.draw(st.booleans())])))
    k = math.prod(sizes[c] for c in letters if c not in out)
    spec = ",".join(terms) + "->" + out
    names = ", ".join(x.name for x in operands)
    b = operands[-1] if len(operands) == 2 else None
    shape = tuple(sizes[c] for c in out)
    expr = f"jnp.einsum({spec!r}, {names})"
    if b is None:
        bound = max(k, 1) * a.bound
        if not g.fits(a.dtype, bound):
            return None
        return g.emit(expr, [a], shape, a.dtype, bound, k * a.err + k * k * EPS[a.dtype] * a.bound)
    return _product(g, expr, a, b, shape, k)


# -- out-of-range indices ---------------------------------------------------
def _fill_value(g, dtype):
    if dtype == "bool":
        return "True", 1
    c = g.draw(st.sampled_from([0, 3, -7])) if dtype not in FLOATS else \
        g.draw(st.sampled_from([0.0, -1.5, 7.0]))
    return repr(c), abs(c)


def op_index_oob(g):
    """Integer-array indices, some negative or out of range, static or from
    an int input: ``x[idx]`` (clamps), ``.at[idx].get(mode="fill")``,
    ``jnp.take`` with mode "clip", "wrap" or a finite fill value, and
    ``.at[idx].set/add`` (out-of-range updates are dropped)."""
    x = g.pick(lambda v: v.ndim >= 1 and v.shape[g.draw(st.integers(0, v.ndim - 1))] > 0)
    if x is None:
        return None
    ax = g.draw(st.sampled_from([a for a in range(x.ndim) if x.shape[a] > 0]))
    n = x.shape[ax]
    kind = g.draw(st.sampled_from(["getitem", "fill", "take", "set", "add"]))
    k = g.draw(st.integers(1, 4))
    if kind == "add" and x.dtype == "bool":
        return None
    lo, hi = -2 * n - 2, 2 * n + 1
    dynamic = g.draw(st.booleans()) and not g.sub
    if dynamic:
        i = g.new_input((k,), "int32", bound=hi)
        i.range = (lo, hi)
        text, operands = i.name, [x, i]
    else:
        idx = g.draw(st.lists(st.integers(lo, hi), min_size=k, max_size=k))
        if kind == "set":   # one update per in-range element: no order to agree on
            seen, keep = set(), []
            for j in idx:
                pos = j + n if j < 0 else j
                if not 0 <= pos < n or pos not in seen:
                    seen.add(pos)
                    keep.append(j)
            idx = keep
        k = len(idx)
        text, operands = f"np.array({idx})", [x]
    at = _index_text(x.ndim, ax, text)
    # values made by numpy's operators (``x0 * 0.5``) have numpy's indexing
    X = f"jnp.asarray({x.name})"
    ishape = x.shape[:ax] + (k,) + x.shape[ax + 1:]
    if kind == "getitem":
        return _same(g, x, f"{X}{at}", ishape, operands)
    if kind in ("fill", "take"):
        mode = "fill" if kind == "fill" else g.draw(st.sampled_from(["clip", "wrap", "fill"]))
        fill, c = _fill_value(g, x.dtype)
        args = f'mode="{mode}"' + (f", fill_value={fill}" if mode == "fill" else "")
        expr = f"{X}.at{at}.get({args})" if kind == "fill" else \
            f"jnp.take({x.name}, {text}, axis={ax}, {args})"
        return g.emit(expr, operands, ishape, x.dtype, max(x.bound, c), x.err, x.exact)
    # with repeated indices, set writes the same value at each: y does not vary along ax
    tail = ishape[ax + 1:] if kind == "set" and dynamic else ishape
    y = g.pick(lambda v: v.dtype == x.dtype and v.ndim <= len(tail)
               and _broadcast(v.shape, tail) == tuple(tail))
    if y is None:
        return None
    if kind == "set":
        return g.emit(f"{X}.at{at}.set({y.name})", operands + [y], x.shape, x.dtype,
                      max(x.bound, y.bound), max(x.err, y.err), x.exact and y.exact)
    bound = x.bound + k * y.bound
    if not g.fits(x.dtype, bound):
        return None
    return g.emit(f"{X}.at{at}.add({y.name})", operands + [y], x.shape, x.dtype, bound,
                  x.err + k * y.err + k * EPS[x.dtype] * bound)


def op_cast_big(g):
    """A float input with big values (some made inf or NaN) cast to int32:
    saturates, NaN -> 0 (forward programs only)."""
    if g.grad or g.sub:
        return None
    like = g.pick()
    x = g.new_input(like.shape, g.draw(st.sampled_from(FLOATS)),
                    bound=g.draw(st.sampled_from([2.0 ** 32, 2.0 ** 40, 2.0 ** 100])))
    form = g.draw(st.sampled_from(["{x}", "jnp.where({x} > 1e9, jnp.nan, {x})",
                                   "jnp.where({x} < -1e9, -jnp.inf, {x})"]))
    form = form.format(x=x.name)
    cast = g.draw(st.sampled_from(["jnp.astype({v}, jnp.int32)",
                                   "jnp.asarray({v}).astype(jnp.int32)"]))
    return g.emit(cast.format(v=form), [x], x.shape, "int32", 2 ** 31)


# -- control flow -----------------------------------------------------------
def _param(name, v, exact=None, err=None):
    """A body's argument standing for ``v``."""
    return Val(name, v.shape, v.dtype, v.bound, v.err if err is None else err,
               v.exact if exact is None else exact)


def _body(g, params):
    """A random sub-program over ``params``, as a sub-generator."""
    sub = _Gen(g.draw, g.grad, prefix="w", sub=True)
    sub.inputs = list(params)
    for _ in range(g.draw(st.integers(0, 3))):
        sub.step(BODY_OPS)
    return sub


def _result(sub, like, clamp=False):
    """A value of ``sub`` of ``like``'s dtype broadcast to its shape, as
    (text, Val); with ``clamp`` its bound is kept to ``like``'s."""
    r = sub.pick(lambda v: v.dtype == like.dtype and _broadcast(v.shape, like.shape) == like.shape)
    text = r.name if r.shape == like.shape else f"jnp.broadcast_to({r.name}, {like.shape})"
    if clamp and r.bound > like.bound and like.dtype != "bool":
        B = like.bound
        smooth = sub.grad and like.is_float
        text = f"{B!r} * jnp.tanh({text} / {B!r})" if smooth else \
            f"jnp.clip({text}, {-B!r}, {B!r})"
        r = Val(r.name, like.shape, r.dtype, B, r.err, r.exact and not smooth)
    return text, r


def _function(name, params, sub, returns):
    lines = [f"def {name}({', '.join(params)}):"]
    lines += [f"    {v.name} = {expr}" for v, expr in sub.steps]
    return lines + [f"    return {returns}"]


def _predicate(g):
    """A scalar bool computed from exact data: (text, operands)."""
    b = g.pick(lambda v: v.exact and not (g.grad and v.is_float))
    if b is None:
        b = g.new_input((), "int32")
    if b.dtype == "bool":
        return f"jnp.{g.draw(st.sampled_from(['any', 'all']))}({b.name})", [b]
    return f"jnp.any({b.name} > {g.draw(st.sampled_from([0, 1]))})", [b]


def op_cond(g):
    """``lax.cond`` on a predicate from the data, with one or two operands
    and random branches returning the first operand's type."""
    ops = [g.pick()]
    if g.draw(st.booleans()):
        ops.append(g.pick())
    pred, pred_ops = _predicate(g)
    params = [_param(f"p{i}", o) for i, o in enumerate(ops)]
    base = g.next_name()
    pre, results = [], []
    for side in ("t", "f"):
        sub = _body(g, params)
        text, r = _result(sub, params[0])
        pre += _function(f"{base}_{side}", [p.name for p in params], sub, text)
        results.append(r)
    args = ", ".join(o.name for o in ops)
    return g.emit(f"lax.cond({pred}, {base}_t, {base}_f, {args})", pred_ops + ops,
                  ops[0].shape, ops[0].dtype, max(r.bound for r in results),
                  max(r.err for r in results), all(r.exact for r in results), pre=pre)


def _carry(g, c):
    """The body's argument for a loop carry ``c``: floats count as inexact
    and with at least their own rounding error."""
    return _param("c", c, exact=c.exact and not c.is_float,
                  err=max(c.err, EPS[c.dtype] * c.bound))


def _loop_err(carry, r, extra, n):
    """Error bound after ``n`` trips of a body taking ``carry``'s error to
    ``r.err`` (and adding ``extra``), or None when it may blow up."""
    growth = max(1.0, r.err / carry.err) if carry.err else 1.0
    if growth ** n > 1e6:
        return None
    return max(r.err, extra) * max(n, 1) * growth ** n


def op_scan(g):
    """``lax.scan`` of a random body over the leading axis of a value, with
    a carry; the step is the final carry or the stacked outputs."""
    xs = g.pick(lambda v: 1 <= v.ndim and v.shape[0] <= 9)
    if xs is None:
        return None
    c = g.pick()
    n = xs.shape[0]
    carry, x = _carry(g, c), _param("x", Val("", xs.shape[1:], xs.dtype, xs.bound, xs.err,
                                                xs.exact))
    sub = _body(g, [carry, x])
    text, r = _result(sub, carry, clamp=True)
    y = sub.pick()
    err = _loop_err(carry, r, y.err, n)
    if err is None:
        return None
    base = g.next_name()
    pre = _function(f"{base}_body", ["c", "x"], sub, f"{text}, {y.name}")
    expr = f"lax.scan({base}_body, {c.name}, {xs.name})"
    exact = r.exact and (c.exact or not c.is_float)
    if g.draw(st.booleans()):
        return g.emit(expr + "[0]", [c, xs], c.shape, c.dtype, max(c.bound, r.bound), err,
                      exact, pre=pre)
    return g.emit(expr + "[1]", [c, xs], (n,) + y.shape, y.dtype, y.bound, err, y.exact and exact,
                  pre=pre)


def op_loop(g):
    """``lax.fori_loop`` with static int32 bounds (the counter joins the
    body's pool) or, in forward programs, ``lax.while_loop`` with a counter
    and sometimes a data-dependent condition; a few trips at most."""
    c = g.pick()
    carry = _carry(g, c)
    base = g.next_name()
    if g.grad or g.draw(st.booleans()):
        lo = g.draw(st.integers(-2, 2))
        hi = lo + g.draw(st.integers(-1, 4))
        i = Val("i", (), "int32", max(abs(lo), abs(hi), 1), exact=True)
        sub = _body(g, [carry, i])
        text, r = _result(sub, carry, clamp=True)
        pre = _function(f"{base}_body", ["i", "c"], sub, text)
        expr = f"lax.fori_loop(np.int32({lo}), np.int32({hi}), {base}_body, {c.name})"
        n = max(hi - lo, 0)
    else:
        n = g.draw(st.integers(0, 4))
        sub = _body(g, [carry])
        text, r = _result(sub, carry, clamp=True)
        pre = _function(f"{base}_body", ["s"], sub, f"s[0] + 1, {text}")
        pre.insert(1, "    c = s[1]")
        cond = f"s[0] < {n}"
        if c.dtype == "bool":
            cond = f"jnp.logical_and({cond}, jnp.any(s[1]))"
        elif not c.is_float:
            cond = f"jnp.logical_and({cond}, jnp.any(s[1] > 0))"
        expr = f"lax.while_loop(lambda s: {cond}, {base}_body, (np.int32(0), {c.name}))[1]"
    err = _loop_err(carry, r, 0.0, n)
    if err is None:
        return None
    return g.emit(expr, [c], c.shape, c.dtype, max(c.bound, r.bound), err,
                  r.exact and (c.exact or not c.is_float), pre=pre)


ALL_OPS = [op_unary, op_unary, op_unary, op_binary, op_binary, op_compare, op_where,
           op_cast, op_reduce, op_reduce, op_reshape, op_transpose, op_index, op_index,
           op_concat, op_matmul, op_einsum, op_index_oob, op_index_oob]
BODY_OPS = ALL_OPS
ALL_OPS = BODY_OPS + [op_cast_big, op_cond, op_scan, op_loop]
GRAD_OPS = ALL_OPS


@st.composite
def programs(draw, grad=False):
    """A random Program (see the module docstring)."""
    return _Gen(draw, grad).program()


def input_values(draw, prog):
    """Draw numpy arguments for ``prog``'s inputs, each within its bound."""
    args = []
    for v in prog.inputs:
        if v.dtype == "bool":
            el = st.booleans()
        elif v.dtype == "int32":
            lo, hi = v.range or (-v.bound, v.bound)
            el = st.integers(lo, hi)
        else:
            el = st.floats(-v.bound, v.bound, width=32 if v.dtype == "float32" else 64,
                           allow_subnormal=False)
        n = math.prod(v.shape)
        flat = draw(st.lists(el, min_size=n, max_size=n))
        arr = np.array(flat, dtype=v.dtype).reshape(v.shape)
        args.append(_layout(draw(st.sampled_from(["C", "F", "strided", "reversed"])), arr))
    return args


def _layout(kind, arr):
    """``arr``'s values in a C-ordered, Fortran-ordered or strided view."""
    if arr.ndim == 0:
        return arr
    if kind == "F":
        return np.asfortranarray(arr)
    if kind == "strided":
        wide = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
        wide[..., ::2] = arr
        return wide[..., ::2]
    if kind == "reversed":      # negative strides along axis 0
        return np.flip(np.ascontiguousarray(np.flip(arr, 0)), 0)
    return arr
