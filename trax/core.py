"""The core: abstract values, the jaxpr IR, primitives and the trace stack.

A *primitive* is declared once (``Primitive('sin')``) and carries its rules as
attributes: ``impl`` (eager, on numpy arrays), ``abstract_eval`` (shape/dtype),
``jvp``, ``transpose``, ``batch`` and ``lower``. ``bind`` sends an operation to
the highest-level transformation among its arguments' tracers (the trace stack,
as in JAX's autodidax), which is why transformations nest without confusion.
"""
import itertools
import math
import threading
from contextlib import contextmanager

import numpy as np

from trax import dtypes
from trax.elision import ReuseTemporaries

from trax.errors import (ConcretizationTypeError, TracerBoolConversionError,
                         TracerIntegerConversionError, TraxTypeError,
                         UnexpectedTracerError, type_error, user_source_line)


# ----------------------------------------------------------------------------
# Abstract values

_MAX_BYTES = int(np.iinfo(np.int64).max)    # the most bytes an array can take (as numpy)

class ShapedArray:
    """The abstract value of an array: shape, dtype and weak type."""
    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = tuple(map(int, shape))
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        if math.prod(self.shape) * self.dtype.itemsize > _MAX_BYTES:
            raise type_error(f"shape {self.shape} of {self.dtype} is too big: its "
                             f"{math.prod(self.shape)} elements take more bytes than an "
                             f"int64 can count ({_MAX_BYTES})")
        self.weak_type = bool(weak_type)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def update(self, shape=None, dtype=None, weak_type=None):
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak_type(self):
        return self.update(weak_type=False) if self.weak_type else self

    def str_short(self):
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def _key(self):
        return (self.shape, self.dtype, self.weak_type)

    def __eq__(self, other):
        return isinstance(other, ShapedArray) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"ShapedArray({self.str_short()}{', weak' if self.weak_type else ''})"


_array_avals = {}    # (shape, dtype) -> ShapedArray of concrete arrays (avals are immutable)
_array_avals_lock = threading.Lock()


def get_aval(x):
    """The ShapedArray of a tracer, array or Python scalar."""
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, (np.ndarray, np.generic)):
        key = (x.shape, x.dtype)
        aval = _array_avals.get(key)
        if aval is None:
            aval = ShapedArray(x.shape, dtypes.canonicalize(x.dtype))
            with _array_avals_lock:
                if len(_array_avals) < 4096:
                    aval = _array_avals.setdefault(key, aval)
        return aval
    if isinstance(x, (bool, int, float)):
        if type(x) is int and not fits_int64(x):
            raise OverflowError(f"Python int {x} is too large for int64")
        return ShapedArray((), dtypes.python_scalar_dtype(x), weak_type=True)
    if isinstance(x, complex):
        raise TraxTypeError("trax does not support complex numbers")
    raise _not_a_value(x)


def _not_a_value(x):
    return TraxTypeError(f"{type(x).__name__} {x!r} is not a valid trax value "
                         f"(expected an array, a Python scalar or a tracer)")


def fits_int64(x):
    """Is the Python int ``x`` in int64's range?"""
    return -(1 << 63) <= x < (1 << 63)


def is_array_like(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float))


# ----------------------------------------------------------------------------
# Eager arrays

class Array(ReuseTemporaries, np.ndarray):
    """trax's concrete array: a numpy ndarray subclass.

    Eager trax operations return Arrays, which numpy uses without a copy.
    Beyond ndarray it adds JAX's functional update syntax ``x.at[i].set(v)``
    (installed by trax.numpy, see trax/numpy/operators.py),
    and its arithmetic operators reuse big temporaries as ndarray's do
    (:mod:`trax.elision`).
    """
    __array_priority__ = 0


def to_array(x):
    """A concrete value as a trax Array (no copy when already an ndarray of
    native byte order; big-endian data is converted, as JAX does)."""
    if type(x) is Array:
        return x
    a = np.asarray(x)
    if a.dtype == object:
        raise _not_a_value(x)
    x = a
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    return x.view(Array)


# ----------------------------------------------------------------------------
# Primitives

_registered = {}      # name -> the Primitive of that name created last


def registered_primitives():
    """``{name: Primitive}`` of every primitive created so far."""
    return dict(_registered)


class Primitive:
    """An operation of the IR; rules are attached as attributes."""
    multiple_results = False

    def __init__(self, name, multiple_results=False):
        self.name = name
        _registered[name] = self
        self.multiple_results = multiple_results
        self.impl = None             # (*np arrays, **params) -> np array(s)
        self.abstract_eval = None    # (*avals, **params) -> aval(s)
        self.jvp = None              # (primals, tangents, **params) -> (outs, tangent_outs)
        self.transpose = None        # (cts, *args, **params) -> cts for linear args
        self.batch = None            # (vals, dims, **params) -> (outs, out_dims)
        self.partial_eval = None     # custom partial-eval rule (higher-order prims)

    def bind(self, *args, **params):
        return bind(self, *args, **params)

    def __repr__(self):
        return self.name


def bind(prim, *args, **params):
    """Apply ``prim`` to ``args`` in the highest active transformation."""
    top = find_top_trace(args)
    tracers = [full_raise(top, a) for a in args]
    outs = top.process_primitive(prim, tracers, params)
    if prim.multiple_results:
        return [full_lower(o) for o in outs]
    return full_lower(outs)


# ----------------------------------------------------------------------------
# The jaxpr IR

class Var:
    """A typed variable of a jaxpr."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in a jaxpr."""
    __slots__ = ("val", "aval")

    def __init__(self, val, aval=None):
        self.aval = get_aval(val) if aval is None else aval
        self.val = np.asarray(val, self.aval.dtype)

    def __repr__(self):
        return f"Literal({self.val})"


class JaxprEqn:
    """``outvars = primitive[params](invars)``, with the user's source line."""
    __slots__ = ("primitive", "invars", "params", "outvars", "source_info")

    def __init__(self, primitive, invars, params, outvars, source_info=""):
        self.primitive = primitive
        self.invars = list(invars)
        self.params = dict(params)
        self.outvars = list(outvars)
        self.source_info = source_info


class Jaxpr:
    """Constants (as variables), inputs, equations and outputs."""
    __slots__ = ("constvars", "invars", "eqns", "outvars")

    def __init__(self, constvars, invars, eqns, outvars):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr together with the values of its constants."""
    __slots__ = ("jaxpr", "consts")

    def __init__(self, jaxpr, consts):
        assert len(jaxpr.constvars) == len(consts)
        self.jaxpr = jaxpr
        self.consts = list(consts)

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __call__(self, *args):
        return eval_jaxpr(self.jaxpr, self.consts, *args)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def eval_jaxpr(jaxpr, consts, *args):
    """Evaluate a jaxpr by binding each equation's primitive (so it can be
    evaluated under any transformation). Returns the list of outputs."""
    env = {}

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    if len(args) != len(jaxpr.invars):
        raise TypeError(f"jaxpr takes {len(jaxpr.invars)} inputs, got {len(args)}")
    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        outs = bind(eqn.primitive, *map(read, eqn.invars), **eqn.params)
        if not eqn.primitive.multiple_results:
            outs = [outs]
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in jaxpr.outvars]


# ---- printing

def _var_namer():
    names = {}
    counter = itertools.count()

    def name(v):
        if isinstance(v, Literal):
            return _pp_literal(v)
        if v not in names:
            names[v] = _index_name(next(counter))
        return names[v]
    return name


def _index_name(i):
    letters = "abcdefghijklmnopqrstuvwxyz"
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = letters[r] + s
    return s


def _pp_literal(lit):
    v = lit.val
    if v.dtype == np.bool_:
        return str(bool(v))
    if v.dtype.kind == "f":
        text = repr(float(v))
    else:
        text = str(int(v))
    return text if lit.aval.weak_type else f"{text}:{lit.aval.str_short()}"


def _is_jaxpr_param(v):
    return isinstance(v, (Jaxpr, ClosedJaxpr)) or (
        isinstance(v, tuple) and bool(v) and all(isinstance(x, (ClosedJaxpr, Jaxpr)) for x in v))


def _pp_param(v, indent, name):
    if isinstance(v, (Jaxpr, ClosedJaxpr)):
        return _pp_nested(v.jaxpr if isinstance(v, ClosedJaxpr) else v, indent, name)
    if isinstance(v, tuple) and _is_jaxpr_param(v):
        pad = " " * (indent + 2)
        inner = [pad + _pp_param(x, indent + 2, name) for x in v]
        return "(\n" + "\n".join(inner) + "\n" + " " * indent + ")"
    if isinstance(v, np.dtype):
        return v.name
    return repr(v) if isinstance(v, str) else str(v)


def _pp_nested(jaxpr, indent, name):
    """A sub-jaxpr of a param at column ``indent``: on one line when it is
    short (as JAX prints them), its variables named on from the outer ones."""
    lines = _pp_lines(jaxpr, indent, name)
    one = " ".join(line.strip() for line in lines)
    if indent + len(one) <= 80:
        return one
    return "\n".join(lines).lstrip()


def pp_jaxpr(jaxpr, indent=0):
    """The JAX-style text form of a jaxpr (params holding sub-jaxprs go one
    per line, and the sub-jaxprs' variables are named on from the outer)."""
    return "\n".join(_pp_lines(jaxpr, indent, _var_namer()))


def _pp_lines(jaxpr, indent, name):
    pad = " " * indent

    def binder(v):
        return f"{name(v)}:{v.aval.str_short()}"

    consts = " ".join(binder(v) for v in jaxpr.constvars)
    ins = " ".join(binder(v) for v in jaxpr.invars)
    lines = [f"{pad}{{ lambda {consts}; {ins}. let"]
    for eqn in jaxpr.eqns:
        outs = " ".join(binder(v) for v in eqn.outvars)
        args = " ".join(name(v) for v in eqn.invars)
        head = f"{pad}    {outs} = {eqn.primitive.name}"
        items = sorted(eqn.params.items())
        if any(_is_jaxpr_param(v) for _, v in items):
            # JAX's layout: one param per line, sub-jaxprs nested below
            ppad = pad + "      "
            params = "".join(f"\n{ppad}{k}={_pp_param(v, indent + 6, name)}"
                             for k, v in items)
            lines.append(f"{head}[{params}\n{pad}    ] {args}".rstrip())
            continue
        params = ""
        if items:
            params = "[" + " ".join(f"{k}={_pp_param(v, indent + 4, name)}"
                                    for k, v in items) + "]"
        lines.append(f"{head}{params} {args}".rstrip())
    outs = ", ".join(name(v) for v in jaxpr.outvars)
    lines.append(f"{pad}  in ({outs}{',' if len(jaxpr.outvars) == 1 else ''}) }}")
    return lines


# ----------------------------------------------------------------------------
# The trace stack

class MainTrace:
    """One active transformation: its level on the stack and its state."""
    __slots__ = ("level", "trace_type", "global_data")

    def __init__(self, level, trace_type, global_data=None):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__})"


class Trace:
    """How one transformation interprets primitives applied to its tracers."""

    def __init__(self, main):
        self.main = main

    def pure(self, val):
        raise NotImplementedError

    def lift(self, tracer):
        raise NotImplementedError

    def process_primitive(self, primitive, tracers, params):
        raise NotImplementedError


class EvalTrace(Trace):
    """Level 0: run primitives at once on concrete arrays (eager mode)."""

    def pure(self, x):
        return x

    lift = pure

    def process_primitive(self, primitive, vals, params):
        if primitive.impl is None:
            raise NotImplementedError(f"primitive {primitive.name} has no eager impl")
        avals = primitive.abstract_eval(*map(get_aval, vals), **params)
        vals = [v if isinstance(v, np.ndarray) else np.asarray(v) for v in vals]
        outs = primitive.impl(*vals, **params)
        if primitive.multiple_results:
            return [_as_aval_array(o, a) for o, a in zip(outs, avals)]
        return _as_aval_array(outs, avals)


def _as_aval_array(x, aval):
    x = np.asarray(x)
    if x.dtype != aval.dtype:
        x = x.astype(aval.dtype)
    return x.view(Array)


class _TraceState(threading.local):
    """Each thread's trace stack (level 0: eager evaluation) and dynamic
    trace (the jit staging that catches every bind), as in JAX: a thread
    tracing does not change what other threads compute. ``jit_disabled``:
    inside ``disable_jit``; ``direct``: neither staging nor disabled, so a
    jitted call may run its compiled code at once (one read on that path)."""

    def __init__(self):
        self.stack = [MainTrace(0, EvalTrace)]
        self.dynamic = None
        self.jit_disabled = False
        self.direct = True


thread_state = _TraceState()


@contextmanager
def new_main(trace_type, global_data=None):
    """Push a transformation on this thread's trace stack for the ``with`` block."""
    stack = thread_state.stack
    main = MainTrace(len(stack), trace_type, global_data)
    stack.append(main)
    try:
        yield main
    finally:
        stack.pop()


@contextmanager
def new_dynamic(main):
    """Make ``main`` catch every bind, even on constants (staging for jit)."""
    state = thread_state
    prev = state.dynamic, state.direct
    state.dynamic, state.direct = main, False
    try:
        yield
    finally:
        state.dynamic, state.direct = prev


def find_top_trace(xs):
    state = thread_state
    stack = state.stack
    top = stack[0]
    for x in xs:
        if isinstance(x, Tracer) and x._trace.main.level > top.level:
            top = x._trace.main
    dynamic = state.dynamic
    if dynamic is not None and dynamic.level > top.level:
        top = dynamic
    if top.level >= len(stack) or stack[top.level] is not top:
        raise _leaked_error(next(x for x in xs if isinstance(x, Tracer) and
                                 x._trace.main is top))
    return top.trace_type(top)


def _leaked_error(tracer):
    return UnexpectedTracerError(
        f"a {tracer.aval.str_short()} tracer from a transformation that has "
        f"already returned was used at {user_source_line() or 'an unknown line'}. "
        "It leaked out, e.g. stored in a global or a closure; pass values "
        "in and out of transformed functions explicitly instead.")


def full_raise(trace, val):
    """Bring ``val`` into ``trace``: wrap constants, lift lower tracers."""
    if not isinstance(val, Tracer):
        return trace.pure(val)
    main = val._trace.main
    level = trace.main.level
    if main is trace.main:
        return val
    stack = thread_state.stack
    if main.level >= len(stack) or stack[main.level] is not main:
        raise _leaked_error(val)
    if main.level < level:
        return trace.lift(val)
    raise UnexpectedTracerError(
        f"cannot lift a tracer of level {main.level} into a trace of level {level}")


def full_lower(val):
    return val.full_lower() if isinstance(val, Tracer) else val


_NEEDS_CONCRETE = ("A concrete value is needed: keep the value as an array (use "
                   "trax.numpy.where for value-dependent choices), or "
                   "mark the argument static with jit(..., static_argnums=...).")
IMMUTABLE = ("trax arrays are immutable: item assignment (x[idx] = y) is not supported; "
             "use x = x.at[idx].set(y) instead")


class Tracer:
    """A value flowing through a transformation; behaves like an array."""
    __array_priority__ = 1000
    __array_ufunc__ = None       # make numpy defer operators on tracers to us
    __slots__ = ("_trace",)

    aval = property(lambda self: self.get_aval())

    def get_aval(self):
        raise NotImplementedError

    def full_lower(self):
        return self

    # concrete value, if this transformation has one (e.g. grad of eager code)
    def concrete_value(self):
        return None

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def _concrete(self, what, error, hint):
        val = self.concrete_value()
        if val is None:
            raise error(what, self.aval, hint)
        return val

    def __bool__(self):
        v = self._concrete(
            "Python control flow (`if`, `while`, `and`, `bool()`) on a traced value",
            TracerBoolConversionError,
            "Use trax.lax.cond / trax.lax.switch (or trax.numpy.where) for "
            "value-dependent branches, or mark the argument static with "
            "jit(..., static_argnums=...).")
        if np.size(v) != 1:
            raise ValueError("the truth value of an array with more than one "
                             "element is ambiguous; use .any() or .all()")
        return bool(v)

    def __float__(self):
        return float(self._concrete("float() of a traced value", ConcretizationTypeError,
                                    _NEEDS_CONCRETE))

    def __int__(self):
        return int(self._concrete("int() of a traced value", TracerIntegerConversionError,
                                  _NEEDS_CONCRETE))

    def item(self, *args):
        """The element as a Python scalar (only where the value is concrete)."""
        v = self._concrete(".item() of a traced value", ConcretizationTypeError, _NEEDS_CONCRETE)
        return np.asarray(v).item(*args)

    def tolist(self):
        """The elements as nested Python lists (only where the value is concrete)."""
        v = self._concrete(".tolist() of a traced value", ConcretizationTypeError,
                           _NEEDS_CONCRETE)
        return np.asarray(v).tolist()

    def __setitem__(self, idx, value):
        raise TypeError(IMMUTABLE)

    def __index__(self):
        v = self._concrete(
            "a traced value used as a Python integer (index, range, shape)",
            TracerIntegerConversionError,
            "Shapes and Python indices must be concrete: pass the value as a "
            "static argument (jit static_argnums) or use trax.lax.dynamic_slice.")
        if not dtypes.is_int(np.asarray(v).dtype):
            raise TypeError(f"only integer arrays can be used as an index, not {v.dtype}")
        return int(v)

    def __array__(self, dtype=None, copy=None):
        v = self._concrete("numpy conversion (np.asarray) of a traced value",
                           ConcretizationTypeError,
                           "Use trax.numpy functions instead of numpy ones inside "
                           "transformed functions.")
        return np.asarray(v, dtype)

    def __hash__(self):
        raise TypeError("tracers are unhashable; they cannot be dict keys or static arguments")

    def __repr__(self):
        return f"{type(self).__name__}<{self.aval.str_short()}>"
