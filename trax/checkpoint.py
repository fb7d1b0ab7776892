"""``trax.checkpoint`` (alias ``trax.remat``): recompute a function's forward
values in the backward pass instead of storing them.

A checkpointed call is the ``checkpoint`` primitive holding the function's
closed jaxpr, with a ``policy`` naming what may be saved: ``None`` (save
nothing) or ``"dots"`` (save the outputs of ``dot_general``). Eagerly and
under jvp and vmap it is transparent. Under partial evaluation (reverse
mode) the forward pass computes only the known outputs; the unknown part
becomes a ``checkpoint`` that takes the known inputs (and the saved values)
and recomputes every residual it needs.
"""
import functools
import types

from trax import core
from trax.api_util import flatten_fun
from trax.core import ClosedJaxpr, get_aval
from trax.custom_derivatives import _closure_convert
from trax.errors import TraxTypeError
from trax.interpreters import ad
from trax.interpreters import jaxpr_transforms as jt
from trax.interpreters import partial_eval as pe
from trax.lax.control_flow.scan import jvp_body
from trax.tree_util import tree_flatten, tree_unflatten


def dots_saveable(prim, *args, **params):
    """Policy: save the results of matrix products (``dot_general``)."""
    return prim.name == "dot_general"


def nothing_saveable(prim, *args, **params):
    """Policy: save nothing; recompute every forward value."""
    return False


checkpoint_policies = types.SimpleNamespace(dots_saveable=dots_saveable,
                                            nothing_saveable=nothing_saveable)

# policy (as given by the user) -> its name (the primitive's param)
_POLICY_NAMES = {None: None, nothing_saveable: None, dots_saveable: "dots", "dots": "dots"}
# policy name -> names of the primitives whose outputs are saved
_SAVED = {None: frozenset(), "dots": frozenset({"dot_general"})}


def checkpoint(fun, *, prevent_cse=True, policy=None):
    """``fun`` whose forward values are recomputed in the backward pass
    rather than stored (JAX's ``jax.checkpoint``). ``policy``:
    ``None`` / ``checkpoint_policies.nothing_saveable`` (save nothing) or
    ``checkpoint_policies.dots_saveable`` / ``"dots"`` (save matrix products).
    """
    try:
        name = _POLICY_NAMES[policy]
    except (KeyError, TypeError):
        raise ValueError(f"checkpoint: unknown policy {policy!r}; use None, "
                         f"trax.checkpoint_policies.nothing_saveable, "
                         f"trax.checkpoint_policies.dots_saveable or 'dots'") from None

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        leaves, in_tree = tree_flatten(args)
        for x in leaves:
            if not core.is_array_like(x):
                raise TraxTypeError(f"checkpoint: arguments must be pytrees of arrays, got "
                                    f"a leaf of type {type(x).__name__} ({x!r})")
        flat_f, store = flatten_fun(fun, in_tree, kwargs)
        jaxpr, consts = _closure_convert(pe.trace_to_jaxpr(flat_f, [get_aval(x) for x in leaves]))
        outs = checkpoint_p.bind(*consts, *leaves, jaxpr=ClosedJaxpr(jaxpr, []), policy=name,
                                 prevent_cse=bool(prevent_cse))
        return tree_unflatten(store.val, outs)
    return wrapped


remat = checkpoint


# ----------------------------------------------------------------------------
# the primitive

checkpoint_p = core.Primitive("checkpoint", multiple_results=True)


def _checkpoint_abstract_eval(*avals, jaxpr, policy, prevent_cse):
    if policy not in _SAVED:
        raise TraxTypeError(f"checkpoint: unknown policy {policy!r} (expected one of "
                            f"{sorted(_SAVED, key=str)})")
    want = jaxpr.in_avals
    if len(avals) != len(want):
        raise TraxTypeError(f"checkpoint: the jaxpr takes {len(want)} inputs, got "
                            f"{len(avals)}")
    for i, (a, b) in enumerate(zip(avals, want)):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            raise TraxTypeError(f"checkpoint: operand {i} has type {a.str_short()} but the "
                                f"jaxpr takes {b.str_short()}")
    return list(jaxpr.out_avals)


def _checkpoint_impl(*args, jaxpr, policy, prevent_cse):
    return core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *args)


def _checkpoint_jvp(primals, tangents, jaxpr, policy, prevent_cse):
    nonzeros = [not isinstance(t, ad.Zero) for t in tangents]
    jvp_j, out_nz = jvp_body(jaxpr, nonzeros, [False] * len(jaxpr.out_avals))
    outs = checkpoint_p.bind(*primals, *(t for t, nz in zip(tangents, nonzeros) if nz),
                             jaxpr=jvp_j, policy=policy, prevent_cse=prevent_cse)
    n = len(jaxpr.out_avals)
    t_out = iter(outs[n:])
    return outs[:n], [next(t_out) if nz else ad.Zero(a.strip_weak_type())
                      for nz, a in zip(out_nz, jaxpr.out_avals)]


_checkpoint_jvp.symbolic_zeros = True


def _checkpoint_batch(vals, dims, axis_size, jaxpr, policy, prevent_cse):
    outs = checkpoint_p.bind(*vals, jaxpr=jt.batch_jaxpr(jaxpr, dims, axis_size),
                             policy=policy, prevent_cse=prevent_cse)
    return outs, [0] * len(outs)


def _live(jaxpr, roots, stop=frozenset()):
    """Indices of the equations the variables ``roots`` depend on (not
    looking through the equations in ``stop``)."""
    live = {v for v in roots if isinstance(v, core.Var)}
    keep = set()
    for i in reversed(range(len(jaxpr.eqns))):
        e = jaxpr.eqns[i]
        if any(v in live for v in e.outvars):
            keep.add(i)
            if i not in stop:
                live.update(v for v in e.invars if isinstance(v, core.Var))
    return keep


def _eval(closed, args, eqn_ids, outvars, saved_ids, saved=None):
    """Evaluate the equations ``eqn_ids`` of ``closed`` and return
    ``(values of outvars, outputs of the saved_ids equations)``; given
    ``saved`` (those outputs, flat in equation order), the saved_ids
    equations take them instead of computing."""
    j = closed.jaxpr
    env = dict(zip(j.constvars, closed.consts))
    env.update(zip(j.invars, args))
    read = lambda v: v.val if isinstance(v, core.Literal) else env[v]   # noqa: E731
    given, it = {}, iter(saved or ())
    for i in sorted(saved_ids) if saved is not None else ():
        given[i] = [next(it) for _ in j.eqns[i].outvars]
    record = []
    for i, eqn in enumerate(j.eqns):
        if i not in eqn_ids:
            continue
        if i in given:
            outs = given[i]
        else:
            outs = core.bind(eqn.primitive, *map(read, eqn.invars), **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
            if i in saved_ids:
                record.extend(outs)
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in outvars], record


def _checkpoint_partial_eval(trace, tracers, jaxpr, policy, prevent_cse):
    in_unknowns = [not t.pval.is_known for t in tracers]
    known, unknown, out_unknowns, num_res = jt.partial_eval_jaxpr(jaxpr, in_unknowns)
    kj = known.jaxpr
    outs, res = kj.outvars[:len(kj.outvars) - num_res], kj.outvars[len(kj.outvars) - num_res:]
    saved_ids = {i for i in _live(kj, res) if kj.eqns[i].primitive.name in _SAVED[policy]}
    saved_vars = [v for i in sorted(saved_ids) for v in kj.eqns[i].outvars]
    # the forward pass computes the known outputs and the saved values only;
    # the residuals are recomputed from the known inputs in the backward pass
    known_in = [t.pval.const for t in tracers if t.pval.is_known]
    known_outs, saved = _eval(known, known_in, _live(kj, [*outs, *saved_vars]), outs,
                              saved_ids)
    n_known, n_saved = len(known_in), len(saved)
    res_ids = _live(kj, res, saved_ids)

    def recompute(*args):
        k, s, u = args[:n_known], args[n_known:n_known + n_saved], args[n_known + n_saved:]
        residuals, _ = _eval(known, k, res_ids, res, saved_ids, list(s))
        return core.eval_jaxpr(unknown.jaxpr, unknown.consts, *residuals, *u)
    unk_tracers = [t for t in tracers if not t.pval.is_known]
    rj = pe.trace_to_jaxpr(recompute, [*(get_aval(v) for v in [*known_in, *saved]),
                                       *(t.aval for t in unk_tracers)])
    inst = trace.instantiate_const
    in_tracers = [*(inst(trace.pure(v)) for v in [*known_in, *saved]), *unk_tracers]
    params = dict(jaxpr=rj, policy=policy, prevent_cse=prevent_cse)
    unk_avals = list(rj.out_avals)
    unk_outs = trace.stage(checkpoint_p, in_tracers, params, unk_avals)
    return trace.merge(known_outs, unk_outs, out_unknowns)


def _checkpoint_transpose(cts, *args, jaxpr, policy, prevent_cse):
    linear = tuple(ad.is_undefined(a) for a in args)
    nonlin = [a for a in args if not ad.is_undefined(a)]
    cts = [ad.zeros_like_aval(a.strip_weak_type()) if ct is None else ct
           for ct, a in zip(cts, jaxpr.out_avals)]
    cts_in = iter(checkpoint_p.bind(*nonlin, *cts, jaxpr=jt.transpose_jaxpr(jaxpr, linear),
                                    policy=policy, prevent_cse=prevent_cse))
    return [next(cts_in) if l else None for l in linear]


checkpoint_p.impl = _checkpoint_impl
checkpoint_p.abstract_eval = _checkpoint_abstract_eval
checkpoint_p.jvp = _checkpoint_jvp
checkpoint_p.batch = _checkpoint_batch
checkpoint_p.partial_eval = _checkpoint_partial_eval
checkpoint_p.transpose = _checkpoint_transpose
