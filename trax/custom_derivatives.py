"""User-defined derivative rules: ``custom_jvp`` and ``custom_vjp``.

Each call binds a primitive that carries the traced function as a
sub-jaxpr (so ``make_jaxpr`` shows it and ``jit`` can compile it) and the
user's rule as a parameter. The jvp trace calls the rule instead of
differentiating the function's body.
"""
import contextlib
import functools

from trax import core
from trax.api_util import flatten_fun
from trax.core import ClosedJaxpr, Jaxpr, get_aval
from trax.interpreters import ad, batching
from trax.interpreters import partial_eval as pe
from trax.tree_util import tree_flatten, tree_unflatten


def _closure_convert(closed):
    """Turn a ClosedJaxpr's constants into leading inputs, so values closed
    over from outer transformations enter through bind."""
    j = closed.jaxpr
    return Jaxpr([], [*j.constvars, *j.invars], j.eqns, j.outvars), list(closed.consts)


def _split_static(args, nondiff_argnums):
    static = {i: args[i] for i in nondiff_argnums}
    dyn = tuple(a for i, a in enumerate(args) if i not in static)

    def merge(dyn_args):
        it = iter(dyn_args)
        return tuple(static[i] if i in static else next(it) for i in range(len(args)))
    return static, dyn, merge


def _trace_flat(fun, merge, in_tree, leaves):
    flat_f, store = flatten_fun(lambda *dyn: fun(*merge(dyn)), in_tree)
    closed = pe.trace_to_jaxpr(flat_f, [get_aval(x) for x in leaves])
    jaxpr, consts = _closure_convert(closed)
    return jaxpr, consts, store.val


@contextlib.contextmanager
def _no_reentry(wrapper, what):
    """A rule that calls its own function while that function closes over a
    value being differentiated would differentiate itself forever (the call
    comes back to the same jvp trace): say so."""
    level = ad.rule_levels[-1] if ad.rule_levels else None
    active = wrapper.__dict__.setdefault("_rule_levels", set())
    if level in active:
        raise TypeError(
            f"the {what} of {wrapper.fun.__name__} re-entered its own rule: the "
            f"function closes over a value that is being differentiated. Pass "
            f"that value as an argument of the custom_jvp/custom_vjp function "
            f"instead of closing over it.")
    active.add(level)
    try:
        yield
    finally:
        active.discard(level)


def _trace_call(wrapper, args):
    """Split a call of a custom_jvp/custom_vjp function into its static
    (nondiff) and array arguments and trace its body. Returns ``(nondiff,
    merge, leaves, in_tree, jaxpr, consts, out_tree)``."""
    static, dyn, merge = _split_static(args, wrapper.nondiff_argnums)
    leaves, in_tree = tree_flatten(dyn)
    jaxpr, consts, out_tree = _trace_flat(wrapper.fun, merge, in_tree, leaves)
    return [static[i] for i in sorted(static)], merge, leaves, in_tree, jaxpr, consts, out_tree


class _Rule:
    """A hashable-by-identity holder for a user's rule (a jaxpr param)."""

    def __init__(self, fn, name):
        self.fn = fn
        self.name = name

    def __call__(self, *a, **k):
        return self.fn(*a, **k)

    def __repr__(self):
        return self.name


# ----------------------------------------------------------------------------
# custom_jvp

class custom_jvp:
    """Give ``fun`` a custom forward-mode rule (reverse mode follows by
    transposing it)::

        @custom_jvp
        def f(x): ...
        @f.defjvp
        def f_jvp(primals, tangents): return f(*primals), tangent_out
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp

    def __call__(self, *args):
        if self.jvp is None:
            raise AttributeError(f"no JVP rule defined for custom_jvp function "
                                 f"{self.fun.__name__}; call .defjvp first")
        nondiff, merge, leaves, in_tree, jaxpr, consts, out_tree = _trace_call(self, args)
        user_jvp = self.jvp
        n_consts = len(consts)

        def flat_jvp(primals, tangents):
            p = tree_unflatten(in_tree, primals[n_consts:])
            t = tree_unflatten(in_tree, tangents[n_consts:])
            with _no_reentry(self, "jvp rule"):
                res = user_jvp(*nondiff, p, t)
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"the custom_jvp rule of {self.fun.__name__} must "
                                f"return a pair (primal_out, tangent_out)")
            p_out, p_tree = tree_flatten(res[0])
            t_out, t_tree = tree_flatten(res[1])
            if p_tree != out_tree or t_tree != out_tree:
                raise TypeError(f"the custom_jvp rule of {self.fun.__name__} returned "
                                f"outputs of structure {p_tree} / {t_tree}; the "
                                f"function returns {out_tree}")
            return p_out, t_out
        outs = custom_jvp_call_p.bind(*consts, *leaves, call_jaxpr=ClosedJaxpr(jaxpr, []),
                                      jvp=_Rule(flat_jvp, f"{self.fun.__name__}_jvp"))
        return tree_unflatten(out_tree, outs)


def _call_impl(*args, call_jaxpr, **_):
    return core.eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


def _call_abstract(*avals, call_jaxpr, **_):
    return call_jaxpr.out_avals


custom_jvp_call_p = core.Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.impl = _call_impl
custom_jvp_call_p.abstract_eval = _call_abstract


def _custom_jvp_jvp(primals, tangents, call_jaxpr, jvp):
    p_out, t_out = jvp(primals, tangents)
    for p, a in zip(p_out, call_jaxpr.out_avals):
        if get_aval(p).shape != a.shape:
            raise TypeError(f"custom_jvp rule {jvp} returned a primal output of "
                            f"shape {get_aval(p).shape}, the function gives {a.shape}")
    return p_out, t_out


custom_jvp_call_p.jvp = _custom_jvp_jvp


def _batched_call_jaxpr(call_jaxpr, dims, axis_size):
    in_avals = [_batched_aval(a, d, axis_size) for a, d in zip(call_jaxpr.in_avals, dims)]

    def f(*args):
        outs, out_dims = batching.vmap_flat(
            lambda *a: core.eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *a),
            axis_size, dims, args)
        return [batching.bdim_at_front(o, d, axis_size) for o, d in zip(outs, out_dims)]
    return pe.trace_to_jaxpr(f, in_avals)


def _batched_aval(aval, d, size):
    if d is None:
        return aval
    shape = list(aval.shape)
    shape.insert(d, size)
    return aval.update(shape=shape)


def _custom_jvp_batch(vals, dims, axis_size, call_jaxpr, jvp):
    dims = list(dims)
    batched = _batched_call_jaxpr(call_jaxpr, dims, axis_size)

    def batched_jvp(primals, tangents):
        t_dims = [d if d is not None else None for d in dims]
        def one(p, t):
            return jvp(list(p), list(t))
        outs, out_dims = batching.vmap_flat(
            lambda *a: [*sum(map(list, one(a[:len(dims)], a[len(dims):])), [])],
            axis_size, dims + t_dims, [*primals, *tangents])
        outs = [batching.bdim_at_front(o, d, axis_size) for o, d in zip(outs, out_dims)]
        n = len(outs) // 2
        return outs[:n], outs[n:]
    outs = custom_jvp_call_p.bind(*vals, call_jaxpr=batched,
                                  jvp=_Rule(batched_jvp, f"vmap({jvp})"))
    return outs, [0] * len(outs)


custom_jvp_call_p.batch = _custom_jvp_batch


# ----------------------------------------------------------------------------
# custom_vjp

class custom_vjp:
    """Give ``fun`` a custom reverse-mode rule::

        @custom_vjp
        def f(x): ...
        def f_fwd(x): return f(x), residuals
        def f_bwd(residuals, g): return (cotangent_for_x,)
        f.defvjp(f_fwd, f_bwd)

    With ``nondiff_argnums``, those arguments come first in ``bwd``'s
    arguments: ``bwd(*nondiff_args, residuals, g)``.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise AttributeError(f"no VJP rule defined for custom_vjp function "
                                 f"{self.fun.__name__}; call .defvjp(fwd, bwd) first")
        nondiff, merge, leaves, in_tree, jaxpr, consts, out_tree = _trace_call(self, args)
        n_consts = len(consts)
        name = self.fun.__name__
        fwd, bwd = self.fwd, self.bwd
        in_avals = [get_aval(x) for x in leaves]

        def flat_fwd(*primals):
            with _no_reentry(self, "fwd"):
                res = fwd(*merge(tree_unflatten(in_tree, primals[n_consts:])))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"the custom_vjp fwd of {name} must return a pair "
                                f"(output, residuals)")
            out, o_tree = tree_flatten(res[0])
            if o_tree != out_tree:
                raise TypeError(f"the custom_vjp fwd of {name} returned output of "
                                f"structure {o_tree}; the function returns {out_tree}")
            res_leaves, res_tree = tree_flatten(res[1])
            return out, res_leaves, res_tree

        def flat_bwd(res_tree, res_leaves, cts):
            g = tree_unflatten(out_tree, cts)
            out = bwd(*nondiff, tree_unflatten(res_tree, res_leaves), g)
            if not isinstance(out, (tuple, list)):
                raise TypeError(f"the custom_vjp bwd of {name} must return a tuple with "
                                f"one cotangent per differentiable argument, got "
                                f"{type(out).__name__}")
            ct_leaves, ct_tree = tree_flatten(tuple(out))
            if ct_tree != in_tree:
                raise TypeError(f"the custom_vjp bwd of {name} returned cotangents of "
                                f"structure {ct_tree}, but the differentiable "
                                f"arguments have structure {in_tree}")
            for i, (c, a) in enumerate(zip(ct_leaves, in_avals)):
                if c is not None and get_aval(c).shape != a.shape:
                    raise TypeError(f"the custom_vjp bwd of {name} returned a cotangent "
                                    f"of shape {get_aval(c).shape} for argument leaf {i}, "
                                    f"which has shape {a.shape}")
            return [ad.zeros_like_aval(a) if c is None else c
                    for c, a in zip(ct_leaves, in_avals)]

        outs = custom_vjp_call_p.bind(
            *consts, *leaves, call_jaxpr=ClosedJaxpr(jaxpr, []), n_consts=n_consts,
            fwd=_Rule(flat_fwd, f"{name}_fwd"), bwd=_Rule(flat_bwd, f"{name}_bwd"))
        return tree_unflatten(out_tree, outs)


custom_vjp_call_p = core.Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.impl = _call_impl
custom_vjp_call_p.abstract_eval = _call_abstract


def _custom_vjp_jvp(primals, tangents, call_jaxpr, n_consts, fwd, bwd):
    out, res, res_tree = fwd(*primals)
    out_avals = [get_aval(o).strip_weak_type() for o in out]
    t_out = custom_lin_p.bind(*res, *tangents[n_consts:], num_res=len(res),
                              bwd=_Rule(functools.partial(bwd.fn, res_tree), bwd.name),
                              out_avals=tuple(out_avals))
    return out, t_out


custom_vjp_call_p.jvp = _custom_vjp_jvp


def _custom_vjp_batch(vals, dims, axis_size, call_jaxpr, n_consts, fwd, bwd):
    """vmap of a custom_vjp function: a custom_vjp call whose body, fwd and
    bwd are all batched, so grad(vmap(f)) still uses the user's rule."""
    dims = list(dims)
    front = lambda outs, out_dims: [batching.bdim_at_front(o, d, axis_size)
                                    for o, d in zip(outs, out_dims)]
    box = {}

    def fwd_batched(*primals):
        def f(*p):
            out, res, res_tree = fwd(*p)
            box["n_out"], box["res_tree"] = len(out), res_tree
            return [*out, *res]
        outs = front(*batching.vmap_flat(f, axis_size, dims, list(primals)))
        return outs[:box["n_out"]], outs[box["n_out"]:], box["res_tree"]

    def bwd_batched(res_tree, res, cts):
        n = len(res)
        outs = front(*batching.vmap_flat(
            lambda *rc: bwd(res_tree, list(rc[:n]), list(rc[n:])),
            axis_size, [0] * (n + len(cts)), [*res, *cts]))
        from trax import lax
        # each cotangent takes its input's batch layout; unbatched inputs sum
        return [lax.reduce_sum(c, (0,)) if d is None else batching.moveaxis(c, 0, d)
                for c, d in zip(outs, dims[n_consts:])]

    outs = custom_vjp_call_p.bind(
        *vals, call_jaxpr=_batched_call_jaxpr(call_jaxpr, dims, axis_size),
        n_consts=n_consts, fwd=_Rule(fwd_batched, f"vmap({fwd})"),
        bwd=_Rule(bwd_batched, f"vmap({bwd})"))
    return outs, [0] * len(outs)


custom_vjp_call_p.batch = _custom_vjp_batch

# The linear map of a custom_vjp function: transposing it calls bwd.
custom_lin_p = core.Primitive("custom_lin", multiple_results=True)


def _custom_lin_impl(*args, **_):
    raise TypeError("forward-mode differentiation (jvp, jacfwd, linearize's "
                    "evaluation) of a custom_vjp function is not supported; use "
                    "custom_jvp, or reverse mode (grad, vjp, jacrev)")


custom_lin_p.impl = _custom_lin_impl
custom_lin_p.batch = lambda *args, **params: _custom_lin_impl()  # vmap(jvp(...)), jacfwd
custom_lin_p.abstract_eval = lambda *avals, num_res, bwd, out_avals: list(out_avals)


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals):
    res = args[:num_res]
    cts_in = bwd(list(res), list(cts))
    return [None] * num_res + list(cts_in)


custom_lin_p.transpose = _custom_lin_transpose
