"""Forward and reverse mode: jvp, linearize, transpose and vjp.

Reverse mode follows JAX: ``vjp = transpose(linearize(jvp))``. Linearize
runs the jvp with known primals and unknown tangents under partial
evaluation, so the forward pass runs now and the linear tangent map is
staged as a jaxpr; its residuals (forward values the backward pass needs)
are the jaxpr's constants. Transposing that jaxpr needs a ``transpose``
rule only on the linear primitives. Every rule is written with traceable
ops, so derivatives of derivatives work to any order.
"""
from trax import core
from trax.core import Trace, Tracer, get_aval
from trax.interpreters import partial_eval as pe
from trax.interpreters.partial_eval import PartialVal


# ----------------------------------------------------------------------------
# jvp

class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    def get_aval(self):
        return get_aval(self.primal)

    def concrete_value(self):
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p


class Zero:
    """A symbolic zero tangent: constants carry one, so operations on values
    that do not depend on the inputs cost nothing extra."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


def instantiate(t):
    """A Zero as a real zero array; anything else unchanged."""
    return zeros_like_aval(t.aval.strip_weak_type()) if isinstance(t, Zero) else t


# levels of the jvp traces whose rules are running (innermost last)
rule_levels = []


class JVPTrace(Trace):
    def pure(self, val):
        return JVPTracer(self, val, Zero(get_aval(val)))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        if prim.jvp is None:
            raise NotImplementedError(f"differentiation rule for '{prim.name}' "
                                      f"is not implemented")
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(isinstance(t, Zero) for t in tangents):
            out = prim.bind(*primals, **params)
            if prim.multiple_results:
                return [JVPTracer(self, o, Zero(get_aval(o))) for o in out]
            return JVPTracer(self, out, Zero(get_aval(out)))
        if not getattr(prim.jvp, "symbolic_zeros", False):
            tangents = [instantiate(t) for t in tangents]
        rule_levels.append(self.main.level)
        try:
            p_out, t_out = prim.jvp(primals, tangents, **params)
        finally:
            rule_levels.pop()
        if prim.multiple_results:
            return [JVPTracer(self, p, t) for p, t in zip(p_out, t_out)]
        return JVPTracer(self, p_out, t_out)


def zeros_like(x):
    from trax import lax
    return lax.zeros_like(x)


def add_tangents(a, b):
    from trax import lax
    return lax.add(a, b)


def jvp_flat(f, primals, tangents):
    """Forward mode on flat lists: returns ``(primals_out, tangents_out)``."""
    with core.new_main(JVPTrace) as main:
        trace = JVPTrace(main)
        tracers_in = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = f(*tracers_in)
        tracers_out = [core.full_raise(trace, o) for o in outs]
        return ([core.full_lower(t.primal) for t in tracers_out],
                [core.full_lower(instantiate(t.tangent)) for t in tracers_out])


# ----------------------------------------------------------------------------
# linearize

def linearize_flat(f, *primals):
    """Returns ``(primals_out, jaxpr, consts)``: the linear map from input
    tangents to output tangents is ``eval_jaxpr(jaxpr, consts, *tangents)``."""
    n = len(primals)
    pvals_in = ([PartialVal.known(p) for p in primals]
                + [PartialVal.unknown(get_aval(p).strip_weak_type()) for p in primals])

    def f_jvp(*args):
        p_out, t_out = jvp_flat(f, args[:n], args[n:])
        return [*p_out, *t_out]

    jaxpr, pvals_out, consts = pe.partial_eval_flat(f_jvp, pvals_in)
    m = len(pvals_out) // 2
    primals_out = [pv.const for pv in pvals_out[:m]]
    tangent_pvals = pvals_out[m:]
    if any(pv.is_known for pv in tangent_pvals):
        jaxpr, consts = _instantiate_known_outputs(jaxpr, consts, tangent_pvals)
    return primals_out, jaxpr, consts


def _instantiate_known_outputs(jaxpr, consts, pvals_out):
    """Make outputs whose tangent was known (constant, e.g. zero) into
    constants of the linear jaxpr, keeping output order."""
    from trax.core import Jaxpr, Literal, Var
    constvars, consts = list(jaxpr.constvars), list(consts)
    unknown = iter(jaxpr.outvars)
    outvars = []
    for pv in pvals_out:
        if pv.is_known:
            if pe._is_literal(pv.const):
                outvars.append(Literal(pv.const, get_aval(pv.const)))
            else:
                v = Var(get_aval(pv.const))
                constvars.append(v)
                consts.append(pv.const)
                outvars.append(v)
        else:
            outvars.append(next(unknown))
    return Jaxpr(constvars, jaxpr.invars, jaxpr.eqns, outvars), consts


# ----------------------------------------------------------------------------
# transpose

class UndefinedPrimal:
    """Marks a linear input of a primitive during transposition."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x):
    return isinstance(x, UndefinedPrimal)


def backward_pass(jaxpr, consts, args, cotangents):
    """Transpose a linear jaxpr. ``args`` holds values for the non-linear
    inputs and ``UndefinedPrimal`` for the linear ones; returns the
    cotangents of the linear inputs (None where none arrived)."""
    from trax.core import Literal
    primal_env = {}
    ct_env = {}

    def read_primal(v):
        if isinstance(v, Literal):
            return v.val
        return primal_env.get(v, UndefinedPrimal(v.aval))

    def write_cotangent(v, ct):
        if ct is None or isinstance(v, Literal):
            return
        ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    primal_env.update(zip(jaxpr.constvars, consts))
    for v, a in zip(jaxpr.invars, args):
        if not is_undefined(a):
            primal_env[v] = a
    for v, ct in zip(jaxpr.outvars, cotangents):
        write_cotangent(v, ct)

    # forward values computed inside the linear jaxpr from constants only
    # (non-linear eqns) are evaluated first
    linear_eqns = []
    for eqn in jaxpr.eqns:
        ins = [read_primal(v) for v in eqn.invars]
        if any(is_undefined(x) for x in ins):
            linear_eqns.append(eqn)
        else:
            outs = core.bind(eqn.primitive, *ins, **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
            primal_env.update(zip(eqn.outvars, outs))

    for eqn in reversed(linear_eqns):
        cts_out = [ct_env.pop(v, None) for v in eqn.outvars]
        if all(ct is None for ct in cts_out):
            continue
        prim = eqn.primitive
        if prim.transpose is None:
            raise NotImplementedError(f"transpose rule for '{prim.name}' is not "
                                      f"implemented (reverse-mode through it)")
        ins = [read_primal(v) for v in eqn.invars]
        if prim.multiple_results:
            cts_out = [zeros_like_aval(v.aval) if ct is None else ct
                       for ct, v in zip(cts_out, eqn.outvars)]
            cts_in = prim.transpose(cts_out, *ins, **eqn.params)
        else:
            cts_in = prim.transpose(cts_out[0], *ins, **eqn.params)
        for v, x, ct in zip(eqn.invars, ins, cts_in):
            if is_undefined(x):
                write_cotangent(v, ct)
    return [ct_env.pop(v, None) if is_undefined(a) else None
            for v, a in zip(jaxpr.invars, args)]


def zeros_like_aval(aval):
    from trax import lax
    return lax.full(aval.shape, 0, aval.dtype)


def vjp_flat(f, *primals):
    """Returns ``(primals_out, f_vjp)`` where ``f_vjp(*cts_out)`` gives the
    list of input cotangents."""
    primals_out, jaxpr, consts = linearize_flat(f, *primals)
    in_avals = [get_aval(p).strip_weak_type() for p in primals]

    def f_vjp(*cts):
        undefs = [UndefinedPrimal(a) for a in in_avals]
        cts_in = backward_pass(jaxpr, consts, undefs, cts)
        return [zeros_like_aval(a) if ct is None else ct
                for ct, a in zip(cts_in, in_avals)]
    return primals_out, f_vjp


# ----------------------------------------------------------------------------
# helpers for defining rules

def defjvp(prim, *rules):
    """One rule per argument: ``rule(tangent, *primals, **params)`` returns
    that argument's contribution to the output tangent (None: no
    contribution, e.g. an integer argument)."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        total = None
        for rule, t in zip(rules, tangents):
            if rule is None or isinstance(t, Zero):
                continue
            contrib = rule(t, *primals, **params)
            if contrib is not None:
                total = contrib if total is None else add_tangents(total, contrib)
        if total is None:
            total = zeros_like(out)
        return out, total
    jvp.symbolic_zeros = True
    prim.jvp = jvp


def defjvp_with_output(prim, rule):
    """``rule(tangents, out, *primals, **params)`` for primitives whose
    derivative is cheapest written with their own output (exp, tanh, ...)."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        return out, rule(tangents, out, *primals, **params)
    prim.jvp = jvp


def deflinear(prim, transpose):
    """A primitive linear in all its array arguments: its jvp is itself."""
    def jvp(primals, tangents, **params):
        return prim.bind(*primals, **params), prim.bind(*tangents, **params)
    prim.jvp = jvp
    prim.transpose = transpose


def defzero(prim):
    """A primitive with zero derivative (comparisons, integer ops, ...)."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        if prim.multiple_results:
            return out, [zeros_like(o) for o in out]
        return out, zeros_like(out)
    prim.jvp = jvp
