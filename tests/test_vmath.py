"""Accuracy and special-value tests for the math functions (trax.compiler.math:
functions.py, outline.py) and the engine.

Each function is compiled into a loop kernel
``void k(T* noalias out, T* noalias in0, [T* noalias in1,] i64 n)`` and
compared with numpy (long-double references where numpy has the function).
"""

import ctypes
import math
import re

import numpy as np
import pytest
from llvmlite import ir

import trax
import trax.numpy as tnp
from trax.compiler.runtime import engine
from trax.compiler.math import functions, outline
from benchmarks.vmath_kernels import map_kernel, map_kernel_ir

# --------------------------------------------------------------- kernels
_cache = {}


def get_kernel(fname, dtype):
    key = (fname, dtype)
    if key not in _cache:
        _cache[key] = map_kernel(fname, dtype)[0]
    return _cache[key]


def object_kernel(fname, text, kname):
    """The kernel ``kname`` of ``text`` (vmath_kernels.map_kernel_ir), loaded
    as object code: compile_ir refuses internal names it defined before."""
    addr = engine.load_object(engine.emit_object(text), [kname])[kname]
    return ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * (1 + functions.ARITY[fname])),
                            ctypes.c_int64)(addr)


def run(fname, dtype, *xs):
    xs = [np.ascontiguousarray(x, dtype=dtype) for x in xs]
    out = np.empty_like(xs[0])
    get_kernel(fname, dtype)(out.ctypes.data, *[x.ctypes.data for x in xs], out.size)
    return out


# ------------------------------------------------------------ references
LD = np.longdouble


def _logistic_ref(x):
    x = x.astype(LD)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _erf_ref(x):
    return np.array([math.erf(float(v)) for v in x], dtype=LD)


def _ld(f):
    return lambda *a: f(*[np.asarray(v, dtype=LD) for v in a])


REF = {
    "exp": _ld(np.exp), "exp2": _ld(np.exp2), "expm1": _ld(np.expm1), "log": _ld(np.log),
    "log1p": _ld(np.log1p), "pow": _ld(np.power), "sin": _ld(np.sin), "cos": _ld(np.cos),
    "tan": _ld(np.tan), "tanh": _ld(np.tanh), "logistic": _logistic_ref, "sinh": _ld(np.sinh),
    "cosh": _ld(np.cosh), "asinh": _ld(np.arcsinh), "acosh": _ld(np.arccosh),
    "atanh": _ld(np.arctanh), "atan": _ld(np.arctan), "atan2": _ld(np.arctan2),
    "asin": _ld(np.arcsin), "acos": _ld(np.arccos), "erf": _erf_ref, "cbrt": _ld(np.cbrt),
}

# numpy functions in the working dtype, for exact special-value comparisons
NP = {
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
    "pow": np.power, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh, "atan": np.arctan, "atan2": np.arctan2, "asin": np.arcsin,
    "acos": np.arccos, "cbrt": np.cbrt,
}


def ulp_error(got, ref, dtype):
    """max |got - ref| in units of the last place of ref (in dtype); specials exact."""
    got = np.asarray(got)
    ref = np.asarray(ref, dtype=LD)
    fi = np.finfo(dtype)
    with np.errstate(all="ignore"):
        ref_t = ref.astype(dtype)
        gnan, rnan = np.isnan(got), np.isnan(ref_t)
        ginf, rinf = np.isinf(got), np.isinf(ref_t)
        bad = (gnan != rnan) | ((ginf | rinf) & ~(gnan | rnan) & (got != ref_t))
        ok = ~(gnan | rnan | ginf | rinf)
        sp = np.spacing(np.abs(ref_t[ok])).astype(LD)
        sp = np.maximum(sp, LD(fi.smallest_subnormal))
        err = np.abs(got[ok].astype(LD) - ref[ok]) / sp
    m = float(err.max()) if err.size else 0.0
    if bad.any():
        return math.inf, np.flatnonzero(bad)
    return m, (np.flatnonzero(ok)[np.argmax(err)] if err.size else None)


# ----------------------------------------------------------------- inputs
def signed_grid(dtype, n=4000, lo=None, hi=None):
    fi = np.finfo(dtype)
    tiny = float(fi.smallest_subnormal)
    g = np.logspace(math.log10(tiny), math.log10(float(fi.max)) - 1e-12, n, dtype=np.float64)
    g = np.concatenate([g, -g]).astype(dtype)
    if lo is not None:
        g = g[(g >= lo) & (g <= hi)]
    return g


def specials(dtype):
    fi = np.finfo(dtype)
    v = [0.0, -0.0, np.inf, -np.inf, np.nan, fi.smallest_subnormal, -fi.smallest_subnormal,
         fi.smallest_normal, fi.max, -fi.max, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0,
         fi.eps, -fi.eps, 1 - fi.epsneg, 1 + fi.eps]
    # around exp/expm1/sinh overflow and underflow thresholds
    if dtype == np.float32:
        v += [88.72, 88.7228, 88.7229, 89.0, 89.4, 89.5, -87.3, -103.9, -104.0, -150.0,
              10.0, 20.0, 100.0, 128.0, 1e9]
    else:
        v += [709.78, 709.782712893384, 709.7828, 710.0, 710.5, -708.4, -745.1, -745.2,
              -746.0, 20.0, 40.0, 1024.0, 1e15]
    return np.array(v, dtype=dtype)


def inputs(fname, dtype, rng):
    f32 = dtype == np.float32
    parts = [signed_grid(dtype)]
    dom = DOMAIN[fname][0 if f32 else 1]
    lo, hi = dom
    parts.append(np.linspace(lo, hi, 20001).astype(dtype))
    parts.append(rng.uniform(lo, hi, 20000).astype(dtype))
    # log-spaced within the domain as well (dense near zero)
    amax = max(abs(lo), abs(hi))
    lg = np.logspace(-8, math.log10(amax), 5000)
    parts.append(np.concatenate([lg, -lg]).astype(dtype))
    x = np.concatenate(parts)
    if fname in TRIG:
        # large arguments and near-multiples of pi/2 (hard for the reduction)
        big = np.exp(rng.uniform(0, math.log(TRIG_LIMIT[dtype]), 20000))
        near = np.arange(1, 200001, 7, dtype=np.float64) * (np.pi / 2)
        x = np.concatenate([x, big.astype(dtype), near.astype(dtype), reduction_edge(dtype, rng)])
        x = x[np.abs(x) < TRIG_LIMIT[dtype]]
    return x


def reduction_edge(dtype, rng):
    """float32 sin/cos reduce in float32 below functions._TRIG_F32_LIMIT and in
    float64 above: random bit patterns below it and every value within 2000
    ulp of it, both signs."""
    lim = np.float32(functions._TRIG_F32_LIMIT)
    below = rng.integers(0, lim.view(np.uint32), 100000, dtype=np.uint32).view(np.float32)
    edge = (lim.view(np.int32) + np.arange(-2000, 2000, dtype=np.int32)).view(np.float32)
    x = np.concatenate([below, edge])
    return np.concatenate([x, -x]).astype(dtype)


TRIG = {"sin", "cos", "tan"}
TRIG_LIMIT = {np.float32: 2.0 ** 40, np.float64: 2.0 ** 40}

DOMAIN = {  # (float32 (lo, hi), float64 (lo, hi)) for the dense grids
    "exp": ((-110, 90), (-750, 712)),
    "exp2": ((-160, 130), (-1080, 1030)),
    "expm1": ((-110, 90), (-750, 712)),
    "log": ((0, 10), (0, 10)),
    "log1p": ((-1, 4), (-1, 4)),
    "sin": ((-100, 100), (-100, 100)),
    "cos": ((-100, 100), (-100, 100)),
    "tan": ((-100, 100), (-100, 100)),
    "tanh": ((-12, 12), (-25, 25)),
    "logistic": ((-110, 110), (-750, 750)),
    "sinh": ((-92, 92), (-712, 712)),
    "cosh": ((-92, 92), (-712, 712)),
    "asinh": ((-20, 20), (-20, 20)),
    "acosh": ((1, 20), (1, 20)),
    "atanh": ((-1, 1), (-1, 1)),
    "atan": ((-20, 20), (-20, 20)),
    "asin": ((-1, 1), (-1, 1)),
    "acos": ((-1, 1), (-1, 1)),
    "erf": ((-7, 7), (-7, 7)),
    "cbrt": ((-10, 10), (-10, 10)),
}


def pair_inputs(fname, dtype, rng):
    if fname == "pow":
        xs = np.concatenate([np.logspace(-40 if dtype == np.float32 else -300,
                                         38 if dtype == np.float32 else 300, 300),
                             rng.uniform(0, 4, 300)])
        ys = np.concatenate([np.linspace(-40, 40, 161), rng.uniform(-5, 5, 60),
                             np.arange(-10, 11)])
        X, Y = np.meshgrid(xs, ys)
        X, Y = X.ravel(), Y.ravel()
        # big exponents on bases near one, negative bases with integer exponents
        xb = rng.uniform(0.5, 2.0, 20000)
        yb = rng.uniform(-1, 1, 20000) * (700 if dtype == np.float64 else 100) / np.abs(np.log(xb))
        xn = -rng.uniform(0, 10, 10000)
        yn = rng.integers(-30, 30, 10000).astype(float)
        X = np.concatenate([X, xb, xn])
        Y = np.concatenate([Y, yb, yn])
        return X.astype(dtype), Y.astype(dtype)
    # atan2
    g = signed_grid(dtype, 150)
    Y, X = np.meshgrid(g, g)
    r = rng.standard_normal((2, 20000)) * 10
    return (np.concatenate([Y.ravel(), r[0]]).astype(dtype),
            np.concatenate([X.ravel(), r[1]]).astype(dtype))


# ULP bounds asserted by the tests (measured maxima are in docs/vmath.md)
BOUND = {  # (float32, float64)
    "exp": (1.0, 1.0), "exp2": (1.0, 1.5), "expm1": (1.5, 2.0), "log": (1.0, 1.0),
    "log1p": (1.5, 1.5), "pow": (1.0, 2.0), "sin": (1.5, 1.5), "cos": (1.5, 1.5),
    "tan": (1.0, 3.0), "tanh": (2.5, 2.5), "logistic": (2.5, 2.0), "sinh": (1.0, 2.5),
    "cosh": (1.0, 2.5), "asinh": (1.0, 2.0), "acosh": (1.0, 2.0), "atanh": (1.0, 2.0),
    "atan": (1.0, 2.0), "atan2": (1.0, 2.5), "asin": (1.0, 3.0), "acos": (1.0, 3.0),
    "erf": (1.0, 1.5), "cbrt": (1.0, 1.0),
}

DTYPES = [np.float32, np.float64]
UNARY = sorted(n for n in REF if functions.ARITY[n] == 1)
BINARY = sorted(n for n in REF if functions.ARITY[n] == 2)


def measure(fname, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if functions.ARITY[fname] == 1:
        x = np.concatenate([inputs(fname, dtype, rng), specials(dtype)])
        if fname in TRIG:
            x = x[~(np.abs(x) >= TRIG_LIMIT[dtype]) | ~np.isfinite(x)]
        got = run(fname, dtype, x)
        with np.errstate(all="ignore"):
            ref = REF[fname](x)
        args = (x,)
    else:
        a, b = pair_inputs(fname, dtype, rng)
        s = specials(dtype)
        A, B = np.meshgrid(s, s)
        a = np.concatenate([a, A.ravel()])
        b = np.concatenate([b, B.ravel()])
        got = run(fname, dtype, a, b)
        with np.errstate(all="ignore"):
            ref = REF[fname](a, b)
        args = (a, b)
    err, where = ulp_error(got, ref, dtype)
    return err, where, args, got, ref


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("fname", UNARY + BINARY)
def test_accuracy(fname, dtype):
    err, where, args, got, ref = measure(fname, dtype)
    bound = BOUND[fname][0 if dtype == np.float32 else 1]
    if err > bound:
        w = np.atleast_1d(where)[:5]
        detail = [(tuple(a[i] for a in args), got[i], ref[i]) for i in w]
        pytest.fail(f"{fname} {np.dtype(dtype).name}: {err:.3f} ulp > {bound}: {detail}")


def _same(got, exp):
    """Exact equality including NaN and the sign of zero."""
    got, exp = np.asarray(got), np.asarray(exp)
    both_nan = np.isnan(got) & np.isnan(exp)
    eq = (got == exp) & (np.signbit(got) == np.signbit(exp))
    return both_nan | eq


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("fname", sorted(NP))
def test_special_values_exact(fname, dtype):
    """At 0, -0, +-inf, nan (and pow's C99 table) results equal numpy's exactly."""
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    if functions.ARITY[fname] == 1:
        got = run(fname, dtype, sp)
        with np.errstate(all="ignore"):
            exp = NP[fname](sp)
        ok = _same(got, exp)
        assert ok.all(), (fname, sp[~ok], got[~ok], exp[~ok])
    else:
        v = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5,
                      3.0, -3.0, 2.5, -2.5], dtype=dtype)
        A, B = (m.ravel() for m in np.meshgrid(v, v))
        got = run(fname, dtype, A, B)
        with np.errstate(all="ignore"):
            exp = NP[fname](A, B)
        if fname == "pow":  # values (not only specials) must match to 1 ulp
            fin = np.isfinite(exp) & (exp != 0)
            close = np.isclose(got, exp, rtol=4 * np.finfo(dtype).eps, atol=0)
            ok = _same(got, exp) | (fin & close)
        else:
            ok = _same(got, exp) | np.isclose(got, exp, rtol=4 * np.finfo(dtype).eps, atol=0)
        assert ok.all(), (fname, A[~ok], B[~ok], got[~ok], exp[~ok])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_special_values_no_numpy(dtype):
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    assert _same(run("erf", dtype, sp), np.array([0.0, -0.0, 1.0, -1.0, np.nan], dtype)).all()
    assert _same(run("logistic", dtype, sp), np.array([0.5, 0.5, 1.0, 0.0, np.nan], dtype)).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_signed_zero_and_tiny(dtype):
    fi = np.finfo(dtype)
    tiny = np.array([-0.0, fi.smallest_subnormal, -fi.smallest_subnormal], dtype=dtype)
    for f in ["sin", "tan", "tanh", "expm1", "log1p", "sinh", "asinh", "atanh", "atan",
              "asin", "erf", "cbrt"]:
        got = run(f, dtype, tiny)
        if f == "erf":
            # erf(x) ~ 1.128*x: denormal in, denormal out with the same sign
            assert np.signbit(got).tolist() == [True, False, True], f
            continue
        if f == "cbrt":
            assert np.signbit(got).tolist() == [True, False, True], f
            continue
        assert _same(got, tiny).all(), (f, got)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_exp_denormal_and_overflow(dtype):
    if dtype == np.float32:
        x = np.array([-87.5, -95.0, -100.0, -103.0, -103.9, -104.5, -200.0, 88.72, 88.73, 100.0], dtype)
    else:
        x = np.array([-709.0, -720.0, -740.0, -744.0, -745.1, -745.2, -800, 709.78, 709.79, 1000], dtype)
    got = run("exp", dtype, x)
    with np.errstate(over="ignore"):
        exp = np.exp(x)
    err, _ = ulp_error(got, np.exp(x.astype(LD)), dtype)
    assert err <= 1.0, (got, exp)
    assert got[-1] == np.inf and got[-2] == np.inf and got[-4] == 0.0 and got[-5] == 0.0
    x = signed_grid(dtype, 3000)
    x = x[x > 0]
    got = run("log", dtype, x)
    err, _ = ulp_error(got, np.log(x.astype(LD)), dtype)
    assert err <= 1.0


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 31, 1001])
def test_odd_sizes(n):
    rng = np.random.default_rng(n)
    for dtype in DTYPES:
        x = rng.uniform(-5, 5, n + 3).astype(dtype)
        out = np.full(n + 3, 7.0, dtype=dtype)
        get_kernel("exp", dtype)(out.ctypes.data, x.ctypes.data, n)
        np.testing.assert_allclose(out[:n], np.exp(x[:n]), rtol=4 * np.finfo(dtype).eps)
        assert (out[n:] == 7.0).all()  # nothing written past n


def test_trig_beyond_limit_is_nan_in_inline_ir():
    """Inline IR cannot call the C library (see the jit test below)."""
    for dtype in DTYPES:
        x = np.array([TRIG_LIMIT[dtype] * 4, -TRIG_LIMIT[dtype] * 4], dtype=dtype)
        for f in TRIG:
            assert np.isnan(run(f, dtype, x)).all()


def test_exp_f32_vectorizes():
    text = map_kernel_ir("exp", np.float32, "vec_probe_exp")
    opt = engine.optimized_ir(text)
    assert "x float>" in opt and "call float @exp" not in opt
    asm = engine.assembly(text)
    assert "ymm" in asm or "zmm" in asm
    # every math function stays free of calls to libm: only llvm.* intrinsics
    for f in sorted(functions.SUPPORTED):
        for dtype in DTYPES:
            t = map_kernel_ir(f, dtype, "probe")
            for line in t.splitlines():
                if line.startswith("declare"):
                    assert "@\"llvm." in line or "@llvm." in line, (f, line)


def test_compile_many_times():
    for j in range(50):
        name = f"many_{j}"
        text = f"""
define double @{name}(double %x) {{
  %y = fmul double %x, {float(j)!r}
  ret double %y
}}"""
        addr = engine.compile_ir(text, [name])[name]
        f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(addr)
        assert f(2.0) == 2.0 * j
    with pytest.raises(ValueError):
        engine.compile_ir(text, [name])  # same name twice


def test_object_roundtrip():
    text = map_kernel_ir("tanh", np.float32, "obj_tanh_probe")
    obj = engine.emit_object(text)
    assert obj[:4] == b"\x7fELF" or len(obj) > 0
    addr = engine.load_object(obj, ["obj_tanh_probe"])["obj_tanh_probe"]
    k = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(addr)
    x = np.linspace(-5, 5, 101).astype(np.float32)
    out = np.empty_like(x)
    k(out.ctypes.data, x.ctypes.data, x.size)
    np.testing.assert_allclose(out, np.tanh(x), rtol=1e-6, atol=1e-7)
    sig = engine.cpu_signature()
    assert engine.host_info()["cpu"] in sig


# ------------------------------------------------------------ vector types / outline.call
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname", sorted(functions._IMPL))
def test_vector_variants_match_scalar(fname, dtype):
    """A math function over <N x T> (the vector variants of outline.call) gives the same
    bits as the inline scalar IR, special values included."""
    lanes = (16, 8) if dtype == np.float32 else (8, 4)
    kern, text = map_kernel(fname, dtype, lanes)
    assert "vector-function-abi-variant" in text
    rng = np.random.default_rng(1)
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, np.finfo(dtype).smallest_subnormal,
                   1, -1, 0.5, 3, 100, -100, 65535.99, 65536, -1e5, 3e7, 1e11, 1e30, -1e30],
                  dtype)
    xs = [np.concatenate([sp, rng.normal(0, 10, 1003).astype(dtype)])]
    if functions.ARITY[fname] == 2:
        xs.append(np.concatenate([sp[::-1], rng.normal(0, 3, 1003).astype(dtype)]))
    want = _libm_beyond_2_40(fname, xs[0], run(fname, dtype, *xs))
    got = np.empty_like(want)
    kern(got.ctypes.data, *[x.ctypes.data for x in xs], got.size)
    _same_bits(got, want)


def _same_bits(got, want):
    """Equal bits, except that a NaN's sign and payload may differ (LLVM
    does not keep them through selects and sign operations)."""
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    u = f"u{got.itemsize}"
    np.testing.assert_array_equal(got[~nan].view(u), want[~nan].view(u))


def _libm_beyond_2_40(fname, x, want):
    """``want`` (the inline IR's bits) where the vector versions agree with
    it; for sin, cos and tan at |x| >= 2**40, where inline IR gives NaN, the
    C library's double value rounded to x's dtype (what they compute)."""
    if fname not in ("sin", "cos", "tan"):
        return want
    big = np.abs(x) >= 2.0 ** 40
    f = getattr(math, fname)
    lib = [f(float(v)) if np.isfinite(v) else math.nan for v in x[big]]
    out = want.copy()
    out[big] = np.array(lib, np.float64).astype(want.dtype)
    return out


def _rare_arguments(fname, rng, n):
    """float32 arguments that take the general path of a branchy function:
    sin/cos at least 2**16 (the float64 reduction), exp outside the range
    of normal results (clamping, two-step scaling), and NaN/inf for all."""
    sign = rng.choice([-1, 1], n)
    if fname == "exp":
        x = np.where(sign < 0, rng.uniform(-110, -86.0001, n), rng.uniform(88.0001, 100, n))
    else:
        x = sign * np.exp(rng.uniform(np.log(65536), np.log(2.0 ** 41), n))
    x[::97] = np.nan
    x[::89] = np.inf * sign[::89]
    return x


def _usual_arguments(fname, rng, n):
    lo, hi = (-86, 88) if fname == "exp" else (-100, 100)
    x = rng.uniform(lo, hi, n)
    x[:4] = [lo, hi, np.nextafter(np.float32(lo), 0), np.nextafter(np.float32(hi), 0)]
    return x


@pytest.mark.parametrize("lanes", [(16, 8), (8,), (8, 4)])
@pytest.mark.parametrize("fname", sorted(functions._BRANCHY_F32))
def test_branchy_lanes_decide_alone(fname, lanes):
    """float32 functions as vectors that branch (outline.call(inline=True)):
    each lane gets the bits of the branch-free scalar IR whatever its
    neighbours need, with arguments that need the general path placed
    alone, in runs, at every position and nowhere."""
    kname = f"k_branchy_{fname}_{'_'.join(map(str, lanes))}"
    text = map_kernel_ir(fname, np.float32, kname, lanes, inline=True)
    assert "alwaysinline" in text
    kern = object_kernel(fname, text, kname)
    assert functions.branchy(fname, ir.FloatType())
    assert functions.branchy(fname, ir.DoubleType()) == (fname in functions._BRANCHY_F64)
    rng = np.random.default_rng(3)
    n = 4099
    usual, rare = _usual_arguments(fname, rng, n), _rare_arguments(fname, rng, n)
    for pick in (np.zeros(n, bool), np.ones(n, bool), rng.random(n) < 0.05,
                 np.arange(n) % 8 == 3, (np.arange(n) // 16) % 2 == 1):
        x = np.where(pick, rare, usual).astype(np.float32)
        want = _libm_beyond_2_40(fname, x, run(fname, np.float32, x))
        got = np.empty_like(want)
        kern(got.ctypes.data, x.ctypes.data, n)
        _same_bits(got, want)


@pytest.mark.parametrize("lanes", [(16, 8), (8,), (4, 2)])
@pytest.mark.parametrize("fname", ["sin", "pow"])
def test_outlined_has_one_body(fname, lanes):
    """Only the widest vector version of an outlined function has a body (or,
    for sin, calls the body it shares with cos); the scalar and narrower
    versions call it (same bits, every remainder length)."""
    kname = f"k_one_body_{fname}_{'_'.join(map(str, lanes))}"
    text = map_kernel_ir(fname, np.float32, kname, lanes)
    width = max(lanes)
    defs = {m: body for m, body in
            re.findall(r'define internal [^\n]*?@"(trax_vm_\w+)"\([^\n]*\n\{\n(.*?)\n\}',
                               text, flags=re.S)}
    wide = f"trax_vm_{fname}_f32_v{width}"
    # sin's widest version calls the body that it shares with cos, whose
    # path for arguments beyond 2**40 calls the C library through a helper
    bodies = {f"trax_vm_trig_f32_v{width}"} if fname == "sin" else {wide}
    helpers = {f"trax_vm_libm_f32_v{width}"} if fname == "sin" else set()
    assert set(defs) == {f"trax_vm_{fname}_f32"} | {f"trax_vm_{fname}_f32_v{n}" for n in lanes} \
        | bodies | helpers
    defs = {k: v for k, v in defs.items() if k not in helpers}
    for name, body in defs.items():
        if name not in bodies:
            callee = next(iter(bodies)) if name == wide else wide
            assert f'@"{callee}"' in body and body.count("\n") < 10, name
    kern = object_kernel(fname, text, kname)
    rng = np.random.default_rng(2)
    for n in (1, 3, 8, 15, 17, 33):
        xs = [rng.normal(0, 5, n).astype(np.float32) for _ in range(functions.ARITY[fname])]
        if fname == "pow":
            xs[0] = np.abs(xs[0])
        want = run(fname, np.float32, *xs)
        got = np.empty_like(want)
        kern(got.ctypes.data, *[x.ctypes.data for x in xs], n)
        np.testing.assert_array_equal(got.view("u4"), want.view("u4"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_library_sin_and_cos_match_inline(dtype):
    """A jitted function with many sin and cos calls (outlined math) calls
    the math library's sin and cos, whose pieces each define one trig body
    (cos through sin's, see outline._QUADRANT_SHIFT), with the bits of sin and
    cos compiled alone."""
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(size=3000) * s for s in (1, 1e3, 7e4, 1e9)]
                       + [np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65536.0, -65535.9])])
    x = x.astype(dtype)

    def many(v):
        return [f(v * k) for k in (1, 2, 3, 4, 5) for f in (tnp.sin, tnp.cos)]
    lowered = trax.jit(many).lower(x)
    tag = "f32" if dtype == np.float32 else "f64"
    text = lowered.as_text("llvm")
    assert f'@"trax_lib_sin_{tag}_v' in text and f'@"trax_lib_cos_{tag}_v' in text
    assert "trax_vm_trig" not in text
    ty = ir.FloatType() if dtype == np.float32 else ir.DoubleType()
    for fname in ("sin", "cos"):
        module = ir.Module()
        outline.define_library(module, fname, ty, (4,))
        opt = engine.optimized_ir(str(module))
        assert len(re.findall(rf'define internal [^\n]*@"?trax_vm_trig_{tag}_v4', opt)) == 1
    got = lowered.compile()(x)
    for k in (1, 2, 3, 4, 5):
        xk = x * dtype(k)
        for j, f in enumerate((tnp.sin, tnp.cos)):
            want = np.asarray(trax.jit(f)(xk))
            np.testing.assert_array_equal(np.asarray(got[2 * (k - 1) + j]), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname", ["sin", "cos", "tan"])
def test_jit_trig_beyond_2_40_matches_the_c_library(fname, dtype):
    """Beyond the reduction's range (|x| >= 2**40) compiled sin, cos and tan
    call the C library lane by lane, inline and outlined, in vector and
    remainder loops; elsewhere they keep their own bits."""
    rng = np.random.default_rng(5)
    top = 3e38 if dtype == np.float32 else 1e300
    huge = rng.choice([-1, 1], 40) * np.exp(rng.uniform(np.log(2.0 ** 40), np.log(top), 40))
    x = np.concatenate([huge, rng.normal(0, 100, 40), [2.0 ** 40, -(2.0 ** 40), np.inf,
                                                        -np.inf, np.nan, 0.0]]).astype(dtype)
    x = rng.permutation(x)
    f = getattr(tnp, fname)
    got = np.asarray(trax.jit(f)(x))
    big = np.abs(x) >= 2.0 ** 40
    want = _libm_beyond_2_40(fname, x, got.copy())      # got's own bits below 2**40
    _same_bits(got, want)
    assert np.isfinite(got[big & np.isfinite(x)]).all()
    consts = [dtype(1 + k / 8) for k in range(9)]       # 9 calls: outlined functions
    outs = trax.jit(lambda v: [f(v * c) for c in consts])(x)
    for c, o in zip(consts, outs):
        xc = x * c
        np.testing.assert_allclose(np.asarray(o)[np.abs(xc) >= 2.0 ** 40],
                                   _libm_beyond_2_40(fname, xc, np.zeros_like(xc))[
                                       np.abs(xc) >= 2.0 ** 40], rtol=0)
