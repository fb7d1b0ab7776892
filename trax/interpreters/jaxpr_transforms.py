"""Transformations of whole jaxprs into new jaxprs: the rules that make a
call primitive carrying a sub-jaxpr (``pjit``) compose with jvp,
partial evaluation (linearize), transposition and vmap."""
from trax import core
from trax.core import ClosedJaxpr, Jaxpr, Tracer, Var, get_aval
from trax.interpreters import ad, batching
from trax.interpreters import partial_eval as pe
from trax.interpreters.partial_eval import PartialVal


def _run(closed):
    return lambda *args: core.eval_jaxpr(closed.jaxpr, closed.consts, *args)


def jvp_jaxpr(closed):
    """A jaxpr taking ``(*primals, *tangents)`` and returning
    ``(*primals_out, *tangents_out)``."""
    n = len(closed.in_avals)
    t_avals = [a.strip_weak_type() for a in closed.in_avals]

    def f(*args):
        p, t = ad.jvp_flat(_run(closed), args[:n], args[n:])
        return [*p, *t]
    return pe.trace_to_jaxpr(f, [*closed.in_avals, *t_avals])


def batch_jaxpr(closed, dims, axis_size):
    """A jaxpr over inputs batched along ``dims`` whose outputs are all
    batched along axis 0."""
    in_avals = []
    for a, d in zip(closed.in_avals, dims):
        if d is None:
            in_avals.append(a)
        else:
            shape = list(a.shape)
            shape.insert(d, axis_size)
            in_avals.append(a.update(shape=shape))

    def f(*args):
        outs, out_dims = batching.vmap_flat(_run(closed), axis_size, list(dims), args)
        return [batching.bdim_at_front(o, d, axis_size) for o, d in zip(outs, out_dims)]
    return pe.trace_to_jaxpr(f, in_avals)


def partial_eval_jaxpr(closed, in_unknowns):
    """Split a jaxpr by which inputs are unknown. Returns
    ``(known, unknown, out_unknowns, num_res)``: ``known`` maps the known
    inputs to the known outputs followed by residuals; ``unknown`` maps
    ``(*residuals, *unknown inputs)`` to the unknown outputs."""
    known_avals = [a for a, uk in zip(closed.in_avals, in_unknowns) if not uk]
    box = {}

    def f_known(*known_args):
        it = iter(known_args)
        pvals = [PartialVal.unknown(a) if uk else PartialVal.known(next(it))
                 for a, uk in zip(closed.in_avals, in_unknowns)]
        jaxpr_unk, pvals_out, residuals = pe.partial_eval_flat(_run(closed), pvals)
        box["jaxpr"] = jaxpr_unk
        box["out_unknowns"] = [not pv.is_known for pv in pvals_out]
        box["num_res"] = len(residuals)
        return [pv.const for pv in pvals_out if pv.is_known] + list(residuals)

    known = pe.trace_to_jaxpr(f_known, known_avals)
    j = box["jaxpr"]
    unknown = ClosedJaxpr(Jaxpr([], [*j.constvars, *j.invars], j.eqns, j.outvars), [])
    return known, unknown, box["out_unknowns"], box["num_res"]


def transpose_jaxpr(closed, linear):
    """A jaxpr taking ``(*non-linear inputs, *output cotangents)`` and
    returning the cotangents of the ``linear`` inputs."""
    avals = closed.in_avals
    lin_avals = [a for a, l in zip(avals, linear) if l]
    nonlin_avals = [a for a, l in zip(avals, linear) if not l]
    n_nonlin = len(nonlin_avals)

    def f(*args):
        it = iter(args[:n_nonlin])
        undefs = [ad.UndefinedPrimal(a) if l else next(it) for a, l in zip(avals, linear)]
        cts = list(args[n_nonlin:])
        cts_in = ad.backward_pass(closed.jaxpr, closed.consts, undefs, cts)
        return [ad.zeros_like_aval(a) if ct is None else ct
                for ct, a, l in zip(cts_in, avals, linear) if l]
    out_avals = [a.strip_weak_type() for a in closed.out_avals]
    del lin_avals
    return pe.trace_to_jaxpr(f, [*nonlin_avals, *out_avals])


def hoist_tracer_consts(closed_jaxprs):
    """Closure conversion for primitives holding sub-jaxprs: the constants
    that are tracers (values closed over from enclosing transformations)
    become leading inputs, shared by all of ``closed_jaxprs``; concrete
    constants stay. Returns ``(converted jaxprs, tracers)``."""
    tracers = {}
    for b in closed_jaxprs:
        for c in b.consts:
            if isinstance(c, Tracer):
                tracers.setdefault(id(c), c)
    if not tracers:
        return tuple(closed_jaxprs), []
    position = {key: i for i, key in enumerate(tracers)}
    tracers = list(tracers.values())
    converted = []
    for b in closed_jaxprs:
        j = b.jaxpr
        lead = [Var(get_aval(t)) for t in tracers]
        constvars, consts = [], []
        for v, c in zip(j.constvars, b.consts):
            if isinstance(c, Tracer):
                lead[position[id(c)]] = v
            else:
                constvars.append(v)
                consts.append(c)
        converted.append(ClosedJaxpr(Jaxpr(constvars, [*lead, *j.invars], j.eqns,
                                           j.outvars), consts))
    return tuple(converted), tracers
