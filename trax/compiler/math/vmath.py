"""Vectorizable elementary functions emitted as inline LLVM IR.

Each function is written as straight-line IR built only from arithmetic,
integer/bit operations, ``select`` and intrinsics that the x86 backend lowers
to vector instructions (``llvm.fabs``, ``llvm.floor``, ``llvm.rint``,
``llvm.sqrt``, ``llvm.fma``, ``llvm.fmuladd``, ``llvm.copysign``).  There are
no branches and no calls to ``llvm.exp``/``llvm.sin``/libm, so a loop that
applies these functions element by element is vectorized by LLVM's loop
vectorizer (calls to ``llvm.exp.*`` and friends would become scalar libm
calls and block vectorization). The one exception is the vector version of
a function in ``call(..., inline=True)``: float32 sin, cos and exp branch
there around a path that few arguments need (see ``branchy``).

API::

    emit(builder, name, args) -> ir.Value
    call(builder, name, args, lanes[, inline, library]) -> ir.Value   # one function per module
    finish(module)                                 # after the last call()
    library_names(name, type, lanes) / define_library(module, name, type, lanes)
                  # the math library's functions (see trax.compiler.math.mathlib)
    branchy(name, type)   # better through call(..., inline=True) than emit()
    SUPPORTED     # frozenset of accepted names (incl. numpy-style aliases)
    CANONICAL     # the same without the aliases
    SCALAR_LIBM   # names implemented by a scalar libm call (empty)
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
* cbrt: bit-trick initial guess and Halley iterations (f32 in f64).
* erf_inv is not implemented yet.

Signed zeros, infinities, NaN and denormals follow numpy.  Measured accuracy
(max error in ulp against long-double references, over the whole finite
range; full table in docs/vmath.md): float32 exp 0.94, log 0.78, log1p 1.43,
expm1 1.33, tanh 1.97, logistic 2.20, sin/cos 1.41, pow 0.50, erf 0.50, the
f64-evaluated float32 functions 0.50; float64 exp 0.94, log 0.74, log1p 1.22,
expm1 1.61, tanh 2.06, logistic 1.76, sin 1.38, cos 1.39, pow 1.48, erf 1.00,
others at most 2.73 (acos).
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext
from fractions import Fraction

from llvmlite import ir

__all__ = ["emit", "call", "finish", "library_names", "define_library", "SUPPORTED",
           "CANONICAL", "SCALAR_LIBM", "ARITY"]

getcontext().prec = 120
_PI = Fraction(Decimal(
    "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798"))
_LN2 = Fraction(Decimal(
    "0.693147180559945309417232121458176568075500134360255254120680009493393621969694715605863326996418687542"))


def _f32(v) -> float:
    """Round a float or Fraction to the nearest float32 value (as a Python float)."""
    import struct
    v = float(v)
    return struct.unpack("f", struct.pack("f", v))[0]


def _chop(v: Fraction, bits: int) -> float:
    """``v`` rounded to ``bits`` significant bits."""
    m, e = math.frexp(float(v))
    return math.ldexp(round(math.ldexp(m, bits)), e - bits)


def _split(v: Fraction, single: bool, hibits: int):
    """(hi, lo) with hi having ``hibits`` bits and hi+lo ~= v in the target precision."""
    hi = _chop(v, hibits)
    lo = v - Fraction(hi)
    return hi, (_f32(lo) if single else float(lo))


def _split3(v: Fraction):
    a = float(v)
    b = float(v - Fraction(a))
    c = float(v - Fraction(a) - Fraction(b))
    return a, b, c


_PIO2_3 = _split3(_PI / 2)
_LN2_3 = None  # filled below (double-double-double for the f64 pow log)

# Polynomial coefficients (lowest degree first), fitted offline with
# Chebyshev (near-minimax) approximation at 50 digits, then rounded to
# the target precision.  Keys: name -> (float32 coeffs, float64 coeffs).
_C = {
    'exp': (
        [0.5, 0.1666666716337204, 0.041666459292173386, 0.00833331048488617, 0.0013934159651398659, 0.0001989155716728419],
        [0.5, 0.1666666666666667, 0.04166666666666667, 0.008333333333325803, 0.001388888888888351, 0.0001984126987597895, 2.480158732637491e-05, 2.7557253939287672e-06, 2.755727259985714e-07, 2.5105821598328188e-08, 2.0915118711997293e-09]),
    'exp2': (
        [0.6931471824645996, 0.24022650718688965, 0.05550410971045494, 0.009618055075407028, 0.0013333501992747188, 0.00015461909060832113, 1.5297680874937214e-05],
        [0.6931471805599453, 0.24022650695910072, 0.05550410866482158, 0.009618129107628484, 0.0013333558146428445, 0.00015403530393362142, 1.5252733804050846e-05, 1.3215486816627066e-06, 1.0178086021475183e-07, 7.054894108751992e-09, 4.445530180858486e-10, 2.5734010695413555e-11, 1.3717166770457154e-12]),
    'expm1': (
        [0.1666666716337204, 0.04166655242443085, 0.00833332072943449, 0.0013926607789471745, 0.0001988316944334656],
        [0.16666666666666669, 0.041666666666666664, 0.00833333333332991, 0.0013888888888886443, 0.00019841269863805664, 2.480158731768155e-05, 2.7557267298072677e-06, 2.7557282139795767e-07, 2.510093504703457e-08, 2.091162907534222e-09]),
    'log': (
        [0.6666666865348816, 0.40000125765800476, 0.28550398349761963, 0.23341943323612213],
        [0.6666666666666666, 0.4000000000000094, 0.2857142857076445, 0.2222222240054776, 0.181817947008978, 0.15386290534658992, 0.13267418596474884, 0.1310072138350349]),
    'logt': (
        [0.4000001549720764, 0.2856205105781555, 0.23056651651859283],
        [0.4000000000000003, 0.28571428571332935, 0.22222222273617623, 0.18181807839015793, 0.15385604411768514, 0.13284977969619904, 0.12925663575110274]),
    'sin': (
        [-0.1666666716337204, 0.008333331905305386, -0.00019840063760057092, 2.7246869649388827e-06],
        [-0.16666666666666666, 0.008333333333333331, -0.00019841269841264821, 2.7557319219150783e-06, -2.5052106167335705e-08, 1.6058521349954986e-10, -7.586094789672621e-13]),
    'cos': (
        [0.0416666679084301, -0.00138888880610466, 2.480057992215734e-05, -2.729840673509898e-07],
        [0.041666666666666664, -0.0013888888888888887, 2.480158730158451e-05, -2.755731922129809e-07, 2.0876755754879594e-09, -1.1470455178216906e-11, 4.745537017319258e-14]),
    'atan': (
        [-0.3333333134651184, 0.1999952346086502, -0.14263366162776947, 0.10737396776676178, -0.06431038677692413],
        [-0.3333333333333333, 0.1999999999999509, -0.14285714284577217, 0.11111111008107874, -0.09090904289128517, 0.07692176510795928, -0.06664417824186955, 0.058573396761385246, -0.05081236164642543, 0.03911053674347613, -0.019029290809743138]),
}

_ERFCX = [
    (1.171875, [0.38481374714100164, -0.22647194723379002, 0.11941693397640395, -0.057686818486794425, 0.025907596781095894, -0.010930541403579087, 0.0043661228579231935, -0.001661140336984401, 0.000604868506491825, -0.00021162445693411754, 7.137421621826291e-05, -2.3269598084425284e-05, 7.350906124196848e-06, -2.254675413588838e-06, 6.722452303818031e-07, -1.954053446394519e-07, 5.751167229126486e-08, -1.5906345410789874e-08]),
    (1.875, [0.2694299851646704, -0.11801672272799837, 0.04814863004967349, -0.01849202758990706, 0.0067380391592988835, -0.002343281666488666, 0.0007814620115438039, -0.00025086868424083783, 7.777080716289246e-05, -2.3344093523111177e-05, 6.8001260581587075e-06, -1.9261556729736153e-06, 5.314343365757299e-07, -1.4303518661999897e-07, 3.7580712949127124e-08, -9.663786581869875e-09, 2.528793729305573e-09, -6.230360048402913e-10]),
    (2.625, [0.201887554546017, -0.06846950572892327, 0.022155102007593415, -0.006874908639327039, 0.0020542334146799695, -0.0005930183703168479, 0.00016585339753273146, -4.504377194096351e-05, 1.190337404752597e-05, -3.0660922374118984e-06, 7.70976372590932e-07, -1.8950531143829793e-07, 4.5587635703318406e-08, -1.074436254508511e-08, 2.4823523036864356e-09, -5.631799599852803e-10, 1.2939135304811167e-10, -2.831982635110131e-11]),
    (3.5, [0.1552936556088943, -0.041323577833252495, 0.010661133192510575, -0.0026730744396436528, 0.0006526863268788958, -0.0001554689182270078, 3.618170436143709e-05, -8.23798656054257e-06, 1.8371878502751308e-06, -4.017397969492472e-07, 8.621970769271704e-08, -1.8176509037964503e-08, 3.7670180979902314e-09, -7.680136526413498e-10, 1.540187058429776e-10, -3.0448278491086334e-11, 6.186083495277466e-12, -1.1870647319823579e-12]),
    (5.0, [0.11070463773306863, -0.02133278976482631, 0.004040688908937073, -0.0007528968134272884, 0.00013810242090038003, -2.4953883570293946e-05, 4.444334348973613e-06, -7.80631949077931e-07, 1.3529365430485447e-07, -2.3147488183940195e-08, 3.911232836256953e-09, -6.52957621701244e-10, 1.0775747242851506e-10, -1.757992342091537e-11, 2.820352612277736e-12, -4.5035561931113865e-13, 7.985296572703782e-14, -1.24625686982959e-14]),
]


class _E:
    """Emission context: a builder plus a floating type and its constants."""

    def __init__(self, b: ir.IRBuilder, ty, branchy=False):
        self.b = b
        self.branchy = branchy and isinstance(ty, ir.VectorType)
        self.ty = ty
        self.n = ty.count if isinstance(ty, ir.VectorType) else None   # lanes
        base = ty.element if self.n else ty
        self.d = isinstance(base, ir.DoubleType)
        if not self.d and not isinstance(base, ir.FloatType):
            raise TypeError(f"vmath: unsupported type {ty}")
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

    def kr(self, v):
        """Constant rounded to this precision (for exact Fractions)."""
        return self.k(float(v) if self.d else _f32(v))

    @property
    def nan(self):
        return self.k(float("nan"))

    @property
    def inf(self):
        return self.k(float("inf"))

    def other(self, ty):
        return _E(self.b, ty)

    def dbl(self):
        return _E(self.b, self.vec(ir.DoubleType()), self.branchy)

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


def _via_double(e: _E, fn, *args):
    """Evaluate fn in float64 and round back (for float32 inputs)."""
    if e.d:
        return fn(e, *args)
    d = e.dbl()
    return e.trunc(fn(d, *[e.ext(a) for a in args]))


# ----------------------------------------------------------------- constants
def _consts(single: bool):
    c = {}
    c["ln2_hi"], c["ln2_lo"] = _split(_LN2, single, 12 if single else 32)
    c["log2e"] = _f32(1 / _LN2) if single else float(1 / _LN2)
    c["ln2"] = _f32(_LN2) if single else float(_LN2)
    c["pio2_hi"], c["pio2_lo"] = _split(_PI / 2, single, 24 if single else 53)
    c["pio4_hi"], c["pio4_lo"] = _split(_PI / 4, single, 24 if single else 53)
    c["pi_hi"], c["pi_lo"] = _split(_PI, single, 24 if single else 53)
    return c


_K = (_consts(True), _consts(False))
_LN2_3 = (_chop(_LN2, 32),)
_LN2_3 = _LN2_3 + (float(_LN2 - Fraction(_LN2_3[0])),)
_LN2_3 = _LN2_3 + (float(_LN2 - Fraction(_LN2_3[0]) - Fraction(_LN2_3[1])),)


def K(e: _E, name):
    return e.k(_K[e.i][name])


# ----------------------------------------------------------------------- exp
_EXP_CLAMP = ((-104.0, 89.0), (-746.0, 710.0))


# where exp's result is normal and 2**n*p can be formed by adding n to p's
# exponent field (p is in [0.7, 1.42], n = rint(x/ln2))
_EXP_NORMAL = ((-86.0, 88.0), (-707.0, 709.0))


def _exp(e: _E, x, xlo=None):
    if xlo is not None:
        return _exp_general(e, x, xlo)
    lo, hi = _EXP_NORMAL[e.i]
    normal = e.and_(e.ge(x, e.k(lo)), e.le(x, e.k(hi)))
    return e.if_all(normal, lambda: [_exp_normal(e, x)], lambda: [_exp_general(e, x)])[0]


def _exp_poly(e: _E, x, xlo=None):
    """(p, n) with exp(x) = p * 2**n, p in [0.7, 1.42], n a float integer."""
    n = e.rint(e.mul(x, K(e, "log2e")))
    nn = e.neg(n)
    r = e.fma(nn, K(e, "ln2_hi"), x)
    r = e.fma(nn, K(e, "ln2_lo"), r)
    if xlo is not None:
        r = e.add(r, xlo)
    r2 = e.mul(r, r)
    return e.add(e.k(1.0), e.fmuladd(r2, e.poly(r, _C["exp"][e.i]), r)), n


def _exp_normal(e: _E, x):
    """exp(x) for x in _EXP_NORMAL: p * 2**n through p's exponent field
    (the same bits as _exp_general's two exact scalings there)."""
    p, n = _exp_poly(e, x)
    shift = e.b.shl(e.to_int(n), e.ki(e.mbits))
    return e.from_bits(e.b.add(e.bits(p), shift))


def _exp_general(e: _E, x, xlo=None):
    lo, hi = _EXP_CLAMP[e.i]
    p, n = _exp_poly(e, e.clamp_nan_safe(x, lo, hi), xlo)
    ni = e.to_int(n)
    n1 = e.b.ashr(ni, e.ki(1))
    n2 = e.b.sub(ni, n1)
    res = e.mul(e.mul(p, e.pow2i(n1)), e.pow2i(n2))
    return e.sel(e.isnan(x), x, res)


_EXP2_CLAMP = ((-152.0, 129.0), (-1077.0, 1025.0))


def _exp2(e: _E, x):
    lo, hi = _EXP2_CLAMP[e.i]
    xc = e.clamp_nan_safe(x, lo, hi)
    n = e.rint(xc)
    r = e.sub(xc, n)
    p = e.add(e.k(1.0), e.mul(r, e.poly(r, _C["exp2"][e.i])))
    ni = e.to_int(n)
    n1 = e.b.ashr(ni, e.ki(1))
    n2 = e.b.sub(ni, n1)
    res = e.mul(e.mul(p, e.pow2i(n1)), e.pow2i(n2))
    return e.sel(e.isnan(x), x, res)


def _expm1_parts(e: _E, x):
    """expm1(x) = 2^n * p + (2^n - 1): returns p and the i32 n."""
    n = e.rint(e.mul(x, K(e, "log2e")))
    nn = e.neg(n)
    r = e.fma(nn, K(e, "ln2_hi"), x)
    r = e.fma(nn, K(e, "ln2_lo"), r)
    r2 = e.mul(r, r)
    # p = expm1(r) = r + r^2/2 + r^3 * M(r)
    p = e.add(r, e.fmuladd(e.mul(r2, r), e.poly(r, _C["expm1"][e.i]), e.mul(e.k(0.5), r2)))
    return p, e.to_int(n)


_EXPM1_SMALL_N = 60


def _expm1_small(e: _E, p, n):
    """2^n * p + (2^n - 1), for n <= 60 (no overflow on the way)."""
    t = e.pow2i(n)
    return e.fma(t, p, e.sub(t, e.k(1.0)))


def _expm1(e: _E, x):
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


def _log_reduce(e: _E, x):
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


def _log_specials(e: _E, x, res):
    res = e.sel(e.eq(x, e.inf), e.inf, res)
    res = e.sel(e.eq(x, e.k(0.0)), e.k(float("-inf")), res)
    return e.sel(e.or_(e.lt(x, e.k(0.0)), e.isnan(x)), e.nan, res)


def _log_core(e: _E, x):
    m, dk = _log_reduce(e, x)
    f = e.sub(m, e.k(1.0))
    s = e.div(f, e.add(e.k(2.0), f))
    z = e.mul(s, s)
    R = e.mul(z, e.poly(z, _C["log"][e.i]))
    hfsq = e.mul(e.mul(e.k(0.5), f), f)
    t = e.fmuladd(s, e.add(hfsq, R), e.mul(dk, K(e, "ln2_lo")))
    return e.sub(e.mul(dk, K(e, "ln2_hi")), e.sub(e.sub(hfsq, t), f))


def _log(e: _E, x):
    return _log_specials(e, x, _log_core(e, x))


def _log1p(e: _E, x):
    u = e.add(e.k(1.0), x)
    lu = _log_core(e, u)
    c = e.sub(x, e.sub(u, e.k(1.0)))
    ok = e.and_(e.gt(u, e.k(0.0)), e.lt(u, e.inf))
    res = e.add(lu, e.sel(ok, e.div(c, u), e.k(0.0)))
    res = _log_specials(e, u, res)
    return e.sel(e.eq(x, e.k(0.0)), x, res)


def _log_dd(e: _E, a):
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
    tail = e.mul(e.mul(s3, z), e.poly(z, _C["logt"][1]))
    two_s = e.mul(e.k(2.0), s)
    lo = e.add(e.add(e.mul(e.k(2.0), s_lo), t3_lo), tail)
    # (two_s + t3) exactly: |two_s| >= |t3| -> Fast2Sum
    h = e.add(two_s, t3)
    lo = e.add(lo, e.sub(t3, e.sub(h, two_s)))
    # + k*ln2 (three parts)
    kh = e.mul(dk, e.k(_LN2_3[0]))  # exact
    H = e.add(kh, h)
    bb = e.sub(H, kh)
    err = e.add(e.sub(kh, e.sub(H, bb)), e.sub(h, bb))
    lo = e.add(e.add(lo, err), e.fmuladd(dk, e.k(_LN2_3[1]), e.mul(dk, e.k(_LN2_3[2]))))
    hi = e.add(H, lo)
    lo = e.sub(lo, e.sub(hi, H))
    return hi, lo


# --------------------------------------------------------------------- pow
def _pow_mag(e: _E, a, y):
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


def _pow(e: _E, x, y):
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


def _trig_reduce(e: _E, a):
    """a = |x|: returns (r, q (i32 in 0..3), ok) with a = q*pi/2 + r (mod 2pi)."""
    d = e.dbl()
    ad = e.ext(a) if not e.d else a
    # 0 <= a*2/pi < 2**51: adding 1.5*2**52 rounds it to the nearest integer n,
    # whose low bits are then the low bits of the sum's mantissa (where not
    # ok, r and q mean nothing: the caller returns NaN there)
    t = d.add(d.mul(ad, d.k(float(2 / _PI))), d.k(_ROUNDER))
    nn = d.sub(d.k(_ROUNDER), t)
    r = d.fma(nn, d.k(_PIO2_3[0]), ad)
    r = d.fma(nn, d.k(_PIO2_3[1]), r)
    if e.d:     # (float32 arguments need pi/2 to ~106 bits only)
        r = d.fma(nn, d.k(_PIO2_3[2]), r)
    q = e.b.trunc(e.b.bitcast(t, d.ity), e.vec(ir.IntType(32)))
    if not e.d:
        r = e.trunc(r)
    return r, q, _trig_ok(e, a)


def _trig_ok(e: _E, a):
    return e.lt(a, e.k(_TRIG_LIMIT[e.i]))


_TRIG_F32_LIMIT = 2.0 ** 16
_ROUNDER_F32 = 1.5 * 2.0 ** 23


def _pio2_f32_parts():
    hi = _f32(_PI / 2)
    mid = _f32(_PI / 2 - Fraction(hi))
    return hi, mid, _f32(_PI / 2 - Fraction(hi) - Fraction(mid))


_PIO2_F32 = _pio2_f32_parts()


def _trig_reduce_f32(e: _E, a):
    """a = |x| < _TRIG_F32_LIMIT, float32: (r, q) as _trig_reduce, in float32.
    The first fma is exact: a and q*pio2_hi are multiples of 2**-24 and their
    difference is below 1 (q is a's nearest multiple of pi/2, up to the
    rounding of 2/pi), so it has at most 24 significant bits. Measured over
    every float32 below the limit: sin 1.49, cos 1.49 ulp at most (the
    float64 reduction: 1.49 and 1.49 there too)."""
    t = e.fma(a, e.k(_f32(2 / _PI)), e.k(_ROUNDER_F32))
    nn = e.sub(e.k(_ROUNDER_F32), t)
    r = a
    for part in _PIO2_F32:
        r = e.fma(nn, e.k(part), r)
    return r, e.bits(t)


def _reduced(e: _E, a, finish):
    """``finish(r, q, ok)`` for a = |x| reduced by pi/2. float32 reduces in
    float32 where a < _TRIG_F32_LIMIT (or is NaN), in float64 elsewhere;
    only (r, q) are chosen per lane, so the polynomials are emitted once."""
    if e.d:
        return finish(*_trig_reduce(e, a))
    small = e.b.fcmp_unordered("<", a, e.k(_TRIG_F32_LIMIT))
    r, q = e.where_all(small, _trig_reduce_f32(e, a), lambda: _trig_reduce(e, a)[:2])
    return finish(r, q, _trig_ok(e, a))


def _sin_poly(e: _E, r, z):
    return e.fmuladd(e.mul(r, z), e.poly(z, _C["sin"][e.i]), r)


def _cos_poly(e: _E, z):
    hz = e.mul(e.k(0.5), z)
    w = e.sub(e.k(1.0), hz)
    corr = e.fmuladd(e.mul(z, z), e.poly(z, _C["cos"][e.i]), e.sub(e.sub(e.k(1.0), w), hz))
    return e.add(w, corr)


def _qbit(e: _E, q, bit):
    i32 = e.vec(ir.IntType(32))
    return e.b.icmp_signed("!=", e.b.and_(q, e.const(i32, bit)), e.const(i32, 0))


def _sin_reduced(e: _E, r, q, ok):
    z = e.mul(r, r)
    s, c = _sin_poly(e, r, z), _cos_poly(e, z)
    v = e.sel(_qbit(e, q, 1), c, s)
    return e.sel(ok, e.sel(_qbit(e, q, 2), e.neg(v), v), e.nan)


def _cos_reduced(e: _E, r, q, ok):
    z = e.mul(r, r)
    s, c = _sin_poly(e, r, z), _cos_poly(e, z)
    v = e.sel(_qbit(e, q, 1), s, c)
    q1 = e.b.add(q, e.const(e.vec(ir.IntType(32)), 1))
    return e.sel(ok, e.sel(_qbit(e, q1, 2), e.neg(v), v), e.nan)


def _sin(e: _E, x):
    v = e.mulsign(_reduced(e, e.abs(x), lambda *rq: _sin_reduced(e, *rq)), x)
    return _beyond_reduction(e, x, v, lambda y: _libm(e, "sin", y))


def _cos(e: _E, x):
    v = _reduced(e, e.abs(x), lambda *rq: _cos_reduced(e, *rq))
    return _beyond_reduction(e, x, v, lambda y: _libm(e, "cos", y))


def _beyond_reduction(e: _E, x, v, general):
    """``v`` where |x| < 2**40 or x is not finite, ``general(x)`` elsewhere:
    the reduction by pi/2 here is exact only below 2**40, and beyond it the
    C library's own (Payne-Hanek) reduction takes over. Only a vector
    version that branches (see _E.if_all) can call it: inline IR keeps NaN
    there."""
    if not e.branchy:
        return v
    a = e.abs(x)
    ok = e.or_(e.b.fcmp_unordered("<", a, e.k(_TRIG_LIMIT[e.i])), e.eq(a, e.inf))
    return e.where_all(ok, [v], lambda: [general(x)])[0]


_LIBM = ("sin", "cos", "tan")


def _libm(e: _E, name, x, which=None):
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


def _tan(e: _E, x):
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


def _tanh(e: _E, x):
    a = e.abs(x)
    lim = e.k(_TANH_ONE[e.i])
    ac = e.sel(e.gt(a, lim), lim, a)
    # 0 <= 2ac <= 40: expm1's n stays below 60, so only its small path is needed
    em = _expm1_small(e, *_expm1_parts(e, e.mul(e.k(2.0), ac)))
    t = e.div(em, e.add(em, e.k(2.0)))
    return e.sel(e.isnan(x), x, e.copysign(t, x))


def _logistic(e: _E, x):
    ex = _exp(e, e.neg(e.abs(x)))
    d = e.add(e.k(1.0), ex)
    return e.sel(e.signbit(x), e.div(ex, d), e.div(e.k(1.0), d))


_BIG_HYP = (88.0, 709.0)


def _sinh(e: _E, x):
    a = e.abs(x)
    em = _expm1(e, a)
    small = e.mul(e.k(0.5), e.add(em, e.div(em, e.add(em, e.k(1.0)))))
    h = _exp(e, e.mul(e.k(0.5), a))
    big = e.mul(e.mul(e.k(0.5), h), h)
    v = e.sel(e.gt(a, e.k(_BIG_HYP[e.i])), big, small)
    return e.copysign(v, x)


def _cosh(e: _E, x):
    a = e.abs(x)
    ex = _exp(e, a)
    small = e.fmuladd(e.k(0.5), ex, e.div(e.k(0.5), ex))
    h = _exp(e, e.mul(e.k(0.5), a))
    big = e.mul(e.mul(e.k(0.5), h), h)
    return e.sel(e.gt(a, e.k(_BIG_HYP[e.i])), big, small)


_HUGE_ARG = (2.0 ** 13, 2.0 ** 28)


def _asinh(e: _E, x):
    a = e.abs(x)
    a2 = e.mul(a, a)
    t = e.add(a, e.div(a2, e.add(e.k(1.0), e.sqrt(e.add(e.k(1.0), a2)))))
    small = _log1p(e, t)
    big = e.add(_log(e, a), K(e, "ln2"))
    v = e.sel(e.gt(a, e.k(_HUGE_ARG[e.i])), big, small)
    return e.copysign(v, x)


def _acosh(e: _E, x):
    t = e.sub(x, e.k(1.0))
    small = _log1p(e, e.add(t, e.sqrt(e.fmuladd(t, t, e.mul(e.k(2.0), t)))))
    big = e.add(_log(e, x), K(e, "ln2"))
    v = e.sel(e.gt(x, e.k(_HUGE_ARG[e.i])), big, small)
    return e.sel(e.lt(x, e.k(1.0)), e.nan, v)


def _atanh(e: _E, x):
    a = e.abs(x)
    t = e.add(a, a)
    q = e.div(t, e.sub(e.k(1.0), a))
    # below 1/2, 2a + 2a*a/(1-a) keeps the exact 2a apart from the rounded part
    y = e.sel(e.lt(a, e.k(0.5)), e.fmuladd(q, a, t), q)
    v = e.mul(e.k(0.5), _log1p(e, y))
    return e.copysign(v, x)


# ------------------------------------------------------------ atan family
def _atan_pos(e: _E, a):
    """atan(a) for a >= 0 (or NaN), without the sign."""
    big = e.gt(a, e.k(2.414213562373095))
    mid = e.gt(a, e.k(0.41421356237309503))
    t = e.sel(big, e.div(e.k(-1.0), a),
              e.sel(mid, e.div(e.sub(a, e.k(1.0)), e.add(a, e.k(1.0))), a))
    bh = e.sel(big, K(e, "pio2_hi"), e.sel(mid, K(e, "pio4_hi"), e.k(0.0)))
    bl = e.sel(big, K(e, "pio2_lo"), e.sel(mid, K(e, "pio4_lo"), e.k(0.0)))
    z = e.mul(t, t)
    p = e.fmuladd(e.mul(t, z), e.poly(z, _C["atan"][e.i]), t)
    return e.add(bh, e.add(p, bl))


def _atan(e: _E, x):
    return e.copysign(_atan_pos(e, e.abs(x)), x)


def _atan2(e: _E, y, x):
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


def _asin(e: _E, x):
    a = e.abs(x)
    one = e.k(1.0)
    den = e.sqrt(e.mul(e.sub(one, a), e.add(one, a)))
    return e.copysign(_atan_pos(e, e.div(a, den)), x)


def _acos(e: _E, x):
    one = e.k(1.0)
    q = e.sqrt(e.div(e.sub(one, x), e.add(one, x)))
    return e.mul(e.k(2.0), _atan_pos(e, q))


# ------------------------------------------------------------------- erf
# erf(x)/x - 1 as a polynomial in x*x on [0, 0.84375]
_ERF_SMALL_M1 = [0.1283791670955126, -0.37612638903183754, 0.11283791670955126, -0.026866170645131214, 0.005223977625441467, -0.0008548327023369743, 0.00012055332975873637, -1.4925650065263169e-05, 1.6462104230741942e-06, -1.6365597362476007e-07, 1.4802943874842996e-08, -1.2240134768111147e-09, 9.026849051581109e-11, -4.826716933868379e-12]

def _erf64(e: _E, x):
    a = e.abs(x)
    z = e.mul(x, x)
    small = e.fmuladd(x, e.poly(z, _ERF_SMALL_M1), x)
    ac = e.sel(e.gt(a, e.k(6.0)), e.k(6.0), a)
    bounds = [1.5, 2.25, 3.0, 4.0]
    # choose the interval's center and coefficients with selects
    conds = [e.lt(ac, e.k(bnd)) for bnd in bounds]

    def pick(vals):
        v = e.k(vals[-1])
        for cnd, val in reversed(list(zip(conds, vals[:-1]))):
            v = e.sel(cnd, e.k(val), v)
        return v

    centers = [c for c, _ in _ERFCX]
    t = e.sub(ac, pick(centers))
    ncoef = len(_ERFCX[0][1])
    acc = pick([cs[-1] for _, cs in _ERFCX])
    for j in range(ncoef - 2, -1, -1):
        acc = e.fmuladd(acc, t, pick([cs[j] for _, cs in _ERFCX]))
    x2 = e.mul(ac, ac)
    x2_lo = e.fma(ac, ac, e.neg(x2))
    ex = e.mul(_exp(e, e.neg(x2)), e.sub(e.k(1.0), x2_lo))
    big = e.sub(e.k(1.0), e.mul(ex, acc))
    big = e.copysign(big, x)
    return e.sel(e.lt(a, e.k(0.84375)), small, big)


def _erf(e: _E, x):
    return _via_double(e, _erf64, x)


# ----------------------------------------------------------------- cbrt
def _cbrt64(e: _E, x):
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


def _cbrt(e: _E, x):
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
#: Names implemented through a scalar libm call (would block vectorization).
SCALAR_LIBM = frozenset()


# Functions whose vector form (in call()) branches around a path that few
# arguments need; their inline form takes that path for every element (and
# sin/cos/tan return NaN beyond 2**40 there instead of calling the C library)
_BRANCHY_F32 = frozenset(["sin", "cos", "tan", "exp"])
_BRANCHY_F64 = frozenset(["sin", "cos", "tan"])


def branchy(name: str, ty) -> bool:
    """Whether ``name`` over ``ty`` values goes through ``call(...,
    inline=True)`` rather than :func:`emit`: faster (same results), and for
    sin, cos and tan the only form correct beyond 2**40."""
    canon = _ALIASES.get(name, name)
    if isinstance(ty, ir.FloatType):
        return canon in _BRANCHY_F32
    return isinstance(ty, ir.DoubleType) and canon in _BRANCHY_F64


def emit(builder: ir.IRBuilder, name: str, args, branchy=False) -> ir.Value:
    """Emit inline, branch-free IR computing ``name(*args)`` and return the value.

    ``args`` must all be scalar ``ir.FloatType()`` or all ``ir.DoubleType()``
    values; the result has the same type.
    """
    canon = _ALIASES.get(name, name)
    fn = _IMPL.get(canon)
    if fn is None:
        raise KeyError(f"vmath: unsupported function {name!r}")
    args = list(args)
    if len(args) != ARITY[canon]:
        raise TypeError(f"vmath: {name} takes {ARITY[canon]} argument(s), got {len(args)}")
    ty = args[0].type
    if any(a.type != ty for a in args):
        raise TypeError("vmath: all arguments must have the same type")
    e = _E(builder, ty, branchy)
    if not e.d and canon in _F32_VIA_F64:
        return _via_double(e, fn, *args)
    return fn(e, *args)


# ----------------------------------------------------------------- outlined functions
_VFABI = '"vector-function-abi-variant"'


def call(builder: ir.IRBuilder, name: str, args, used: list, lanes=(), inline=False,
         library=False) -> ir.Value:
    """Like :func:`emit`, but through one internal function per (name, type)
    in the module instead of inline IR: a scalar ``noinline`` function whose
    ``vector-function-abi-variant`` attribute names vector versions of it with
    ``lanes`` lanes each (a tuple of lane counts; also internal functions), so
    LLVM's loop vectorizer calls those instead. Keeps a module that uses one
    function many times small (one body instead of one per use): only the
    widest version has a body; the scalar and narrower ones put their
    arguments in the lanes of a wide vector (the others zero), call it and
    take their lanes of the result. With ``inline``, the vector versions are
    ``alwaysinline``: the loop vectorizer still sees a call, and
    engine.optimize inlines the vector call it makes (so a vector body may
    branch, see _E.if_all, without a call per vector). With ``library``, the
    module only declares the functions (vector ``args`` call the vector
    version of their lane count, which must be in ``lanes``), by the names of
    :func:`library_names`: their bodies are compiled once, by
    :func:`define_library` (see trax.compiler.math.mathlib). The vector versions
    that nothing calls yet are appended to ``used``: pass it to :func:`finish`
    before printing the module."""
    canon = _ALIASES.get(name, name)
    if canon not in _IMPL:
        raise KeyError(f"vmath: unsupported function {name!r}")
    args = list(args)
    ty = args[0].type
    if library:
        fn = _declared(builder.module, canon, getattr(ty, "element", ty), tuple(lanes), used)
        if isinstance(ty, ir.VectorType):     # one of the vector versions, directly
            fn = builder.module.globals[f"{fn.name}_v{ty.count}"]
    else:
        fn = _outlined(builder.module, canon, ty, tuple(lanes), inline, used)
    return builder.call(fn, args)


LIBRARY_PREFIX = "trax_lib_"


def library_names(name: str, ty, lanes) -> list:
    """The functions the math library exports for ``name`` over ``ty``
    (``ir.FloatType()`` or ``ir.DoubleType()``): the scalar one, then one
    per lane count in ``lanes``."""
    fname = _fname(LIBRARY_PREFIX, _ALIASES.get(name, name), ty)
    return [fname] + [f"{fname}_v{n}" for n in lanes]


def define_library(module, name: str, ty, lanes) -> list:
    """Define in ``module`` the exported functions :func:`library_names`
    names (the bodies :func:`call` with ``library`` declares); returns
    their names."""
    canon = _ALIASES.get(name, name)
    _outlined(module, canon, ty, tuple(lanes), False, [], LIBRARY_PREFIX)  # exported: kept
    names = library_names(canon, ty, lanes)
    for n in names:
        module.globals[n].linkage = ""
    return names


def _fname(prefix, canon, ty):
    return f"{prefix}{canon}_{'f64' if isinstance(ty, ir.DoubleType) else 'f32'}"


def _function(module, fname, ty, arity, inline=False):
    fn = ir.Function(module, ir.FunctionType(ty, [ty] * arity), fname)
    fn.linkage = "internal"
    for a in ("alwaysinline" if inline else "noinline", "nounwind", "readnone"):
        fn.attributes.add(a)
    return fn


def _define(module, fname, canon, ty, inline=False):
    if canon in _QUADRANT_SHIFT and not inline:
        return _define_trig(module, fname, canon, ty)
    fn = _function(module, fname, ty, ARITY[canon], inline)
    b = ir.IRBuilder(fn.append_basic_block())
    b.ret(emit(b, canon, list(fn.args), branchy=True))
    return fn


# Outlined sin and cos share one body per module and type: cos x is the
# sine of |x|'s reduction (r, q) taken one quadrant on, (r, q + 1), with the
# same bits as _cos (see _sin_reduced/_cos_reduced). A module calling both
# then optimizes and emits that body once, not twice.
_QUADRANT_SHIFT = {"sin": 0, "cos": 1}


def _define_trig(module, fname, canon, ty):
    """``fname(x)``: sin or cos through the module's shared body."""
    fn = _function(module, fname, ty, 1)
    b = ir.IRBuilder(fn.append_basic_block())
    e = _E(b, ty)
    x, = fn.args
    shift = e.const(e.vec(ir.IntType(32)), _QUADRANT_SHIFT[canon])
    v = b.call(_shared_trig(module, ty), [e.abs(x), shift])
    b.ret(e.mulsign(v, x) if canon == "sin" else v)
    return fn


def _shared_trig(module, ty):
    """``trax_vm_trig_*(a, shift)``: for a = |x|, the sine of a's reduction
    (r, q) taken at quadrant q + shift."""
    tag = "f64" if isinstance(getattr(ty, "element", ty), ir.DoubleType) else "f32"
    fname = f"trax_vm_trig_{tag}" + (f"_v{ty.count}" if isinstance(ty, ir.VectorType) else "")
    fn = module.globals.get(fname)
    if fn is not None:
        return fn
    i32 = ir.IntType(32)
    shift_ty = ir.VectorType(i32, ty.count) if isinstance(ty, ir.VectorType) else i32
    fn = ir.Function(module, ir.FunctionType(ty, [ty, shift_ty]), fname)
    fn.linkage = "internal"
    for a in ("noinline", "nounwind", "readnone"):
        fn.attributes.add(a)
    b = ir.IRBuilder(fn.append_basic_block())
    e = _E(b, ty, branchy=True)
    a, shift = fn.args
    v = _reduced(e, a, lambda r, q, ok: _sin_reduced(e, r, b.add(q, shift), ok))
    which = b.extract_element(shift, ir.Constant(i32, 0)) \
        if isinstance(shift.type, ir.VectorType) else shift      # 0: sin, 1: cos
    b.ret(_beyond_reduction(e, a, v, lambda y: _libm(e, None, y, which)))
    return fn


def _via_wide(module, fname, wide, ty, inline=False):
    """``fname``: a function of type ``ty`` (a scalar or a vector of fewer
    lanes than ``wide``'s) computing its lanes with one call of ``wide``.
    With ``inline`` (see call()), vector ones are alwaysinline; a scalar one
    stays noinline (the loop vectorizer must see calls of it)."""
    wty = wide.args[0].type
    vector = isinstance(ty, ir.VectorType)
    fn = _function(module, fname, ty, len(wide.args), inline and vector)
    b = ir.IRBuilder(fn.append_basic_block())
    i32 = ir.IntType(32)
    zero = ir.Constant(wty, None)
    if vector:
        n, w = ty.count, wty.count
        grow = ir.Constant(ir.VectorType(i32, w), [min(k, n) for k in range(w)])
        pad = ir.Constant(ty, None)
        xs = [b.shuffle_vector(a, pad, grow) for a in fn.args]
        r = b.call(wide, xs)
        b.ret(b.shuffle_vector(r, r, ir.Constant(ir.VectorType(i32, n), list(range(n)))))
    else:
        xs = [b.insert_element(zero, a, ir.Constant(i32, 0)) for a in fn.args]
        # a real call even when ``wide`` is alwaysinline: one body serves the
        # scalar remainder loops, another (inlined later) the vector loop
        attrs = ("noinline",) if inline else ()
        b.ret(b.extract_element(b.call(wide, xs, attrs=attrs), ir.Constant(i32, 0)))
    return fn


def _outlined(module, canon, ty, lanes, inline, used, prefix="trax_vm_"):
    fname = _fname(prefix, canon, ty)
    fn = module.globals.get(fname)
    if fn is not None:
        return fn
    if not lanes:
        return _define(module, fname, canon, ty)
    width = max(lanes)
    wide = _define(module, f"{fname}_v{width}", canon, ir.VectorType(ty, width), inline)
    fn = _via_wide(module, fname, wide, ty, inline=inline)
    for n in lanes:
        if n != width:
            used.append(_via_wide(module, f"{fname}_v{n}", wide, ir.VectorType(ty, n), inline))
        elif not inline:
            used.append(wide)
        # (with ``inline``, the scalar version's call keeps ``wide`` alive until
        # the loop vectorizer has run; later, once inlined, it goes unless a
        # scalar remainder loop still calls it)
    _name_variants(fn, canon, lanes)
    return fn


def _declared(module, canon, ty, lanes, used):
    """The library's scalar ``canon`` over ``ty`` declared in ``module``, with
    its vector versions (see call(..., library=True))."""
    fname = _fname(LIBRARY_PREFIX, canon, ty)
    fn = module.globals.get(fname)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(ty, [ty] * ARITY[canon]), fname)
    vectors = [ir.Function(module, ir.FunctionType(vty, [vty] * ARITY[canon]), f"{fname}_v{n}")
               for n, vty in ((n, ir.VectorType(ty, n)) for n in lanes)]
    for f in [fn] + vectors:
        for a in ("nounwind", "readnone"):
            f.attributes.add(a)
    used.extend(vectors)
    _name_variants(fn, canon, lanes)
    return fn


def _name_variants(fn, canon, lanes):
    """Tell LLVM's loop vectorizer the vector versions of ``fn`` (the
    functions ``<fn>_v<n>``, n in ``lanes``)."""
    variants = [f"_ZGV_LLVM_N{n}{'v' * ARITY[canon]}_{fn.name}({fn.name}_v{n})" for n in lanes]
    # llvmlite only knows a fixed set of attribute names: add the string
    # attribute to the underlying set directly
    set.add(fn.attributes, f'{_VFABI}="{",".join(variants)}"')


def finish(module, used) -> None:
    """Keep the vector variants that :func:`call` put in ``used`` (nothing
    calls them yet) alive until the loop vectorizer has seen them
    (``@llvm.compiler.used``)."""
    if not used:
        return
    i8p = ir.IntType(8).as_pointer()
    arr = ir.ArrayType(i8p, len(used))
    gv = ir.GlobalVariable(module, arr, "llvm.compiler.used")
    gv.linkage = "appending"
    gv.section = "llvm.metadata"
    gv.initializer = ir.Constant(arr, [f.bitcast(i8p) for f in used])
