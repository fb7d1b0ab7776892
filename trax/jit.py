"""``jit``: trace a function once per abstract signature, compile the
jaxpr to native code, and call it through a short fast path (a native
dispatcher once a signature repeats, see compiler/runtime/dispatch.py).

Inside other transformations a jitted function is the ``pjit`` primitive
holding its jaxpr; its rules transform that jaxpr as a whole (see
interpreters/jaxpr_transforms.py), so ``grad(jit(f))``, ``vmap(jit(f))``
and ``jit(grad(f))`` all compose, and a jit inside a jit shows in
``make_jaxpr`` as one equation (the compiler inlines it).
"""
import functools
import threading
from collections import deque
from contextlib import contextmanager

import numpy as np

from trax import core
from trax.core import get_aval
from trax.interpreters import ad
from trax.interpreters import jaxpr_transforms as jt
from trax.interpreters import partial_eval as pe
from trax.lru import LRU
from trax.tree_util import tree_flatten, tree_unflatten

# ----------------------------------------------------------------------------
# the pjit primitive


def _executable(closed):
    from trax.compiler.driver import compile_jaxpr
    return compile_jaxpr(closed)


pjit_p = core.Primitive("pjit", multiple_results=True)
pjit_p.impl = lambda *args, jaxpr, name: _executable(jaxpr)(*args)
pjit_p.abstract_eval = lambda *avals, jaxpr, name: list(jaxpr.out_avals)

_memo = LRU(1024)    # (kind, id(jaxpr), extra) -> (jaxpr, its transformed jaxpr)


def _memoized(kind, closed, extra, make):
    # an entry keeps its jaxpr alive, so no other jaxpr has its id meanwhile
    key = (kind, id(closed), extra)
    hit = _memo.get(key)
    if hit is not None:
        return hit[1]
    return _memo.setdefault(key, (closed, make()))[1]


def _pjit_jvp(primals, tangents, jaxpr, name):
    jvp_j = _memoized("jvp", jaxpr, None, lambda: jt.jvp_jaxpr(jaxpr))
    tangents = [ad.zeros_like(p) if t is None else t for p, t in zip(primals, tangents)]
    outs = pjit_p.bind(*primals, *tangents, jaxpr=jvp_j, name=f"jvp({name})")
    n = len(outs) // 2
    return outs[:n], outs[n:]


def _pjit_batch(vals, dims, axis_size, jaxpr, name):
    key = (tuple(dims), axis_size)
    b = _memoized("batch", jaxpr, key, lambda: jt.batch_jaxpr(jaxpr, dims, axis_size))
    outs = pjit_p.bind(*vals, jaxpr=b, name=f"vmap({name})")
    return outs, [0] * len(outs)


def _pjit_partial_eval(trace, tracers, jaxpr, name):
    in_unknowns = tuple(not t.pval.is_known for t in tracers)
    known, unknown, out_unknowns, num_res = _memoized(
        "pe", jaxpr, in_unknowns, lambda: jt.partial_eval_jaxpr(jaxpr, in_unknowns))
    known_vals = [t.pval.const for t in tracers if t.pval.is_known]
    outs = pjit_p.bind(*known_vals, jaxpr=known, name=name)
    n_known_out = len(outs) - num_res
    known_outs, residuals = outs[:n_known_out], outs[n_known_out:]
    res_tracers = [trace.instantiate_const(trace.pure(r)) for r in residuals]
    unk_in = [t for t in tracers if not t.pval.is_known]
    unk_avals = [a for a, u in zip(jaxpr.out_avals, out_unknowns) if u]
    unk_outs = trace.stage(pjit_p, [*res_tracers, *unk_in], dict(jaxpr=unknown, name=name),
                           unk_avals, source_info="")
    return trace.merge(known_outs, unk_outs, out_unknowns)


def _pjit_transpose(cts, *args, jaxpr, name):
    linear = tuple(ad.is_undefined(a) for a in args)
    t_j = _memoized("transpose", jaxpr, linear, lambda: jt.transpose_jaxpr(jaxpr, linear))
    nonlin = [a for a in args if not ad.is_undefined(a)]
    cts = [ad.zeros_like_aval(a.strip_weak_type()) if ct is None else ct
           for ct, a in zip(cts, jaxpr.out_avals)]
    cts_in = iter(pjit_p.bind(*nonlin, *cts, jaxpr=t_j, name=f"transpose({name})"))
    return [next(cts_in) if l else None for l in linear]


pjit_p.jvp = _pjit_jvp
pjit_p.batch = _pjit_batch
pjit_p.partial_eval = _pjit_partial_eval
pjit_p.transpose = _pjit_transpose


# ----------------------------------------------------------------------------
# the jit API

_state = core.thread_state      # this thread's trace state (a threading.local)


@contextmanager
def disable_jit(disable=True):
    """Run jitted functions as plain Python (eagerly) inside the block (in
    this thread; other threads keep their own setting)."""
    prev = _state.jit_disabled, _state.direct
    _state.jit_disabled = disable
    _state.direct = _state.dynamic is None and not disable
    try:
        yield
    finally:
        _state.jit_disabled, _state.direct = prev


def _signature(leaves):
    return tuple((a.shape, a.dtype, a.weak_type) for a in map(get_aval, leaves))


def _describe_sig(sig):
    shape, dtype, weak = sig
    return core.ShapedArray(shape, dtype).str_short() + (" (weak)" if weak else "")


class _Entry:
    __slots__ = ("jaxpr", "out_tree", "executable", "in_tree", "sig")

    def __init__(self, jaxpr, out_tree, in_tree, sig):
        self.jaxpr = jaxpr
        self.out_tree = out_tree
        self.in_tree = in_tree
        self.sig = sig
        self.executable = None


class Jitted:
    """A jit-compiled function (see :func:`jit`)."""

    def __init__(self, fun, static_argnums, static_argnames):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.static_argnums, self.static_argnames = _both_static_forms(
            fun, static_argnums, static_argnames)
        # the caches may be used by many threads at once; counters, the
        # last key and the native dispatcher change under this lock
        self._lock = threading.RLock()
        self._cache = LRU(MAX_SIGNATURES)
        # quick signature of plain array/scalar arguments -> compiled code;
        # static arguments always take the general path
        self._fast = None if (static_argnums or static_argnames) else LRU(MAX_SIGNATURES)
        self._last_key = None
        self.hits = self.misses = 0
        self.miss_reasons = deque(maxlen=MISS_REASONS)
        # one signature's calls run through a native dispatcher (see
        # compiler/runtime/dispatch.py) once they reach the fast path:
        # _native is (its function, what it returns on a miss)
        self._native = self._dispatcher = None
        self._native_tried = set()
        self._native_hits = 0

    # -- signature

    def _split(self, args, kwargs):
        nargs = len(args)
        static_nums = tuple(i % nargs if nargs else i for i in self.static_argnums
                            if -nargs <= i < nargs)
        static = []
        for i in static_nums:
            static.append((i, _hashable(args[i], f"static argument {i}")))
        for k in self.static_argnames:
            if k in kwargs:
                static.append((k, _hashable(kwargs[k], f"static argument {k!r}")))
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_nums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        leaves, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        for x in leaves:
            if not core.is_array_like(x):
                raise TypeError(f"jit: {self._argument(args, kwargs, x)} of type "
                                f"{type(x).__name__} ({x!r}) is not an array; mark it "
                                f"static with static_argnums")
            if type(x) is int and not core.fits_int64(x):
                raise OverflowError(f"jit: {self._argument(args, kwargs, x)} is the Python "
                                    f"int {x}, too large for int64")
        return tuple(static), static_nums, leaves, in_tree

    def _argument(self, args, kwargs, leaf):
        """``"argument 0 ('x') of f"``: where ``leaf`` is in the call's arguments."""
        import inspect
        try:
            names = list(inspect.signature(self.fun).parameters)
        except (TypeError, ValueError):
            names = []
        where = "an argument"
        for i, a in enumerate(args):
            if any(v is leaf for v in tree_flatten(a)[0]):
                where = f"argument {i}" + (f" ({names[i]!r})" if i < len(names) else "")
                break
        else:
            for k, a in kwargs.items():
                if any(v is leaf for v in tree_flatten(a)[0]):
                    where = f"argument {k!r}"
                    break
        return f"{where} of {self.__name__}"

    def _trace(self, args, kwargs, static, static_nums, leaves, in_tree):
        static_map = dict(static)

        def flat_fun(*flat):
            dyn_args, dyn_kwargs = tree_unflatten(in_tree, flat)
            it = iter(dyn_args)
            full = [args[i] if i in static_nums else next(it) for i in range(len(args))]
            kw = dict(dyn_kwargs)
            kw.update({k: kwargs[k] for k in self.static_argnames if k in static_map})
            out = self.fun(*full, **kw)
            out_leaves, out_tree = tree_flatten(out)
            box.append(out_tree)
            return out_leaves
        box = []
        closed = pe.trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves])
        return _Entry(closed, box[0], in_tree, _signature(leaves))

    def _lookup(self, args, kwargs):
        static, static_nums, leaves, in_tree = self._split(args, kwargs)
        key = (in_tree, _signature(leaves), static)
        entry = self._cache.get(key)
        if entry is None:
            # traced without the lock: the function may call other jitted
            # functions (or this one), in this thread or others
            entry = self._trace(args, kwargs, static, static_nums, leaves, in_tree)
            entry = self._cache.setdefault(key, entry)
            with self._lock:
                self.misses += 1
                if self._last_key is not None:
                    self.miss_reasons.append(_explain(self._last_key, key))
                self._last_key = key
        else:
            with self._lock:
                self.hits += 1
                self._last_key = key
        return entry, leaves

    def __call__(self, *args, **kwargs):
        native = self._native
        if native is not None and not kwargs and _state.direct:
            out = native[0](*args)
            if out is not native[1]:
                return out
        if not kwargs and self._fast is not None and _state.direct:
            key, leaves = _quick_key(args)
            hit = self._fast.get(key)
            if hit is not None:
                with self._lock:
                    self.hits += 1
                if leaves is args and key not in self._native_tried \
                        and len(self._native_tried) < _NATIVE_MAX:
                    self._go_native(key, args, hit[3])
                outs = hit[0](*leaves)
                return outs if hit[1] else tree_unflatten(hit[2], outs)
        return self._call(args, kwargs)

    def _go_native(self, key, args, entry):
        """Build the native dispatcher for this signature (on its first
        repeated call, so one-off calls do not pay the ~2 ms it takes)."""
        from trax.compiler.runtime import dispatch
        with self._lock:
            if key in self._native_tried:       # another thread was first
                return
            self._native_tried.add(key)
            out_tuple = None if entry.out_tree == _LEAF else \
                entry.out_tree == tree_flatten(tuple(entry.jaxpr.out_avals))[1] or None
            if out_tuple is None and entry.out_tree != _LEAF:
                return
            d = dispatch.build(entry.executable, args, entry.jaxpr.in_avals,
                               entry.jaxpr.out_avals, bool(out_tuple), self._dispatcher)
            if d is not None:
                self._dispatcher, self._native = d, (d.fn, d.root_miss)

    def _call(self, args, kwargs):
        if _state.jit_disabled:
            return self.fun(*args, **kwargs)
        entry, leaves = self._lookup(args, kwargs)
        if any(isinstance(x, core.Tracer) for x in leaves) or _state.dynamic is not None:
            outs = pjit_p.bind(*leaves, jaxpr=entry.jaxpr, name=self.__name__)
        else:
            if entry.executable is None:
                entry.executable = _executable(entry.jaxpr)
            outs = entry.executable(*leaves)
            self._remember_fast(args, kwargs, entry)
        return tree_unflatten(entry.out_tree, outs)

    def _remember_fast(self, args, kwargs, entry):
        """Arguments that are all plain arrays or scalars map straight from
        their quick signature to the executable on later calls."""
        if kwargs or self._fast is None:
            return
        key, leaves = _quick_key(args)
        if key is None:
            return
        exe = entry.executable
        single_leaf = entry.out_tree == _LEAF
        fast = None
        # arrays of the traced dtype whose key pins their (C-contiguous)
        # strides need no checks; scalars only become 0-d arrays
        avals = entry.jaxpr.in_avals
        arrays_ok = all(a.flags.c_contiguous and a.dtype == aval.dtype
                        for a, aval in zip(leaves, avals) if isinstance(a, np.ndarray))
        if arrays_ok:
            fast = exe.fast_call()
            scalars = [(i, aval.dtype) for i, (a, aval) in enumerate(zip(leaves, avals))
                       if not isinstance(a, np.ndarray)]
            if fast is not None and scalars:
                fast = _converting(fast, scalars)
        if fast is None:
            call = exe if not single_leaf else (lambda *a: exe(*a)[0])
        else:
            call = fast if single_leaf or len(entry.jaxpr.out_avals) != 1 else \
                (lambda *a: [fast(*a)])
        # the entry returns the output itself for a single leaf, else a list
        self._fast.setdefault(key, (call, single_leaf, entry.out_tree, entry))

    def lower(self, *args, **kwargs):
        """Trace for these arguments; ``.as_text()`` / ``.compile()`` show and
        build what jit runs (like JAX's ahead-of-time API)."""
        entry, _ = self._lookup(args, kwargs)
        return Lowered(self, entry)

    def cache_info(self):
        """Hits, misses and why the last retraces happened (at most
        ``MISS_REASONS``)."""
        with self._lock:
            return {"hits": self.hits + self._native_calls(), "misses": self.misses,
                    "entries": len(self._cache),
                    "miss_reasons": list(self.miss_reasons)}

    def _native_calls(self):
        return self._native_hits + (self._dispatcher.calls if self._dispatcher else 0)

    def clear_cache(self):
        with self._lock:
            self._cache.clear()
            if self._fast is not None:
                self._fast.clear()
            self._last_key = None
            self._native_hits = self._native_calls()
            self._native = self._dispatcher = None
            self._native_tried.clear()


class Lowered:
    """A traced jitted function for one signature."""

    def __init__(self, jitted, entry):
        self._jitted = jitted
        self._entry = entry
        self.jaxpr = entry.jaxpr

    def _executable(self):
        if self._entry.executable is None:
            self._entry.executable = _executable(self._entry.jaxpr)
        return self._entry.executable

    def compile(self):
        """The compiled function for this signature (takes the same arguments
        as the jitted function and returns its output pytree)."""
        return Compiled(self._jitted, self._entry, self._executable())

    def as_text(self, kind="jaxpr"):
        """``'jaxpr'`` (as traced), or the compiler's ``'optimized_jaxpr'``,
        ``'kernels'``, ``'llvm'``, ``'llvm_optimized'`` or ``'asm'``."""
        if kind == "jaxpr":
            return str(self.jaxpr)
        return self._executable().as_text("jaxpr" if kind == "optimized_jaxpr" else kind)


class Compiled:
    """Compiled code for one signature of a jitted function."""

    def __init__(self, jitted, entry, executable):
        self._jitted, self._entry, self._exe = jitted, entry, executable

    def __call__(self, *args, **kwargs):
        _, _, leaves, in_tree = self._jitted._split(args, kwargs)
        if in_tree != self._in_tree or _signature(leaves) != self._sig:
            raise TypeError(f"this compiled function takes arguments of types "
                            f"{[_describe_sig(s) for s in self._sig]}, got "
                            f"{[_describe_sig(s) for s in _signature(leaves)]}")
        return tree_unflatten(self._entry.out_tree, self._exe(*leaves))

    @property
    def _in_tree(self):
        return self._entry.in_tree

    @property
    def _sig(self):
        return self._entry.sig

    def as_text(self, kind="llvm"):
        return self._exe.as_text(kind)


def _both_static_forms(fun, argnums, argnames):
    """Static arguments by position and by name, each completed from the
    other through ``fun``'s signature (as JAX does)."""
    import inspect
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return tuple(argnums), tuple(argnames)
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    nums = {i % len(positional) if i < 0 and positional and not has_varargs else i
            for i in argnums}
    nums |= {positional.index(n) for n in argnames if n in positional}
    names = set(argnames) | {positional[i] for i in argnums
                             if -len(positional) <= i < len(positional)}
    return tuple(sorted(nums)), tuple(sorted(names))


def _converting(call, scalars):
    """``call`` with the scalar arguments at ``scalars`` ((index, dtype)
    pairs) made 0-d arrays first."""
    asarray = np.asarray

    def converted(*args):
        args = list(args)
        for i, dt in scalars:
            args[i] = asarray(args[i], dt)
        return call(*args)
    return converted


_NATIVE_MAX = 8         # signatures per jitted function with a native dispatcher
# signatures a jitted function keeps compiled: the least recently used one is
# dropped (its code freed once nothing calls it) and retraced if it comes back
MAX_SIGNATURES = 256
MISS_REASONS = 32       # why the last retraces happened, kept for cache_info


def _array_sig(a):
    return (a.shape, a.dtype, a.strides)


def _quick_key(args):
    """``(key, leaves)`` for arguments that are plain arrays and scalars, or
    tuples, lists, dicts and Nones of them: ``key`` names the structure and
    each leaf's quick signature, ``leaves`` are in jit's flattening order (``args``
    itself when every argument is a leaf); ``(None, None)`` for anything else
    (tracers, other pytree nodes...), which takes the general path."""
    try:
        return tuple([_QUICK_SIG[type(a)](a) for a in args]), args
    except KeyError:
        pass
    key, leaves = [], []
    stack = list(reversed(args))
    while stack:
        x = stack.pop()
        t = type(x)
        sig = _QUICK_SIG.get(t)
        if sig is not None:
            leaves.append(x)
            key.append(sig(x))
        elif t is tuple or t is list:
            key.append((t, len(x)))
            stack.extend(reversed(x))
        elif t is dict:
            try:
                keys = tuple(sorted(x))
            except TypeError:
                return None, None
            key.append((dict, keys))
            stack.extend(x[k] for k in reversed(keys))
        elif x is None:
            key.append(None)
        else:
            return None, None
    return (len(args), tuple(key)), leaves


# The quick signature of each plain argument type: a different shape, dtype
# or weak type (Python scalar) gives a different key.
_QUICK_SIG = {np.ndarray: _array_sig, core.Array: _array_sig,
              float: type, int: type, bool: type}
for _t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
           np.uint8, np.uint16, np.uint32, np.uint64, np.bool_):
    _QUICK_SIG[_t] = type
_LEAF = tree_flatten(0)[1]


def _hashable(v, what):
    try:
        hash(v)
    except TypeError:
        raise TypeError(f"jit: {what} of type {type(v).__name__} is not hashable; "
                        f"static arguments must be hashable (use a tuple instead "
                        f"of a list, for example)") from None
    return v


def _explain(old, new):
    (t0, s0, st0), (t1, s1, st1) = old, new
    if t0 != t1:
        return f"argument structure changed from {t0} to {t1}"
    if st0 != st1:
        return f"static arguments changed from {st0} to {st1}"
    diffs = [f"leaf {i}: {_describe_sig(a)} -> {_describe_sig(b)}"
             for i, (a, b) in enumerate(zip(s0, s1)) if a != b]
    return "argument types changed: " + "; ".join(diffs)


def jit(fun=None, *, static_argnums=(), static_argnames=()):
    """Compile ``fun`` with LLVM; retraced once per abstract signature
    (pytree structure, shapes, dtypes, weak types, static values)."""
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames)
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    return Jitted(fun, tuple(static_argnums), tuple(static_argnames))
