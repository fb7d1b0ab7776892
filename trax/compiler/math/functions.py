"""The vectorizable elementary functions: how each is computed, as LLVM IR.

Each function is written as straight-line IR built only from arithmetic,
integer/bit operations, ``select`` and intrinsics that the x86 backend lowers
to vector instructions (``llvm.fabs``, ``llvm.floor``, ``llvm.rint``,
``llvm.sqrt``, ``llvm.fma``, ``llvm.fmuladd``, ``llvm.copysign``).  There are
no branches and no calls to ``llvm.exp``/``llvm.sin``/libm, so a loop that
applies these functions element by element is vectorized by LLVM's loop
vectorizer (calls to ``llvm.exp.*`` and friends would become scalar libm
calls and block vectorization). The one exception is the vector version of
a function in ``outline.call(..., inline=True)``: sin, cos and tan (float32 and
float64) and float32 exp branch there around a path that few arguments need
(see ``branchy``).

Their constants are derived in constants.py; outline.py packages them as
functions of a module or of the math library (mathlib.py). API::

    emit(builder, name, args) -> ir.Value
    branchy(name, type)   # better through outline.call(..., inline=True) than emit()
    canonical(name)       # the function's own name for a name or numpy-style alias
    SUPPORTED     # frozenset of accepted names (incl. numpy-style aliases)
    CANONICAL     # the same without the aliases
    ARITY         # name -> number of arguments

``args`` are ``float`` or ``double`` values, or vectors ``<N x float>`` /
``<N x double>`` (all of the same type; constants become splats); the result
has that type. A vector computes exactly what the scalar code computes per lane.

Methods, briefly (float32 = f32, float64 = f64):

* exp, exp2: Cody-Waite reduction by ln2 (exact with fma), minimax polynomial,
  scaling by 2**n in two steps so results underflow gracefully to denormals
  (exp's branching vector version: by adding n to the exponent field where
  every lane's result is normal).
* log: musl/fdlibm-style reduction to [sqrt(1/2), sqrt(2)), log(1+f) through
  s = f/(2+f) and a minimax polynomial in s**2; denormal inputs are rescaled.
* log1p: log(1+x) plus the rounding correction (x-(u-1))/u.
* expm1: reduction by ln2, polynomial for expm1(r), 2**n*p + (2**n - 1).
* sin, cos, tan: reduction by pi/2 with a three-part pi/2 and fma, in
  float64 (float32 sin/cos: in float32 where |x| < 2**16), minimax
  polynomials on [-pi/4, pi/4].  The reduction is accurate for |x| < 2**40
  (f32 and f64); beyond it the branching vector versions (``call``, what
  compiled code uses) call the C library's double sin/cos/tan lane by lane,
  while inline IR (``emit``) gives NaN there (see docs/vmath.md).
* tanh via expm1, logistic via exp(-|x|) (no cancellation for large |x|),
  sinh/cosh via expm1/exp with an overflow-safe large-argument path,
  asinh/acosh/atanh via log1p/log.
* pow: f32 is evaluated in f64 (log, multiply, exp); f64 uses a double-double
  log and an exp that takes a low-order correction.  C99/numpy special cases.
* erf: f64 uses a polynomial for |x| < 0.84375 and, above, 1 - exp(-x*x) *
  erfcx(x) with per-interval polynomials for erfcx; f32 is evaluated in f64.
* atan, atan2, asin, acos: Cephes-style 3-way reduction for atan, the others
  composed from it.
* erf_inv: Giles' single-precision approximation, then Newton steps in f64
  (4; f32: 1) on erf(y) - |x|, or where y >= 0.84375 on log(erfc(y) / (1 - |x|))
  (1 - |x| is exact there; no cancellation near |x| = 1).
* cbrt: bit-trick initial guess and Halley iterations (f32 in f64).

Signed zeros, infinities, NaN and denormals follow numpy.  Measured accuracy
(max error in ulp against long-double references, over the whole finite
range; full table in docs/vmath.md): float32 exp 0.94, log 0.78, log1p 1.43,
expm1 1.33, tanh 1.97, logistic 2.20, sin/cos 1.41, pow 0.50, erf 0.50, the
f64-evaluated float32 functions 0.50; float64 exp 0.94, log 0.74, log1p 1.22,
expm1 1.61, tanh 2.06, logistic 1.76, sin 1.38, cos 1.39, pow 1.48, erf 1.00,
erf_inv 1.41 (against mpmath), others at most 2.73 (acos).
"""


from __future__ import annotations

import math
from fractions import Fraction

from llvmlite import ir

from trax.compiler.math.constants import (COEFFS, ERF_SMALL_M1, ERFCX, GILES_LARGE,
                                          GILES_SMALL, K, LN2_3, PI, PIO2_3, PIO2_F32, f32)

__all__ = ["Emitter", "emit", "branchy", "canonical", "SUPPORTED", "CANONICAL", "ARITY"]


class Emitter:
    """Emission context: a builder plus a floating type and its constants."""

    def __init__(self, b: ir.IRBuilder, ty, branchy=False):
        self.b = b
        self.branchy = branchy and isinstance(ty, ir.VectorType)
        self.ty = ty
        self.n = ty.count if isinstance(ty, ir.VectorType) else None   # lanes
        base = ty.element if self.n else ty
        self.d = isinstance(base, ir.DoubleType)
        if not self.d and not isinstance(base, ir.FloatType):
            raise TypeError(f"math functions: unsupported type {ty}")
        self.ity = self.vec(ir.IntType(64 if self.d else 32))
        self.mbits = 52 if self.d else 23
        self.bias = 1023 if self.d else 127
        self.i = 1 if self.d else 0  # index into (f32, f64) coefficient pairs

    def vec(self, scalar_ty):
        """``scalar_ty``, or a vector of it with this context's lane count."""
        return ir.VectorType(scalar_ty, self.n) if self.n else scalar_ty

    def const(self, ty, v):
        """A constant of (scalar or vector) type ``ty``; vectors are splats."""
        if isinstance(ty, ir.VectorType):
            return ir.Constant(ty, [ir.Constant(ty.element, v)] * ty.count)
        return ir.Constant(ty, v)

    # ---- constants
    def k(self, v):
        return self.const(self.ty, float(v))

    def ki(self, v):
        return self.const(self.ity, int(v))

    @property
    def nan(self):
        return self.k(float("nan"))

    @property
    def inf(self):
        return self.k(float("inf"))

    def other(self, ty):
        return Emitter(self.b, ty)

    def dbl(self):
        return Emitter(self.b, self.vec(ir.DoubleType()), self.branchy)

    # ---- arithmetic
    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def neg(self, a):
        return self.b.fneg(a)

    def _intr(self, name, *args):
        fnty = ir.FunctionType(self.ty, [self.ty] * len(args))
        if self.n:      # llvmlite cannot name vector overloads itself
            full = f"{name}.v{self.n}f{64 if self.d else 32}"
            fn = self.b.module.globals.get(full)
            if fn is None:
                fn = ir.Function(self.b.module, fnty, full)
        else:
            fn = self.b.module.declare_intrinsic(name, [self.ty], fnty)
        return self.b.call(fn, list(args))

    def fma(self, a, b, c):
        return self._intr("llvm.fma", a, b, c)

    def fmuladd(self, a, b, c):
        return self._intr("llvm.fmuladd", a, b, c)

    def abs(self, a):
        return self._intr("llvm.fabs", a)

    def floor(self, a):
        return self._intr("llvm.floor", a)

    def rint(self, a):
        return self._intr("llvm.rint", a)

    def sqrt(self, a):
        return self._intr("llvm.sqrt", a)

    def copysign(self, mag, sgn):
        return self._intr("llvm.copysign", mag, sgn)

    def poly(self, x, coeffs):
        """Horner evaluation, coefficients lowest degree first."""
        acc = self.k(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fmuladd(acc, x, self.k(c))
        return acc

    # ---- comparisons / selects
    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def le(self, a, b):
        return self.b.fcmp_ordered("<=", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def ge(self, a, b):
        return self.b.fcmp_ordered(">=", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def ne(self, a, b):
        return self.b.fcmp_unordered("!=", a, b)

    def isnan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def if_all(self, c, make_usual, make_general):
        """The values (a list) ``make_usual()`` emits if every lane of ``c``
        is true, else those ``make_general()`` emits. Only a vector function
        built with branches emits both (and a branch, the general path out of
        line); elsewhere only ``make_general``, so the two must agree on
        every lane where ``c`` is true."""
        if not self.branchy:
            return make_general()
        b, mask = self.b, ir.IntType(self.n)
        every = b.icmp_unsigned("==", b.bitcast(c, mask), ir.Constant(mask, (1 << self.n) - 1))
        usual, rare = b.append_basic_block("vm_usual"), b.append_basic_block("vm_rare")
        join = b.append_basic_block("vm_join")
        b.cbranch(every, usual, rare).set_weights([1000, 1])
        ends = []
        for block, make in ((usual, make_usual), (rare, make_general)):
            b.position_at_end(block)
            ends.append((make(), b.block))
            b.branch(join)
        b.position_at_end(join)
        phis = []
        for k, v in enumerate(ends[0][0]):
            phi = b.phi(v.type)
            for values, block in ends:
                phi.add_incoming(values[k], block)
            phis.append(phi)
        return phis

    def where_all(self, c, values, make_others):
        """``[sel(c, v, o) for v, o in zip(values, make_others())]``, with
        ``make_others`` emitted only when some lane of ``c`` is false (see
        :meth:`if_all`)."""
        return self.if_all(c, lambda: values,
                           lambda: [self.sel(c, v, o) for v, o in zip(values, make_others())])

    def sel(self, c, a, b):
        return self.b.select(c, a, b)

    def and_(self, a, b):
        return self.b.and_(a, b)

    def or_(self, a, b):
        return self.b.or_(a, b)

    def not_(self, a):
        return self.b.not_(a)

    # ---- bits
    def bits(self, a):
        return self.b.bitcast(a, self.ity)

    def from_bits(self, i):
        return self.b.bitcast(i, self.ty)

    def signbit(self, a):
        """i1: sign bit of a is set."""
        return self.b.icmp_signed("<", self.bits(a), self.ki(0))

    def mulsign(self, v, s):
        """v with its sign flipped when s has the sign bit set."""
        sb = self.b.and_(self.bits(s), self.ki(1 << (63 if self.d else 31)))
        return self.from_bits(self.b.xor(self.bits(v), sb))

    def pow2i(self, n):
        """2**n for an integer n (of self.ity) in the normal exponent range."""
        e = self.b.add(n, self.ki(self.bias))
        return self.from_bits(self.b.shl(e, self.ki(self.mbits)))

    def to_int(self, a):
        return self.b.fptosi(a, self.ity)

    def to_float(self, i):
        return self.b.sitofp(i, self.ty)

    def ext(self, a):
        return self.b.fpext(a, self.vec(ir.DoubleType()))

    def trunc(self, a):
        return self.b.fptrunc(a, self.vec(ir.FloatType()))

    def clamp_nan_safe(self, x, lo, hi):
        """clamp x to [lo, hi]; NaN becomes 0 (so later fptosi is defined)."""
        x = self.sel(self.gt(x, self.k(hi)), self.k(hi), x)
        x = self.sel(self.lt(x, self.k(lo)), self.k(lo), x)
        return self.sel(self.isnan(x), self.k(0.0), x)


def _via_double(e: Emitter, fn, *args):
    """Evaluate fn in float64 and round back (for float32 inputs)."""
    if e.d:
        return fn(e, *args)
    d = e.dbl()
    return e.trunc(fn(d, *[e.ext(a) for a in args]))


# ----------------------------------------------------------------------- exp
_EXP_CLAMP = ((-104.0, 89.0), (-746.0, 710.0))


# where exp's result is normal and 2**n*p can be formed by adding n to p's
# exponent field (p is in [0.7, 1.42], n = rint(x/ln2))
_EXP_NORMAL = ((-86.0, 88.0), (-707.0, 709.0))


def _exp(e: Emitter, x, xlo=None):
    if xlo is not None:
        return _exp_general(e, x, xlo)
    lo, hi = _EXP_NORMAL[e.i]
    normal = e.and_(e.ge(x, e.k(lo)), e.le(x, e.k(hi)))
    return e.if_all(normal, lambda: [_exp_normal(e, x)], lambda: [_exp_general(e, x)])[0]


def _exp_poly(e: Emitter, x, xlo=None):
    """(p, n) with exp(x) = p * 2**n, p in [0.7, 1.42], n a float integer."""
    n = e.rint(e.mul(x, K(e, "log2e")))
    nn = e.neg(n)
    r = e.fma(nn, K(e, "ln2_hi"), x)
    r = e.fma(nn, K(e, "ln2_lo"), r)
    if xlo is not None:
        r = e.add(r, xlo)
    r2 = e.mul(r, r)
    return e.add(e.k(1.0), e.fmuladd(r2, e.poly(r, COEFFS["exp"][e.i]), r)), n


def _exp_normal(e: Emitter, x):
    """exp(x) for x in _EXP_NORMAL: p * 2**n through p's exponent field
    (the same bits as _exp_general's two exact scalings there)."""
    p, n = _exp_poly(e, x)
    shift = e.b.shl(e.to_int(n), e.ki(e.mbits))
    return e.from_bits(e.b.add(e.bits(p), shift))


def _exp_general(e: Emitter, x, xlo=None):
    lo, hi = _EXP_CLAMP[e.i]
    p, n = _exp_poly(e, e.clamp_nan_safe(x, lo, hi), xlo)
    ni = e.to_int(n)
    n1 = e.b.ashr(ni, e.ki(1))
    n2 = e.b.sub(ni, n1)
    res = e.mul(e.mul(p, e.pow2i(n1)), e.pow2i(n2))
    return e.sel(e.isnan(x), x, res)


_EXP2_CLAMP = ((-152.0, 129.0), (-1077.0, 1025.0))


def _exp2(e: Emitter, x):
    lo, hi = _EXP2_CLAMP[e.i]
    xc = e.clamp_nan_safe(x, lo, hi)
    n = e.rint(xc)
    r = e.sub(xc, n)
    p = e.add(e.k(1.0), e.mul(r, e.poly(r, COEFFS["exp2"][e.i])))
    ni = e.to_int(n)
    n1 = e.b.ashr(ni, e.ki(1))
    n2 = e.b.sub(ni, n1)
    res = e.mul(e.mul(p, e.pow2i(n1)), e.pow2i(n2))
    return e.sel(e.isnan(x), x, res)


def _expm1_parts(e: Emitter, x):
    """expm1(x) = 2^n * p + (2^n - 1): returns p and the i32 n."""
    n = e.rint(e.mul(x, K(e, "log2e")))
    nn = e.neg(n)
    r = e.fma(nn, K(e, "ln2_hi"), x)
    r = e.fma(nn, K(e, "ln2_lo"), r)
    r2 = e.mul(r, r)
    # p = expm1(r) = r + r^2/2 + r^3 * M(r)
    p = e.add(r, e.fmuladd(e.mul(r2, r), e.poly(r, COEFFS["expm1"][e.i]), e.mul(e.k(0.5), r2)))
    return p, e.to_int(n)


_EXPM1_SMALL_N = 60


def _expm1_small(e: Emitter, p, n):
    """2^n * p + (2^n - 1), for n <= 60 (no overflow on the way)."""
    t = e.pow2i(n)
    return e.fma(t, p, e.sub(t, e.k(1.0)))


def _expm1(e: Emitter, x):
    # beyond these bounds the result is -1 or overflows through the big path
    lo, hi = ((-40.0, 89.0), (-80.0, 710.0))[e.i]
    p, ni = _expm1_parts(e, e.clamp_nan_safe(x, lo, hi))
    lim = e.ki(_EXPM1_SMALL_N)
    big_n = e.b.icmp_signed(">", ni, lim)
    small = _expm1_small(e, p, e.b.select(big_n, lim, ni))
    # big path: (1 + p) * 2^n in two steps (overflow-safe)
    n1 = e.b.ashr(ni, e.ki(1))
    n2 = e.b.sub(ni, n1)
    big = e.mul(e.mul(e.add(p, e.k(1.0)), e.pow2i(n1)), e.pow2i(n2))
    res = e.sel(big_n, big, small)
    # x == 0 keeps its sign; NaN propagates
    return e.sel(e.or_(e.eq(x, e.k(0.0)), e.isnan(x)), x, res)


# ----------------------------------------------------------------------- log
_SQRTH_BITS = (0x3F3504F3, 0x3FE6A09E667F3BCD)
_ONE_BITS = (0x3F800000, 0x3FF0000000000000)


def _log_reduce(e: Emitter, x):
    """x = 2**k * m with m in [sqrt(1/2), sqrt(2)); x positive finite (else garbage)."""
    tiny_scale = 25 if not e.d else 54
    tiny = e.lt(x, e.k(2.0 ** (1 - e.bias)))
    xs = e.sel(tiny, e.mul(x, e.k(2.0 ** tiny_scale)), x)
    kadj = e.b.select(tiny, e.ki(-tiny_scale), e.ki(0))
    ix = e.b.add(e.bits(xs), e.ki(_ONE_BITS[e.i] - _SQRTH_BITS[e.i]))
    k = e.b.sub(e.b.ashr(ix, e.ki(e.mbits)), e.ki(e.bias))
    k = e.b.add(k, kadj)
    mb = e.b.add(e.b.and_(ix, e.ki((1 << e.mbits) - 1)), e.ki(_SQRTH_BITS[e.i]))
    return e.from_bits(mb), e.to_float(k)


def _log_specials(e: Emitter, x, res):
    res = e.sel(e.eq(x, e.inf), e.inf, res)
    res = e.sel(e.eq(x, e.k(0.0)), e.k(float("-inf")), res)
    return e.sel(e.or_(e.lt(x, e.k(0.0)), e.isnan(x)), e.nan, res)


def _log_core(e: Emitter, x):
    m, dk = _log_reduce(e, x)
    f = e.sub(m, e.k(1.0))
    s = e.div(f, e.add(e.k(2.0), f))
    z = e.mul(s, s)
    R = e.mul(z, e.poly(z, COEFFS["log"][e.i]))
    hfsq = e.mul(e.mul(e.k(0.5), f), f)
    t = e.fmuladd(s, e.add(hfsq, R), e.mul(dk, K(e, "ln2_lo")))
    return e.sub(e.mul(dk, K(e, "ln2_hi")), e.sub(e.sub(hfsq, t), f))


def _log(e: Emitter, x):
    return _log_specials(e, x, _log_core(e, x))


def _log1p(e: Emitter, x):
    u = e.add(e.k(1.0), x)
    lu = _log_core(e, u)
    c = e.sub(x, e.sub(u, e.k(1.0)))
    ok = e.and_(e.gt(u, e.k(0.0)), e.lt(u, e.inf))
    res = e.add(lu, e.sel(ok, e.div(c, u), e.k(0.0)))
    res = _log_specials(e, u, res)
    return e.sel(e.eq(x, e.k(0.0)), x, res)


def _log_dd(e: Emitter, a):
    """log(a) as a double-double (hi, lo) for a > 0 finite (f64 only)."""
    m, dk = _log_reduce(e, a)
    one = e.k(1.0)
    f = e.sub(m, one)  # exact
    # d = m + 1 as a double-double (TwoSum)
    d = e.add(m, one)
    bb = e.sub(d, m)
    d_lo = e.add(e.sub(m, e.sub(d, bb)), e.sub(one, bb))
    s = e.div(f, d)
    rem = e.fma(e.neg(s), d, f)
    rem = e.fmuladd(e.neg(s), d_lo, rem)
    s_lo = e.div(rem, d)
    z = e.mul(s, s)
    z_lo = e.fma(s, s, e.neg(z))
    s3 = e.mul(z, s)
    s3_lo = e.fma(z, s, e.neg(s3))
    s3_lo = e.add(s3_lo, e.fmuladd(z_lo, s, e.mul(e.mul(e.k(3.0), z), s_lo)))
    c23 = Fraction(2, 3)
    c_hi = float(c23)
    c_lo = float(c23 - Fraction(c_hi))
    t3 = e.mul(e.k(c_hi), s3)
    t3_lo = e.fma(e.k(c_hi), s3, e.neg(t3))
    t3_lo = e.add(t3_lo, e.fmuladd(e.k(c_hi), s3_lo, e.mul(e.k(c_lo), s3)))
    tail = e.mul(e.mul(s3, z), e.poly(z, COEFFS["logt"][1]))
    two_s = e.mul(e.k(2.0), s)
    lo = e.add(e.add(e.mul(e.k(2.0), s_lo), t3_lo), tail)
    # (two_s + t3) exactly: |two_s| >= |t3| -> Fast2Sum
    h = e.add(two_s, t3)
    lo = e.add(lo, e.sub(t3, e.sub(h, two_s)))
    # + k*ln2 (three parts)
    kh = e.mul(dk, e.k(LN2_3[0]))  # exact
    H = e.add(kh, h)
    bb = e.sub(H, kh)
    err = e.add(e.sub(kh, e.sub(H, bb)), e.sub(h, bb))
    lo = e.add(e.add(lo, err), e.fmuladd(dk, e.k(LN2_3[1]), e.mul(dk, e.k(LN2_3[2]))))
    hi = e.add(H, lo)
    lo = e.sub(lo, e.sub(hi, H))
    return hi, lo


# --------------------------------------------------------------------- pow
def _pow_mag(e: Emitter, a, y):
    """|x|**y for a = |x| (no sign handling)."""
    if not e.d:
        d = e.dbl()
        ad, yd = e.ext(a), e.ext(y)
        t = d.mul(yd, _log(d, ad))
        return e.trunc(_exp(d, t))
    hi, lo = _log_dd(e, a)
    fin = e.and_(e.gt(a, e.k(0.0)), e.lt(a, e.inf))
    hi = e.sel(fin, hi, _log_specials(e, a, e.k(0.0)))
    lo = e.sel(fin, lo, e.k(0.0))
    p = e.mul(y, hi)
    p_lo = e.fmuladd(y, lo, e.fma(y, hi, e.neg(p)))
    p_lo = e.sel(e.lt(e.abs(p), e.k(2000.0)), p_lo, e.k(0.0))
    return _exp(e, p, p_lo)


def _pow(e: Emitter, x, y):
    a = e.abs(x)
    r = _pow_mag(e, a, y)
    fy = e.floor(y)
    yint = e.eq(fy, y)
    half = e.mul(y, e.k(0.5))
    yodd = e.and_(yint, e.ne(e.floor(half), half))
    r = e.sel(e.and_(yodd, e.signbit(x)), e.neg(r), r)
    xneg_fin = e.and_(e.lt(x, e.k(0.0)), e.gt(x, e.k(float("-inf"))))
    yfin_nonint = e.and_(e.lt(e.abs(y), e.inf), e.not_(yint))
    r = e.sel(e.and_(xneg_fin, yfin_nonint), e.nan, r)
    one = e.k(1.0)
    r = e.sel(e.and_(e.eq(a, one), e.eq(e.abs(y), e.inf)), one, r)
    r = e.sel(e.eq(x, one), one, r)
    return e.sel(e.eq(y, e.k(0.0)), one, r)


# ---------------------------------------------------------------- sin / cos
_TRIG_LIMIT = (2.0 ** 40, 2.0 ** 40)
_ROUNDER = 1.5 * 2.0 ** 52


def _trig_reduce(e: Emitter, a):
    """a = |x|: returns (r, q (i32 in 0..3), ok) with a = q*pi/2 + r (mod 2pi)."""
    d = e.dbl()
    ad = e.ext(a) if not e.d else a
    # 0 <= a*2/pi < 2**51: adding 1.5*2**52 rounds it to the nearest integer n,
    # whose low bits are then the low bits of the sum's mantissa (where not
    # ok, r and q mean nothing: the caller returns NaN there)
    t = d.add(d.mul(ad, d.k(float(2 / PI))), d.k(_ROUNDER))
    nn = d.sub(d.k(_ROUNDER), t)
    r = d.fma(nn, d.k(PIO2_3[0]), ad)
    r = d.fma(nn, d.k(PIO2_3[1]), r)
    if e.d:     # (float32 arguments need pi/2 to ~106 bits only)
        r = d.fma(nn, d.k(PIO2_3[2]), r)
    q = e.b.trunc(e.b.bitcast(t, d.ity), e.vec(ir.IntType(32)))
    if not e.d:
        r = e.trunc(r)
    return r, q, _trig_ok(e, a)


def _trig_ok(e: Emitter, a):
    return e.lt(a, e.k(_TRIG_LIMIT[e.i]))


_TRIG_F32_LIMIT = 2.0 ** 16
_ROUNDER_F32 = 1.5 * 2.0 ** 23




def _trig_reduce_f32(e: Emitter, a):
    """a = |x| < _TRIG_F32_LIMIT, float32: (r, q) as _trig_reduce, in float32.
    The first fma is exact: a and q*pio2_hi are multiples of 2**-24 and their
    difference is below 1 (q is a's nearest multiple of pi/2, up to the
    rounding of 2/pi), so it has at most 24 significant bits. Measured over
    every float32 below the limit: sin 1.49, cos 1.49 ulp at most (the
    float64 reduction: 1.49 and 1.49 there too)."""
    t = e.fma(a, e.k(f32(2 / PI)), e.k(_ROUNDER_F32))
    nn = e.sub(e.k(_ROUNDER_F32), t)
    r = a
    for part in PIO2_F32:
        r = e.fma(nn, e.k(part), r)
    return r, e.bits(t)


def _reduced(e: Emitter, a, finish):
    """``finish(r, q, ok)`` for a = |x| reduced by pi/2. float32 reduces in
    float32 where a < _TRIG_F32_LIMIT (or is NaN), in float64 elsewhere;
    only (r, q) are chosen per lane, so the polynomials are emitted once."""
    if e.d:
        return finish(*_trig_reduce(e, a))
    small = e.b.fcmp_unordered("<", a, e.k(_TRIG_F32_LIMIT))
    r, q = e.where_all(small, _trig_reduce_f32(e, a), lambda: _trig_reduce(e, a)[:2])
    return finish(r, q, _trig_ok(e, a))


def _sin_poly(e: Emitter, r, z):
    return e.fmuladd(e.mul(r, z), e.poly(z, COEFFS["sin"][e.i]), r)


def _cos_poly(e: Emitter, z):
    hz = e.mul(e.k(0.5), z)
    w = e.sub(e.k(1.0), hz)
    corr = e.fmuladd(e.mul(z, z), e.poly(z, COEFFS["cos"][e.i]), e.sub(e.sub(e.k(1.0), w), hz))
    return e.add(w, corr)


def _qbit(e: Emitter, q, bit):
    i32 = e.vec(ir.IntType(32))
    return e.b.icmp_signed("!=", e.b.and_(q, e.const(i32, bit)), e.const(i32, 0))


def _sin_reduced(e: Emitter, r, q, ok):
    z = e.mul(r, r)
    s, c = _sin_poly(e, r, z), _cos_poly(e, z)
    v = e.sel(_qbit(e, q, 1), c, s)
    return e.sel(ok, e.sel(_qbit(e, q, 2), e.neg(v), v), e.nan)


def _cos_reduced(e: Emitter, r, q, ok):
    z = e.mul(r, r)
    s, c = _sin_poly(e, r, z), _cos_poly(e, z)
    v = e.sel(_qbit(e, q, 1), s, c)
    q1 = e.b.add(q, e.const(e.vec(ir.IntType(32)), 1))
    return e.sel(ok, e.sel(_qbit(e, q1, 2), e.neg(v), v), e.nan)


def _sin(e: Emitter, x):
    v = e.mulsign(_reduced(e, e.abs(x), lambda *rq: _sin_reduced(e, *rq)), x)
    return _beyond_reduction(e, x, v, lambda y: _libm(e, "sin", y))


def _cos(e: Emitter, x):
    v = _reduced(e, e.abs(x), lambda *rq: _cos_reduced(e, *rq))
    return _beyond_reduction(e, x, v, lambda y: _libm(e, "cos", y))


def shifted_sine(e: Emitter, a, shift):
    """For a = |x|, the sine of a's reduction (r, q) by pi/2 taken at
    quadrant q + ``shift`` (an i32, or a vector of them whose first lane
    counts): shift 0 gives sin |x|, 1 gives cos x. Outlined sin and cos
    share this body (see outline._shared_trig)."""
    v = _reduced(e, a, lambda r, q, ok: _sin_reduced(e, r, e.b.add(q, shift), ok))
    which = e.b.extract_element(shift, ir.Constant(ir.IntType(32), 0)) \
        if isinstance(shift.type, ir.VectorType) else shift      # 0: sin, 1: cos
    return _beyond_reduction(e, a, v, lambda y: _libm(e, None, y, which))


def _beyond_reduction(e: Emitter, x, v, general):
    """``v`` where |x| < 2**40 or x is not finite, ``general(x)`` elsewhere:
    the reduction by pi/2 here is exact only below 2**40, and beyond it the
    C library's own (Payne-Hanek) reduction takes over. Only a vector
    version that branches (see Emitter.if_all) can call it: inline IR keeps NaN
    there."""
    if not e.branchy:
        return v
    a = e.abs(x)
    ok = e.or_(e.b.fcmp_unordered("<", a, e.k(_TRIG_LIMIT[e.i])), e.eq(a, e.inf))
    return e.where_all(ok, [v], lambda: [general(x)])[0]


_LIBM = ("sin", "cos", "tan")


def _libm(e: Emitter, name, x, which=None):
    """The C library's double ``name`` of each lane of ``x`` (rounded back
    to float32 for float32 lanes). Vectors go through one small function
    per module and type that calls it lane by lane (``which``, an i32
    index into _LIBM, may replace ``name``)."""
    which = ir.Constant(ir.IntType(32), _LIBM.index(name)) if which is None else which
    if e.n is None:
        return _libm_call(e.b, e.d, _libm_fn(e.b, which), x)
    return e.b.call(_libm_lanes(e.b.module, e.ty), [x, which])


def _libm_fn(b, which):
    """The C library's double function _LIBM[which] (a pointer picked at run time)."""
    dbl = ir.DoubleType()
    fns = []
    for name in _LIBM:
        fn = b.module.globals.get(name)
        if fn is None:
            fn = ir.Function(b.module, ir.FunctionType(dbl, [dbl]), name)
            fn.attributes.add("nounwind")
        fns.append(fn)
    i32 = ir.IntType(32)
    return b.select(b.icmp_unsigned("==", which, ir.Constant(i32, 0)), fns[0],
                    b.select(b.icmp_unsigned("==", which, ir.Constant(i32, 1)), fns[1], fns[2]))


def _libm_call(b, double, fn, v):
    r = b.call(fn, [v if double else b.fpext(v, ir.DoubleType())])
    return r if double else b.fptrunc(r, ir.FloatType())


def _libm_lanes(module, ty):
    """``trax_vm_libm_*(x, which)``: _LIBM[which] of each lane (a rare path,
    in a function of its own: inline in each vector body it cost ~6 ms of
    LLVM time per module)."""
    el = ty.element
    double = isinstance(el, ir.DoubleType)
    fname = f"trax_vm_libm_{'f64' if double else 'f32'}_v{ty.count}"
    fn = module.globals.get(fname)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(ty, [ty, ir.IntType(32)]), fname)
    fn.linkage = "internal"
    for a in ("noinline", "optnone", "nounwind", "cold"):
        fn.attributes.add(a)
    x, which = fn.args
    b = ir.IRBuilder(fn.append_basic_block())
    f = _libm_fn(b, which)
    out = ir.Constant(ty, None)
    for k in range(ty.count):
        lane = ir.Constant(ir.IntType(32), k)
        out = b.insert_element(out, _libm_call(b, double, f, b.extract_element(x, lane)), lane)
    b.ret(out)
    return fn


def _tan(e: Emitter, x):
    a = e.abs(x)
    r, q, ok = _trig_reduce(e, a)
    z = e.mul(r, r)
    s, c = _sin_poly(e, r, z), _cos_poly(e, z)
    odd = _qbit(e, q, 1)
    v = e.div(e.sel(odd, e.neg(c), s), e.sel(odd, s, c))
    v = e.mulsign(e.sel(ok, v, e.nan), x)
    return _beyond_reduction(e, x, v, lambda y: _libm(e, "tan", y))


# ------------------------------------------------------- hyperbolic family
_TANH_ONE = (10.0, 20.0)       # tanh is 1.0 beyond (float32, float64)


def _tanh(e: Emitter, x):
    a = e.abs(x)
    lim = e.k(_TANH_ONE[e.i])
    ac = e.sel(e.gt(a, lim), lim, a)
    # 0 <= 2ac <= 40: expm1's n stays below 60, so only its small path is needed
    em = _expm1_small(e, *_expm1_parts(e, e.mul(e.k(2.0), ac)))
    t = e.div(em, e.add(em, e.k(2.0)))
    return e.sel(e.isnan(x), x, e.copysign(t, x))


def _logistic(e: Emitter, x):
    ex = _exp(e, e.neg(e.abs(x)))
    d = e.add(e.k(1.0), ex)
    return e.sel(e.signbit(x), e.div(ex, d), e.div(e.k(1.0), d))


_BIG_HYP = (88.0, 709.0)


def _sinh(e: Emitter, x):
    a = e.abs(x)
    em = _expm1(e, a)
    small = e.mul(e.k(0.5), e.add(em, e.div(em, e.add(em, e.k(1.0)))))
    h = _exp(e, e.mul(e.k(0.5), a))
    big = e.mul(e.mul(e.k(0.5), h), h)
    v = e.sel(e.gt(a, e.k(_BIG_HYP[e.i])), big, small)
    return e.copysign(v, x)


def _cosh(e: Emitter, x):
    a = e.abs(x)
    ex = _exp(e, a)
    small = e.fmuladd(e.k(0.5), ex, e.div(e.k(0.5), ex))
    h = _exp(e, e.mul(e.k(0.5), a))
    big = e.mul(e.mul(e.k(0.5), h), h)
    return e.sel(e.gt(a, e.k(_BIG_HYP[e.i])), big, small)


_HUGE_ARG = (2.0 ** 13, 2.0 ** 28)


def _asinh(e: Emitter, x):
    a = e.abs(x)
    a2 = e.mul(a, a)
    t = e.add(a, e.div(a2, e.add(e.k(1.0), e.sqrt(e.add(e.k(1.0), a2)))))
    small = _log1p(e, t)
    big = e.add(_log(e, a), K(e, "ln2"))
    v = e.sel(e.gt(a, e.k(_HUGE_ARG[e.i])), big, small)
    return e.copysign(v, x)


def _acosh(e: Emitter, x):
    t = e.sub(x, e.k(1.0))
    small = _log1p(e, e.add(t, e.sqrt(e.fmuladd(t, t, e.mul(e.k(2.0), t)))))
    big = e.add(_log(e, x), K(e, "ln2"))
    v = e.sel(e.gt(x, e.k(_HUGE_ARG[e.i])), big, small)
    return e.sel(e.lt(x, e.k(1.0)), e.nan, v)


def _atanh(e: Emitter, x):
    a = e.abs(x)
    t = e.add(a, a)
    q = e.div(t, e.sub(e.k(1.0), a))
    # below 1/2, 2a + 2a*a/(1-a) keeps the exact 2a apart from the rounded part
    y = e.sel(e.lt(a, e.k(0.5)), e.fmuladd(q, a, t), q)
    v = e.mul(e.k(0.5), _log1p(e, y))
    return e.copysign(v, x)


# ------------------------------------------------------------ atan family
def _atan_pos(e: Emitter, a):
    """atan(a) for a >= 0 (or NaN), without the sign."""
    big = e.gt(a, e.k(2.414213562373095))
    mid = e.gt(a, e.k(0.41421356237309503))
    t = e.sel(big, e.div(e.k(-1.0), a),
              e.sel(mid, e.div(e.sub(a, e.k(1.0)), e.add(a, e.k(1.0))), a))
    bh = e.sel(big, K(e, "pio2_hi"), e.sel(mid, K(e, "pio4_hi"), e.k(0.0)))
    bl = e.sel(big, K(e, "pio2_lo"), e.sel(mid, K(e, "pio4_lo"), e.k(0.0)))
    z = e.mul(t, t)
    p = e.fmuladd(e.mul(t, z), e.poly(z, COEFFS["atan"][e.i]), t)
    return e.add(bh, e.add(p, bl))


def _atan(e: Emitter, x):
    return e.copysign(_atan_pos(e, e.abs(x)), x)


def _atan2(e: Emitter, y, x):
    ay, ax = e.abs(y), e.abs(x)
    swap = e.gt(ay, ax)
    t = e.sel(swap, e.div(ax, ay), e.div(ay, ax))
    both0 = e.and_(e.eq(ay, e.k(0.0)), e.eq(ax, e.k(0.0)))
    bothinf = e.and_(e.eq(ay, e.inf), e.eq(ax, e.inf))
    t = e.sel(both0, e.k(0.0), e.sel(bothinf, e.k(1.0), t))
    r = _atan_pos(e, t)
    r = e.sel(swap, e.add(e.sub(K(e, "pio2_hi"), r), K(e, "pio2_lo")), r)
    r = e.sel(e.signbit(x), e.add(e.sub(K(e, "pi_hi"), r), K(e, "pi_lo")), r)
    return e.copysign(r, y)


def _asin(e: Emitter, x):
    a = e.abs(x)
    one = e.k(1.0)
    den = e.sqrt(e.mul(e.sub(one, a), e.add(one, a)))
    return e.copysign(_atan_pos(e, e.div(a, den)), x)


def _acos(e: Emitter, x):
    one = e.k(1.0)
    q = e.sqrt(e.div(e.sub(one, x), e.add(one, x)))
    return e.mul(e.k(2.0), _atan_pos(e, q))



def _erf_small(e: Emitter, x):
    """erf(x) for |x| < 0.84375."""
    z = e.mul(x, x)
    return e.fmuladd(x, e.poly(z, ERF_SMALL_M1), x)


def _erfc_parts(e: Emitter, a):
    """(exp(-a*a), erfcx(a)), whose product is erfc(a), for 0.84375 <= a
    (a = 6 above 6); erfcx is a polynomial per interval, picked by selects.
    The first is exp(-a*a) for any a <= 6."""
    ac = e.sel(e.gt(a, e.k(6.0)), e.k(6.0), a)
    bounds = [1.5, 2.25, 3.0, 4.0]
    # choose the interval's center and coefficients with selects
    conds = [e.lt(ac, e.k(bnd)) for bnd in bounds]

    def pick(vals):
        v = e.k(vals[-1])
        for cnd, val in reversed(list(zip(conds, vals[:-1]))):
            v = e.sel(cnd, e.k(val), v)
        return v

    centers = [c for c, _ in ERFCX]
    t = e.sub(ac, pick(centers))
    ncoef = len(ERFCX[0][1])
    acc = pick([cs[-1] for _, cs in ERFCX])
    for j in range(ncoef - 2, -1, -1):
        acc = e.fmuladd(acc, t, pick([cs[j] for _, cs in ERFCX]))
    x2 = e.mul(ac, ac)
    x2_lo = e.fma(ac, ac, e.neg(x2))
    ex = e.mul(_exp(e, e.neg(x2)), e.sub(e.k(1.0), x2_lo))
    return ex, acc


def _erf64(e: Emitter, x):
    a = e.abs(x)
    small = _erf_small(e, x)
    ex, erfcx = _erfc_parts(e, a)
    big = e.sub(e.k(1.0), e.mul(ex, erfcx))
    big = e.copysign(big, x)
    return e.sel(e.lt(a, e.k(0.84375)), small, big)


def _erf(e: Emitter, x):
    return _via_double(e, _erf64, x)


# --------------------------------------------------------------- erf_inv
def _erf_inv64(e: Emitter, x, steps):
    """Giles' approximation refined by Newton steps: on erf(y) - |x| where
    y < 0.84375; above, on log(erfc(y) / (1 - |x|)), where 1 - |x| is exact
    and erfc keeps its relative accuracy (erf(y) - |x| would cancel near
    |x| = 1) and which converges from Giles' float32-range guess in float64's
    tail (|x| up to 1 - 2**-53), where erfc's steps would crawl."""
    a = e.abs(x)
    one = e.k(1.0)
    c = e.sub(one, a)
    w = e.neg(_log(e, e.mul(c, e.add(one, a))))
    small = e.poly(e.sub(w, e.k(2.5)), GILES_SMALL[::-1])
    large = e.poly(e.sub(e.sqrt(w), e.k(3.0)), GILES_LARGE[::-1])
    y = e.mul(e.sel(e.lt(w, e.k(5.0)), small, large), a)
    k = e.k(2 / math.sqrt(math.pi))     # erf'(y) = k * exp(-y*y)
    for _ in range(steps):
        ex, erfcx = _erfc_parts(e, y)    # ex = exp(-y*y) here
        by_erf = e.sub(y, e.div(e.sub(_erf_small(e, y), a), e.mul(k, ex)))
        by_erfc = e.fmuladd(_log(e, e.div(e.mul(ex, erfcx), c)), e.div(erfcx, k), y)
        y = e.sel(e.lt(y, e.k(0.84375)), by_erf, by_erfc)
    y = e.sel(e.eq(a, one), e.inf, y)
    return e.copysign(e.sel(e.le(a, one), y, e.nan), x)


def _erf_inv(e: Emitter, x):
    # float32 is one step from Giles' guess (2 float32 ulp at most)
    return _via_double(e, lambda d, v: _erf_inv64(d, v, 4 if e.d else 1), x)


# ----------------------------------------------------------------- cbrt
def _cbrt64(e: Emitter, x):
    a = e.abs(x)
    tiny = e.lt(a, e.k(2.0 ** -1022))
    huge = e.gt(a, e.k(2.0 ** 600))
    s = e.sel(tiny, e.mul(a, e.k(2.0 ** 54)), e.sel(huge, e.mul(a, e.k(2.0 ** -600)), a))
    ib = e.bits(s)
    g = e.from_bits(e.b.add(e.b.udiv(ib, e.ki(3)), e.ki(682 << 52)))
    for _ in range(3):
        g3 = e.mul(e.mul(g, g), g)
        g = e.sub(g, e.mul(g, e.div(e.sub(g3, s), e.fmuladd(e.k(2.0), g3, s))))
    g = e.sel(tiny, e.mul(g, e.k(2.0 ** -18)), e.sel(huge, e.mul(g, e.k(2.0 ** 200)), g))
    special = e.or_(e.eq(a, e.k(0.0)), e.not_(e.lt(a, e.inf)))
    return e.sel(special, x, e.copysign(g, x))


def _cbrt(e: Emitter, x):
    return _via_double(e, _cbrt64, x)


# ------------------------------------------------------------- dispatch
_IMPL = {
    "exp": _exp,
    "exp2": _exp2,
    "expm1": _expm1,
    "log": _log,
    "log1p": _log1p,
    "pow": _pow,
    "sin": _sin,
    "cos": _cos,
    "tan": _tan,
    "tanh": _tanh,
    "logistic": _logistic,
    "sinh": _sinh,
    "cosh": _cosh,
    "asinh": _asinh,
    "acosh": _acosh,
    "atanh": _atanh,
    "atan": _atan,
    "atan2": _atan2,
    "asin": _asin,
    "acos": _acos,
    "erf": _erf,
    "erf_inv": _erf_inv,
    "cbrt": _cbrt,
}

_ALIASES = {
    "power": "pow",
    "sigmoid": "logistic",
    "expit": "logistic",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
}

# float32 versions evaluated in float64 (cheap way to ~0.5 ulp for the
# composed functions; the main ML functions stay in float32 for speed)
_F32_VIA_F64 = frozenset(["tan", "atan", "atan2", "asin", "acos", "sinh", "cosh",
                          "asinh", "acosh", "atanh"])

ARITY = {n: (2 if n in ("pow", "atan2") else 1) for n in _IMPL}
ARITY.update({a: ARITY[t] for a, t in _ALIASES.items() if t in ARITY})

SUPPORTED = frozenset(ARITY)
#: The functions' own names (SUPPORTED without the numpy-style aliases).
CANONICAL = frozenset(_IMPL)


def canonical(name: str) -> str:
    """The function's own name for ``name`` (a name in SUPPORTED)."""
    canon = _ALIASES.get(name, name)
    if canon not in _IMPL:
        raise KeyError(f"unsupported math function {name!r}")
    return canon


# Functions whose vector form (in outline.call()) branches around a path that few
# arguments need; their inline form takes that path for every element (and
# sin/cos/tan return NaN beyond 2**40 there instead of calling the C library)
_BRANCHY_F32 = frozenset(["sin", "cos", "tan", "exp"])
_BRANCHY_F64 = frozenset(["sin", "cos", "tan"])


def branchy(name: str, ty) -> bool:
    """Whether ``name`` over ``ty`` values goes through ``outline.call(...,
    inline=True)`` rather than :func:`emit`: faster (same results), and for
    sin, cos and tan the only form correct beyond 2**40."""
    canon = _ALIASES.get(name, name)
    if isinstance(ty, ir.FloatType):
        return canon in _BRANCHY_F32
    return isinstance(ty, ir.DoubleType) and canon in _BRANCHY_F64


def emit(builder: ir.IRBuilder, name: str, args, branchy=False) -> ir.Value:
    """Emit inline, branch-free IR computing ``name(*args)`` and return the value.

    ``args`` must all be ``float`` or all ``double`` values (or vectors of
    them); the result has the same type. With ``branchy``, a vector version
    may branch (see Emitter.if_all).
    """
    canon = canonical(name)
    fn = _IMPL[canon]
    args = list(args)
    if len(args) != ARITY[canon]:
        raise TypeError(f"math function {name} takes {ARITY[canon]} argument(s), got {len(args)}")
    ty = args[0].type
    if any(a.type != ty for a in args):
        raise TypeError(f"math function {name}: all arguments must have the same type")
    e = Emitter(builder, ty, branchy)
    if not e.d and canon in _F32_VIA_F64:
        return _via_double(e, fn, *args)
    return fn(e, *args)

