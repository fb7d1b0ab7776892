"""The vectorizable math functions packaged as functions of a module or of
the math library, rather than inline IR (functions.emit).

``call`` outlines one function per (name, type) in a module: a scalar
``noinline`` function whose ``vector-function-abi-variant`` attribute names
its vector versions, so LLVM's loop vectorizer calls those; or declares the
math library's function (``library_names`` / ``define_library``, compiled
once per machine by mathlib.py). ``finish`` keeps the vector versions alive
until the loop vectorizer has run.

API::

    call(builder, name, args, used, lanes[, inline, library]) -> ir.Value
    finish(module, used)                           # after the last call()
    library_names(name, type, lanes) / define_library(module, name, type, lanes)
"""
from llvmlite import ir

from trax.compiler.math.functions import ARITY, Emitter, canonical, emit, shifted_sine

__all__ = ["call", "finish", "library_names", "define_library", "LIBRARY_PREFIX"]

_VFABI = '"vector-function-abi-variant"'


def call(builder: ir.IRBuilder, name: str, args, used: list, lanes=(), inline=False,
         library=False) -> ir.Value:
    """Like :func:`functions.emit`, but through one internal function per (name, type)
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
    branch, see Emitter.if_all, without a call per vector). With ``library``, the
    module only declares the functions (vector ``args`` call the vector
    version of their lane count, which must be in ``lanes``), by the names of
    :func:`library_names`: their bodies are compiled once, by
    :func:`define_library` (see trax.compiler.math.mathlib). The vector versions
    that nothing calls yet are appended to ``used``: pass it to :func:`finish`
    before printing the module."""
    canon = canonical(name)
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
    fname = _fname(LIBRARY_PREFIX, canonical(name), ty)
    return [fname] + [f"{fname}_v{n}" for n in lanes]


def define_library(module, name: str, ty, lanes) -> list:
    """Define in ``module`` the exported functions :func:`library_names`
    names (the bodies :func:`call` with ``library`` declares); returns
    their names."""
    canon = canonical(name)
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
# same bits as cos (see functions.shifted_sine). A module calling both
# then optimizes and emits that body once, not twice.
_QUADRANT_SHIFT = {"sin": 0, "cos": 1}


def _define_trig(module, fname, canon, ty):
    """``fname(x)``: sin or cos through the module's shared body."""
    fn = _function(module, fname, ty, 1)
    b = ir.IRBuilder(fn.append_basic_block())
    e = Emitter(b, ty)
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
    b.ret(shifted_sine(Emitter(b, ty, branchy=True), *fn.args))
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
