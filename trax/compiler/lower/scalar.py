"""Scalar IR for the elementwise primitives: one emitter per primitive name.

``EMITTERS[name](b, xs, dts, out_dt, params) -> ir.Value`` computes one
element: ``xs`` are register values (see irtypes), ``dts`` their numpy
dtypes. Everything is branch-free, so a loop of these vectorizes;
transcendentals go through :mod:`trax.compiler.math.functions` (never ``llvm.exp``
and friends, which become scalar libm calls). Integer division and
remainder by zero give 0, as in trax's eager implementation.
"""

import numpy as np
from llvmlite import ir

from trax.compiler import primitives
from trax.compiler.lower import loops
from trax.compiler.math import functions, mathlib, outline
from trax.compiler.lower.irtypes import I1, const, declare, is_float, is_signed, reg_type

EMITTERS = {}
_FAST = ("contract",)     # allow FMA contraction of float arithmetic


def emitter(*names):
    def register(fn):
        for n in names:
            EMITTERS[n] = fn
        return fn
    return register


def intrinsic(b, name, args, ty=None):
    """Call LLVM intrinsic ``llvm.<name>.<type>`` on ``args`` (scalars or
    vectors); with a result type ``ty`` different from the arguments' it is
    overloaded on both."""
    overloads = [ty, args[0].type] if ty is not None and ty != args[0].type else [args[0].type]
    full = ".".join([f"llvm.{name}"] + [mangled(t) for t in overloads])
    fn = declare(b.module, full, ir.FunctionType(overloads[0], [a.type for a in args]))
    return b.call(fn, args)


def mangled(ty):
    """``ty`` as LLVM spells it in an overloaded intrinsic's name: ``f32``,
    ``i64``, ``v8f32``..."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{mangled(ty.element)}"
    return ty.intrinsic_name


def branchy_lanes(name, ty):
    """The lane counts with which ``name`` over ``ty`` goes through
    ``outline.call(..., inline=True)`` (its vector form branches, see
    functions.branchy), or None when inline IR is used."""
    if not functions.branchy(name, ty):
        return None
    return mathlib.lanes()[_bytes(ty)]


def _bytes(ty):
    return 8 if isinstance(ty, ir.DoubleType) else 4


def _math(b, name, args):
    """A math function (trax.compiler.math.functions), computing half
    precision in float: inline IR; or, when the module calls the math
    library (``b.library_lanes``, see emission.Emission), a call of the math
    library's function (see trax.compiler.math.mathlib; vector arguments call its vector
    version); or, for the functions whose vector form branches
    (functions.branchy), a call that is inlined after vectorization."""
    ty = args[0].type
    if ty == ir.HalfType():
        wide = [b.fpext(a, ir.FloatType()) for a in args]
        return b.fptrunc(_math(b, name, wide), ir.HalfType())
    lanes = b.library_lanes
    if lanes is not None:
        if isinstance(ty, ir.VectorType):       # a loop in vector form (vectorize.py)
            return outline.call(b, name, args, b.math_used, lanes[_bytes(ty.element)],
                                library=True)
        lanes = lanes[_bytes(ty)]
        loops.fold_tail(b, max(lanes))
        return outline.call(b, name, args, b.math_used, lanes, library=True)
    branchy = branchy_lanes(name, ty)
    if branchy is not None:
        return outline.call(b, name, args, b.math_used, branchy, inline=True)
    return functions.emit(b, name, args)


# ---------------------------------------------------------------- unary math

MATH = sorted(primitives.names(cost="math"))
for _name in MATH:
    EMITTERS[_name] = (lambda name: lambda b, xs, dts, out_dt, p: _math(b, name, xs))(_name)


@emitter("neg")
def _neg(b, xs, dts, out_dt, p):
    return b.fneg(xs[0]) if is_float(dts[0]) else b.neg(xs[0])


@emitter("abs")
def _abs(b, xs, dts, out_dt, p):
    x, = xs
    if is_float(dts[0]):
        return intrinsic(b, "fabs", [x])
    if not is_signed(dts[0]):
        return x
    return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), b.neg(x), x)


@emitter("sign")
def _sign(b, xs, dts, out_dt, p):
    x, = xs
    dt = dts[0]
    zero, one = const(dt, 0), const(dt, 1)
    if is_float(dt):
        s = b.select(b.fcmp_ordered(">", x, zero), one, const(dt, -1))
        return b.select(b.fcmp_unordered("ueq", x, zero), x, s)   # nan and ±0 stay
    if not is_signed(dt):
        return b.zext(b.icmp_unsigned("!=", x, zero), x.type)
    pos = b.zext(b.icmp_signed(">", x, zero), x.type)
    return b.sub(pos, b.zext(b.icmp_signed("<", x, zero), x.type))


for _name, _intr in (("floor", "floor"), ("ceil", "ceil"), ("round", "roundeven"),
                     ("sqrt", "sqrt")):
    EMITTERS[_name] = (lambda i: lambda b, xs, dts, out_dt, p: intrinsic(b, i, xs))(_intr)


@emitter("rsqrt")
def _rsqrt(b, xs, dts, out_dt, p):
    return b.fdiv(const(dts[0], 1), intrinsic(b, "sqrt", xs))


@emitter("is_finite")
def _is_finite(b, xs, dts, out_dt, p):
    return b.fcmp_ordered("<", intrinsic(b, "fabs", xs), const(dts[0], np.inf))


@emitter("not")
def _not(b, xs, dts, out_dt, p):
    return b.not_(xs[0])


@emitter("stop_gradient")
def _identity(b, xs, dts, out_dt, p):
    return xs[0]


# ---------------------------------------------------------------- arithmetic

def _arith(fop, iop):
    def emit(b, xs, dts, out_dt, p):
        if is_float(dts[0]):
            return getattr(b, fop)(xs[0], xs[1], flags=_FAST)
        return getattr(b, iop)(xs[0], xs[1])
    return emit


EMITTERS["add"] = _arith("fadd", "add")
EMITTERS["sub"] = _arith("fsub", "sub")
EMITTERS["mul"] = _arith("fmul", "mul")


def _safe_divisor(b, y, dt):
    """(divisor with 0 and -1 replaced by 1, y == 0, y == -1) for integer division
    (division by 0 and MIN / -1 are undefined in LLVM)."""
    zero = b.icmp_signed("==", y, const(dt, 0))
    minus1 = b.icmp_signed("==", y, const(dt, -1)) if is_signed(dt) else ir.Constant(I1, 0)
    safe = b.select(b.or_(zero, minus1), const(dt, 1), y)
    return safe, zero, minus1


@emitter("div")
def _div(b, xs, dts, out_dt, p):
    x, y = xs
    dt = dts[0]
    if is_float(dt):
        return b.fdiv(x, y)
    safe, zero, minus1 = _safe_divisor(b, y, dt)
    q = b.sdiv(x, safe) if is_signed(dt) else b.udiv(x, safe)
    q = b.select(minus1, b.neg(x), q)
    return b.select(zero, const(dt, 0), q)


@emitter("rem")
def _rem(b, xs, dts, out_dt, p):
    x, y = xs
    dt = dts[0]
    if is_float(dt):
        return b.frem(x, y)
    safe, zero, minus1 = _safe_divisor(b, y, dt)
    r = b.srem(x, safe) if is_signed(dt) else b.urem(x, safe)
    return b.select(b.or_(zero, minus1), const(dt, 0), r)


def _minmax(fintr, pred):
    def emit(b, xs, dts, out_dt, p):
        x, y = xs
        dt = dts[0]
        if is_float(dt):
            return intrinsic(b, fintr, [x, y])      # propagates NaN like numpy
        cmp = b.icmp_signed if is_signed(dt) else b.icmp_unsigned
        return b.select(cmp(pred, x, y), x, y)
    return emit


EMITTERS["max"] = _minmax("maximum", ">")
EMITTERS["min"] = _minmax("minimum", "<")


@emitter("clamp")
def _clamp(b, xs, dts, out_dt, p):
    lo, x, hi = xs
    return EMITTERS["min"](b, [EMITTERS["max"](b, [x, lo], dts, out_dt, p), hi],
                           dts, out_dt, p)


@emitter("nextafter")
def _nextafter(b, xs, dts, out_dt, p):
    x, y = xs
    dt = dts[0]
    ity = ir.IntType(8 * np.dtype(dt).itemsize)
    xi = b.bitcast(x, ity)
    zero = const(dt, 0)
    # step away from zero when x and y - x have one sign, else toward zero
    away = b.icmp_unsigned("==", b.fcmp_ordered(">", y, x), b.fcmp_ordered(">", x, zero))
    stepped = b.bitcast(b.select(away, b.add(xi, ir.Constant(ity, 1)),
                                 b.sub(xi, ir.Constant(ity, 1))), x.type)
    tiny = intrinsic(b, "copysign", [b.bitcast(ir.Constant(ity, 1), x.type), y])
    out = b.select(b.fcmp_ordered("==", x, zero), tiny, stepped)
    out = b.select(b.fcmp_ordered("==", x, y), y, out)
    return b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), out)


for _name, _op in (("and", "and_"), ("or", "or_"), ("xor", "xor")):
    EMITTERS[_name] = (lambda op: lambda b, xs, dts, out_dt, p: getattr(b, op)(*xs))(_op)


def _shift(kind):
    def emit(b, xs, dts, out_dt, p):
        x, y = xs
        dt = dts[0]
        bits = 8 * np.dtype(dt).itemsize
        # LLVM's shifts are poison for amounts outside [0, bits): JAX's results there
        inside = b.icmp_unsigned("<", y, ir.Constant(y.type, bits))
        if kind == "arithmetic":
            return b.ashr(x, b.select(inside, y, ir.Constant(y.type, bits - 1)))
        amount = b.select(inside, y, ir.Constant(y.type, 0))
        shifted = b.shl(x, amount) if kind == "left" else b.lshr(x, amount)
        return b.select(inside, shifted, ir.Constant(x.type, 0))
    return emit


EMITTERS["shift_left"] = _shift("left")
EMITTERS["shift_right_arithmetic"] = _shift("arithmetic")
EMITTERS["shift_right_logical"] = _shift("logical")


# ---------------------------------------------------------------- comparisons

_FCMP = {"eq": ("==", True), "ne": ("!=", False), "lt": ("<", True),
         "le": ("<=", True), "gt": (">", True), "ge": (">=", True)}


def _compare(name):
    op, ordered = _FCMP[name]

    def emit(b, xs, dts, out_dt, p):
        x, y = xs
        dt = dts[0]
        if is_float(dt):
            return (b.fcmp_ordered if ordered else b.fcmp_unordered)(op, x, y)
        return (b.icmp_signed if is_signed(dt) else b.icmp_unsigned)(op, x, y)
    return emit


for _name in _FCMP:
    EMITTERS[_name] = _compare(_name)


# ---------------------------------------------------------------- powers, select

@emitter("integer_pow")
def _integer_pow(b, xs, dts, out_dt, p):
    x, = xs
    dt = dts[0]
    n = int(p["y"])
    acc, base, k = None, x, abs(n)
    mul = (lambda u, v: b.fmul(u, v)) if is_float(dt) else b.mul
    while k:
        if k & 1:
            acc = base if acc is None else mul(acc, base)
        k >>= 1
        if k:
            base = mul(base, base)
    if acc is None:
        return const(dt, 1)
    return b.fdiv(const(dt, 1), acc) if n < 0 else acc


@emitter("select_n")
def _select_n(b, xs, dts, out_dt, p):
    which, cases = xs[0], xs[1:]
    if len(cases) == 1:
        return cases[0]
    if which.type == I1:
        return b.select(which, cases[1], cases[0])
    out = cases[0]
    for k, c in enumerate(cases[1:], 1):
        out = b.select(b.icmp_signed("==", which, ir.Constant(which.type, k)), c, out)
    return out


# ---------------------------------------------------------------- conversion

@emitter("convert_element_type")
def _convert(b, xs, dts, out_dt, p):
    return convert(b, xs[0], dts[0], out_dt)


def convert(b, x, src, dst):
    """Convert register value ``x`` from numpy dtype ``src`` to ``dst``
    (numpy's casting, except that float to int saturates as in JAX: see
    lax.convert_element_type; to bool tests != 0)."""
    src, dst = np.dtype(src), np.dtype(dst)
    to = reg_type(dst)
    if src == dst:
        return x
    if dst.kind == "b":
        if src.kind == "f":
            return b.fcmp_unordered("!=", x, const(src, 0))
        return b.icmp_unsigned("!=", x, const(src, 0))
    if src.kind == "b":
        return b.uitofp(x, to) if dst.kind == "f" else b.zext(x, to)
    if src.kind == "f" and dst.kind == "f":
        return b.fpext(x, to) if dst.itemsize > src.itemsize else b.fptrunc(x, to)
    if dst.kind == "f":
        return b.sitofp(x, to) if src.kind == "i" else b.uitofp(x, to)
    if src.kind == "f":
        # saturating at the bounds of dst, nan to 0 (LLVM's fptosi is poison there)
        return intrinsic(b, "fptoui.sat" if dst.kind == "u" else "fptosi.sat", [x], ty=to)
    if dst.itemsize < src.itemsize:
        return b.trunc(x, to)
    if dst.itemsize > src.itemsize:
        return b.sext(x, to) if src.kind == "i" else b.zext(x, to)
    return x
