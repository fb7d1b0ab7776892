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
nan; indices are always in range.

With ``grad=True`` programs use only float64, smooth ops on the float inputs
(conditions and indices come from integer/bool inputs) and return a scalar,
so that derivatives can be checked against finite differences.
"""
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

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


class Program:
    """Inputs, steps (value, expression) and the names returned."""

    def __init__(self, inputs, steps, outputs, grad):
        self.inputs, self.steps, self.outputs, self.grad = inputs, steps, outputs, grad

    def source(self):
        """The program as the Python source of a function ``f``."""
        args = ", ".join(v.name for v in self.inputs)
        lines = [f"def f({args}):"]
        lines += [f"    {v.name} = {expr}" for v, expr in self.steps]
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
        scope = {"jnp": jnp, "nn": nn, "np": np}
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

    def __init__(self, draw, grad):
        self.draw, self.grad = draw, grad
        self.inputs, self.steps, self.used = [], [], set()

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
        v = Val(f"x{len(self.inputs)}", tuple(shape), dtype,
                bound=INPUT_BOUND[dtype] if bound is None else bound, exact=True)
        self.inputs.append(v)
        return v

    def emit(self, expr, operands, shape, dtype, bound, err=0.0, exact=False):
        """Append a step; the error gets the result's own rounding added."""
        bound = float(bound) if dtype in FLOATS else int(math.ceil(bound))
        if dtype not in FLOATS:
            err, exact = 0.0, True
        v = Val(f"v{len(self.steps)}", tuple(shape), dtype, bound,
                err + (0.0 if exact else EPS[dtype] * bound), exact)
        self.steps.append((v, expr))
        self.used.update(o.name for o in operands)
        return v

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
            for _ in range(10):     # an op may not apply to the pool; try another
                op = draw(st.sampled_from(ops))
                if op(self) is not None:
                    break
        return Program(self.inputs, self.steps, self.outputs(), self.grad)

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


ALL_OPS = [op_unary, op_unary, op_unary, op_binary, op_binary, op_compare, op_where,
           op_cast, op_reduce, op_reduce, op_reshape, op_transpose, op_index, op_index,
           op_concat, op_matmul, op_einsum]
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
