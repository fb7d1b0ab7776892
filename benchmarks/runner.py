"""Measure the workloads and print the table (see benchmarks/__main__.py)."""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import trax
import trax.numpy as tnp
from benchmarks import workloads as W


def compare(fns, *, rounds=5, budget=1.0, min_repeats=5, max_samples=200):
    """Median seconds per call of each of ``fns`` (name -> callable, or None
    for a contender that is not there), after one warm-up call each. The
    contenders take turns for ``rounds`` rounds of ``budget / rounds``
    seconds each, so a machine whose speed drifts during a measurement (these
    are shared) moves every contender's samples alike."""
    live = {k: f for k, f in fns.items() if f is not None}
    for f in live.values():
        f()
    times = {k: [] for k in live}
    for r in range(1, rounds + 1):
        for k, f in live.items():
            start = time.perf_counter()
            while (len(times[k]) < -(-min_repeats * r // rounds)
                   or (time.perf_counter() - start < budget / rounds
                       and len(times[k]) < max_samples * r // rounds)):
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(times[k])) if k in times else None for k in fns}


def compare_per_call(fns, calls=2000, batches=7):
    """Like :func:`compare` for tiny calls: each turn times a batch of
    ``calls`` calls; the median over ``batches`` turns of the mean per call."""
    live = {k: f for k, f in fns.items() if f is not None}
    for f in live.values():
        f()
    means = {k: [] for k in live}
    for _ in range(batches):
        for k, f in live.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                f()
            means[k].append((time.perf_counter() - t0) / calls)
    return {k: float(np.median(means[k])) if k in means else None for k in fns}


def first_call_time(make_fn, *args):
    """Seconds for the first call of a freshly made jitted function."""
    fn = make_fn()
    t0 = time.perf_counter()
    out = fn(*args)
    _block(out)
    return time.perf_counter() - t0


def _block(out):
    for leaf in trax.tree_util.tree_leaves(out):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()


def _load_jax(disabled):
    if disabled:
        return None
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        return jax
    except Exception:
        return None


class Table:
    def __init__(self):
        self.rows = []

    def add(self, workload, case, trax_jit=None, trax_eager=None, numpy=None, jax=None,
            numba=None, unit="ms"):
        self.rows.append((workload, case, trax_jit, trax_eager, numpy, jax, numba, unit))
        print(f"  measured {workload} / {case}", file=sys.stderr, flush=True)

    def render(self):
        head = ("workload", "case", "trax jit", "trax eager", "numpy", "jax", "numba",
                "jit/numpy", "jit/jax", "jit/numba", "eager/numpy")
        lines = [head]
        for w, c, tj, te, tn, tx, tb, unit in self.rows:
            scale = 1e6 if unit == "us" else 1e3
            fmt = lambda v: "-" if v is None else f"{v * scale:.3f} {unit}"
            ratio = lambda a, b: "-" if a is None or b is None else f"{a / b:.2f}"
            lines.append((w, c, fmt(tj), fmt(te), fmt(tn), fmt(tx), fmt(tb),
                          ratio(tj, tn), ratio(tj, tx), ratio(tj, tb), ratio(te, tn)))
        widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
        out = []
        for k, r in enumerate(lines):
            out.append("  ".join(s.ljust(w) for s, w in zip(r, widths)))
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)


def bench_chain(t, jax, quick):
    f_t, f_np = W.chain_fn(tnp), W.chain_fn(np)
    g_t = trax.grad(f_t)
    jf, jg = trax.jit(f_t), trax.jit(g_t)
    for n in ((10_000, 100_000) if quick else (1_000_000, 10_000_000)):
        x = np.random.default_rng(0).uniform(-3, 3, n).astype(np.float32)
        jx = jf_j = jg_j = None
        if jax is not None:
            import jax.numpy as jnp
            jf_j, jg_j = jax.jit(W.chain_fn(jnp)), jax.jit(jax.grad(W.chain_fn(jnp)))
            jx = jax.device_put(x)
        t.add("1 chain", f"fwd n={n:.0e}", **compare(dict(
            trax_jit=lambda: jf(x), trax_eager=lambda: f_t(x), numpy=lambda: f_np(x),
            jax=jax and (lambda: jf_j(jx).block_until_ready()))))
        t.add("1 chain", f"grad n={n:.0e}", **compare(dict(
            trax_jit=lambda: jg(x), trax_eager=lambda: g_t(x),
            numpy=lambda: W.chain_grad_numpy(x),
            jax=jax and (lambda: jg_j(jx).block_until_ready())), min_repeats=3))


def _mlp_setup(quick):
    rng = np.random.default_rng(0)
    sizes = (64, 32, 32, 10) if quick else (784, 512, 512, 10)
    params = W.mlp_params(rng, sizes)
    x = rng.normal(size=(128, sizes[0])).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    return params, x, y


def _mlp_trax():
    loss = W.mlp_loss_fn(tnp, trax.nn.log_softmax)
    vg = trax.value_and_grad(loss)

    def sgd(params, x, y):
        value, grads = vg(params, x, y)
        return trax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads), value
    return loss, vg, sgd


def bench_mlp(t, jax, quick):
    params, x, y = _mlp_setup(quick)
    _, vg, sgd = _mlp_trax()
    jvg, jsgd = trax.jit(vg), trax.jit(sgd)
    j_vg = j_sgd = None
    if jax is not None:
        import jax.numpy as jnp
        jloss = W.mlp_loss_fn(jnp, jax.nn.log_softmax)
        jvg_j = jax.jit(jax.value_and_grad(jloss))

        def jsgd_body(p, a, b):
            v, g = jax.value_and_grad(jloss)(p, a, b)
            return jax.tree_util.tree_map(lambda u, w: u - 0.01 * w, p, g), v
        jsgd_j = jax.jit(jsgd_body)
        jp, jx, jy = jax.device_put(params), jax.device_put(x), jax.device_put(y)
        j_vg = lambda: jax.block_until_ready(jvg_j(jp, jx, jy))
        j_sgd = lambda: jax.block_until_ready(jsgd_j(jp, jx, jy))
    t.add("2 mlp", "value_and_grad", **compare(dict(
        trax_jit=lambda: jvg(params, x, y), trax_eager=lambda: vg(params, x, y),
        numpy=lambda: W.mlp_value_and_grad_numpy(params, x, y), jax=j_vg)))
    t.add("2 mlp", "sgd step", **compare(dict(
        trax_jit=lambda: jsgd(params, x, y), trax_eager=lambda: sgd(params, x, y), jax=j_sgd)))


def bench_dispatch(t, jax, quick):
    f = trax.jit(lambda x: x * 2.0 + 1.0)
    for name, x in (("scalar", np.float32(3.0)), ("10-vector", np.ones(10, np.float32))):
        j = None
        if jax is not None:
            jf = jax.jit(lambda x: x * 2.0 + 1.0)
            jx = jax.device_put(x)
            j = lambda: jf(jx)
        t.add("3 dispatch", name, unit="us", **compare_per_call(dict(
            trax_jit=lambda: f(x), trax_eager=lambda: tnp.add(tnp.multiply(x, 2.0), 1.0),
            numpy=lambda: x * 2.0 + 1.0, jax=j)))


FIRST_CALLS = 3         # first calls measured per contender (medians)


def bench_compile(t, jax, quick):
    params, x, y = _mlp_setup(quick)
    x1 = np.ones(1000, np.float32)
    jax_mlp = jax_chain = None
    if jax is not None:
        import jax.numpy as jnp
        # a new function each time, so that no cache of JAX's is hit
        jax_mlp = lambda: first_call_time(    # noqa: E731
            lambda: jax.jit(jax.value_and_grad(W.mlp_loss_fn(jnp, jax.nn.log_softmax))),
            params, x, y)
        jax_chain = lambda: first_call_time(lambda: jax.jit(W.long_chain_fn(jnp)), x1)  # noqa: E731
    with _math_library() as (library, seconds):
        t.add("4 first call", "math library, built once per machine", trax_jit=seconds)
        for case, workload, jax_first in (("mlp grad", "mlp", jax_mlp),
                                          ("200-op chain", "chain", jax_chain)):
            t.add("4 first call", case, **_first_calls(dict(
                trax_jit=lambda: _child_first_call(workload, quick, library), jax=jax_first)))
    _child_first_call("mlp", quick)            # fills the disk cache
    t.add("4 first call", "mlp grad, new process (disk cache)",
          **_first_calls(dict(trax_jit=lambda: _child_first_call("mlp", quick))))


@contextlib.contextmanager
def _math_library():
    """A new directory holding only the math library, and the seconds that
    building it took (in a new process)."""
    with tempfile.TemporaryDirectory(prefix="trax-bench-mathlib-") as library:
        yield library, _child_seconds(_BUILD_LIBRARY, library)


def _first_calls(fns):
    """Median of FIRST_CALLS first calls of each contender, taken in turn."""
    times = {k: [] for k, f in fns.items() if f is not None}
    for _ in range(FIRST_CALLS):
        for k in times:
            v = fns[k]()
            if v is not None:
                times[k].append(v)
    return {k: float(np.median(v)) if v else None for k, v in times.items()}


_CHILD = """
import os, time, numpy as np, trax, trax.numpy as tnp
from benchmarks import workloads as W
from benchmarks.runner import _mlp_setup, _mlp_trax, _rnn_setup
if {cold}:   # like JAX in the parent, which has compiled other functions before
    trax.jit(lambda v: v + 1.0)(np.ones(3, np.float32))
if {workload!r} == "mlp":
    args = _mlp_setup({quick})
    fn = trax.jit(_mlp_trax()[1])
elif {workload!r} == "rnn":
    args = _rnn_setup({quick})
    fn = trax.jit(trax.value_and_grad(W.rnn_loss_fn(tnp, trax.lax)))
else:
    args = (np.ones(1000, np.float32),)
    fn = trax.jit(W.long_chain_fn(tnp))
t0 = time.perf_counter(); fn(*args); print(time.perf_counter() - t0)
"""


_BUILD_LIBRARY = """
import time
t0 = time.perf_counter()
from trax.compiler.math import mathlib
mathlib.build_all(); print(time.perf_counter() - t0)
"""


def _child_first_call(workload, quick, library=None):
    """First-call seconds of a jitted workload in a new process. With
    ``library`` (a cache directory holding only the math library, which
    trax builds once per machine) it compiles from scratch: in an empty
    disk cache but for a copy of that, after one unrelated small function
    has been compiled, so the compiler's modules are loaded as JAX's are in
    the parent. Otherwise the disk cache serves it, and everything the first
    call loads lazily (the compiler's modules included) is counted."""
    code = _CHILD.format(cold=library is not None, workload=workload, quick=quick)
    if library is None:
        return _child_seconds(code)
    with tempfile.TemporaryDirectory(prefix="trax-bench-cold-") as d:
        shutil.copytree(library, d, dirs_exist_ok=True)
        return _child_seconds(code, d)


def _child_seconds(code, cache_dir=None):
    """The number ``code`` prints last, run in a new process (with
    ``TRAX_CACHE_DIR=cache_dir`` if given); None if it fails."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["TRAX_CACHE_DIR"] = cache_dir
        env.pop("TRAX_DISABLE_DISK_CACHE", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return None
    return float(out.stdout.strip().splitlines()[-1])


def bench_rows(t, jax, quick):
    shape = (256, 128) if quick else (4096, 1024)
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    for name, make in (("softmax", W.softmax_fn), ("layer norm", W.layer_norm_fn)):
        f_t, f_np = make(tnp), make(np)
        g_t = trax.grad(lambda a: tnp.sum(f_t(a) * a))
        jf, jg = trax.jit(f_t), trax.jit(g_t)
        jfw = jgr = None
        if jax is not None:
            import jax.numpy as jnp
            f_j = make(jnp)
            jf_j = jax.jit(f_j)
            jg_j = jax.jit(jax.grad(lambda a: jnp.sum(f_j(a) * a)))
            jx = jax.device_put(x)
            jfw = lambda: jf_j(jx).block_until_ready()
            jgr = lambda: jg_j(jx).block_until_ready()
        t.add(f"5 {name}", "fwd", **compare(dict(
            trax_jit=lambda: jf(x), trax_eager=lambda: f_t(x), numpy=lambda: f_np(x), jax=jfw)))
        t.add(f"5 {name}", "grad", **compare(dict(
            trax_jit=lambda: jg(x), trax_eager=lambda: g_t(x), jax=jgr), min_repeats=3))


def bench_matmul(t, jax, quick):
    n = 128 if quick else 1024
    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=(n, n)).astype(np.float32) for _ in range(2))
    f_t = W.tanh_matmul_fn(tnp)
    j = None
    if jax is not None:
        import jax.numpy as jnp
        jf_j = jax.jit(W.tanh_matmul_fn(jnp))
        ja, jb = jax.device_put(a), jax.device_put(b)
        j = lambda: jf_j(ja, jb).block_until_ready()
    jf = trax.jit(f_t)
    t.add("6 tanh(a@b)", f"{n}x{n}", **compare(dict(
        trax_jit=lambda: jf(a, b), trax_eager=lambda: f_t(a, b),
        numpy=lambda: W.tanh_matmul_fn(np)(a, b), jax=j)))


def bench_hessian(t, jax, quick):
    x = np.random.default_rng(0).normal(size=100)
    h = trax.hessian(W.hessian_target_fn(tnp))
    jh = trax.jit(h)
    j = None
    if jax is not None:
        import jax.numpy as jnp
        hj = jax.jit(jax.hessian(W.hessian_target_fn(jnp)))
        jx = jax.device_put(x)
        j = lambda: hj(jx).block_until_ready()
    t.add("7 hessian", "n=100", **compare(dict(
        trax_jit=lambda: jh(x), trax_eager=lambda: h(x), jax=j)))


def _rnn_setup(quick):
    rng = np.random.default_rng(0)
    steps, batch, n_in, hidden = (20, 4, 8, 16) if quick else (200, 16, 32, 128)
    params = W.rnn_params(rng, n_in, hidden)
    xs = rng.normal(size=(steps, batch, n_in)).astype(np.float32)
    return params, xs


def bench_rnn(t, jax, quick):
    params, xs = _rnn_setup(quick)
    loss = W.rnn_loss_fn(tnp, trax.lax)
    vg = trax.value_and_grad(loss)
    jf, jvg = trax.jit(loss), trax.jit(vg)
    j_f = j_vg = j_first = None
    if jax is not None:
        import jax.numpy as jnp
        jloss = W.rnn_loss_fn(jnp, jax.lax)
        jf_j, jvg_j = jax.jit(jloss), jax.jit(jax.value_and_grad(jloss))
        jp, jxs = jax.device_put(params), jax.device_put(xs)
        j_f = lambda: jax.block_until_ready(jf_j(jp, jxs))
        j_vg = lambda: jax.block_until_ready(jvg_j(jp, jxs))
        j_first = lambda: first_call_time(    # noqa: E731
            lambda: jax.jit(jax.value_and_grad(W.rnn_loss_fn(jnp, jax.lax))), params, xs)
    t.add("8 rnn scan", "fwd", **compare(dict(
        trax_jit=lambda: jf(params, xs), trax_eager=lambda: loss(params, xs),
        numpy=lambda: W.rnn_loss_numpy(params, xs), jax=j_f)))
    t.add("8 rnn scan", "value_and_grad", **compare(dict(
        trax_jit=lambda: jvg(params, xs), trax_eager=lambda: vg(params, xs),
        numpy=lambda: W.rnn_value_and_grad_numpy(params, xs), jax=j_vg)))
    with _math_library() as (library, _):
        t.add("8 rnn scan", "value_and_grad first call (cold)", **_first_calls(dict(
            trax_jit=lambda: _child_first_call("rnn", quick, library), jax=j_first)))


def bench_logistic(t, jax, quick):
    steps, n = (200, 64) if quick else (2000, 512)
    x = np.random.default_rng(0).uniform(0.1, 0.9, n).astype(np.float32)
    f = W.logistic_fn(trax.lax, steps)
    jf = trax.jit(f)
    nb = W.logistic_numba()
    j = None
    if jax is not None:
        jf_j = jax.jit(W.logistic_fn(jax.lax, steps))
        jx = jax.device_put(x)
        j = lambda: jf_j(jx).block_until_ready()
    t.add("9 fori logistic", f"{steps} steps, n={n}", unit="us", **compare(dict(
        trax_jit=lambda: jf(x), trax_eager=lambda: f(x),
        numpy=lambda: W.logistic_numpy(x, steps), jax=j,
        numba=nb and (lambda: nb(x, steps)))))


def bench_newton(t, jax, quick):
    n = 100 if quick else 1000
    a = np.random.default_rng(0).uniform(0.01, 100, n).astype(np.float32)
    f = W.newton_sqrt_fn(tnp, trax.lax)
    jf = trax.jit(f)
    j = None
    if jax is not None:
        import jax.numpy as jnp
        jf_j = jax.jit(W.newton_sqrt_fn(jnp, jax.lax))
        ja = jax.device_put(a)
        j = lambda: jf_j(ja).block_until_ready()
    t.add("10 while newton", f"sqrt n={n}", unit="us", **compare(dict(
        trax_jit=lambda: jf(a), trax_eager=lambda: f(a),
        numpy=lambda: W.newton_sqrt_numpy(a), jax=j)))


def _numba_version():
    try:
        import numba
        return numba.__version__
    except ImportError:
        return None


BENCHES = {1: bench_chain, 2: bench_mlp, 3: bench_dispatch, 4: bench_compile,
           5: bench_rows, 6: bench_matmul, 7: bench_hessian, 8: bench_rnn,
           9: bench_logistic, 10: bench_newton}


def run(args):
    jax = _load_jax(args.no_jax)
    only = {int(s) for s in args.only.split(",") if s} or set(BENCHES)
    t = Table()
    for k in sorted(only):
        BENCHES[k](t, jax, args.quick)
    print(f"\ntrax benchmarks ({'quick' if args.quick else 'full'} sizes"
          f"{', single thread' if args.single_thread else ''}; medians of one run, "
          f"contenders interleaved; "
          f"JAX {'%s' % jax.__version__ if jax else 'not installed'}"
          + (f"; numba {_numba_version() or 'not installed'}" if 9 in only else "")
          + ")\n")
    print(t.render())
    return 0
