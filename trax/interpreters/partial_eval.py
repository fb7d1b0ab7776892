"""Tracing Python functions to jaxprs, and partial evaluation.

``trace_to_jaxpr`` stages every operation of a function into a jaxpr (what
``make_jaxpr`` and ``jit`` use). ``partial_eval_flat`` runs the operations
whose inputs are known and stages the rest: ``linearize`` uses it to split
a jvp into the forward pass (known) and the linear tangent map (unknown).
"""
import weakref

import numpy as np

from trax import core
from trax.core import (ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Trace, Tracer,
                       Var, get_aval)
from trax.errors import user_source_line


def abstract_eval(prim, avals, params):
    """Output avals (always a list) of ``prim`` on input avals."""
    if prim.abstract_eval is None:
        raise NotImplementedError(f"primitive {prim.name} has no abstract_eval rule")
    out = prim.abstract_eval(*avals, **params)
    return list(out) if prim.multiple_results else [out]


def _is_literal(x):
    return (not isinstance(x, Tracer) and np.ndim(x) == 0
            and not (isinstance(x, np.ndarray) and x.dtype == object))


# ----------------------------------------------------------------------------
# Staging: every bind becomes an equation

class DynamicJaxprTracer(Tracer):
    __slots__ = ("_aval",)

    def __init__(self, trace, aval):
        self._trace = trace
        self._aval = aval

    def get_aval(self):
        return self._aval


class JaxprBuilder:
    """Collects equations, constants and variables while tracing."""

    def __init__(self):
        self.eqns = []
        self.tracer_to_var = {}
        self.const_tracers = {}      # id(value) -> tracer
        self.constvals = {}          # var -> value
        self.keepalive = []

    def new_var(self, tracer):
        var = self.tracer_to_var[id(tracer)] = Var(tracer.aval)
        self.keepalive.append(tracer)
        return var

    def get_var(self, tracer):
        return self.tracer_to_var[id(tracer)]

    def add_const(self, tracer, val):
        var = self.new_var(tracer)
        # an array is copied as traced (as JAX does): later changes to the
        # caller's array do not change what the jaxpr computes
        self.constvals[var] = val.copy() if isinstance(val, np.ndarray) else val
        self.const_tracers[id(val)] = tracer
        self.keepalive.append(val)

    def build(self, in_tracers, out_tracers):
        invars = [self.get_var(t) for t in in_tracers]
        outvars = [self.get_var(t) for t in out_tracers]
        literals = {v: Literal(val, v.aval) for v, val in self.constvals.items()
                    if _is_literal(val)}
        constvars = [v for v in self.constvals if v not in literals]
        consts = [self.constvals[v] for v in constvars]

        def sub(v):
            return literals.get(v, v)
        eqns = [JaxprEqn(e.primitive, map(sub, e.invars), e.params, e.outvars,
                         e.source_info) for e in self.eqns]
        outvars = [sub(v) for v in outvars]
        jaxpr = Jaxpr(constvars, invars, eqns, outvars)
        return jaxpr, consts


class DynamicJaxprTrace(Trace):
    builder = property(lambda self: self.main.global_data)

    def new_arg(self, aval):
        tracer = DynamicJaxprTracer(self, aval)
        self.builder.new_var(tracer)
        return tracer

    def pure(self, val):
        tracer = self.builder.const_tracers.get(id(val))
        if tracer is None:
            tracer = DynamicJaxprTracer(self, get_aval(val))
            self.builder.add_const(tracer, val)
        return tracer

    lift = pure

    def process_primitive(self, prim, tracers, params):
        avals_out = abstract_eval(prim, [t.aval for t in tracers], params)
        outs = [DynamicJaxprTracer(self, a) for a in avals_out]
        b = self.builder
        b.eqns.append(JaxprEqn(prim, [b.get_var(t) for t in tracers], params,
                               [b.new_var(t) for t in outs], user_source_line()))
        return outs if prim.multiple_results else outs[0]


def trace_to_jaxpr(f, in_avals):
    """Stage ``f`` (flat list of arrays -> flat list of arrays) into a
    ClosedJaxpr over inputs of the given avals."""
    builder = JaxprBuilder()
    with core.new_main(DynamicJaxprTrace, builder) as main:
        with core.new_dynamic(main):
            trace = DynamicJaxprTrace(main)
            tracers_in = [trace.new_arg(a) for a in in_avals]
            outs = f(*tracers_in)
            tracers_out = [core.full_raise(trace, o) for o in outs]
            jaxpr, consts = builder.build(tracers_in, tracers_out)
    return ClosedJaxpr(jaxpr, consts)


# ----------------------------------------------------------------------------
# Partial evaluation: known values are computed now, unknown ones staged

class PartialVal:
    """Either a known value (``const``) or an unknown of type ``aval``."""
    __slots__ = ("aval", "const")

    def __init__(self, aval, const):
        self.aval = aval
        self.const = const

    @classmethod
    def known(cls, val):
        return cls(get_aval(val), val)

    @classmethod
    def unknown(cls, aval):
        return cls(aval, None)

    is_known = property(lambda self: self.const is not None)


class _LambdaBinding:
    pass


class _ConstRecipe:
    __slots__ = ("val",)

    def __init__(self, val):
        self.val = val


class _EqnRecipe:
    __slots__ = ("prim", "tracers_in", "params", "avals_out", "tracers_out", "source_info")

    def __init__(self, prim, tracers_in, params, avals_out, tracers_out, source_info):
        self.prim, self.tracers_in, self.params = prim, tracers_in, params
        self.avals_out, self.tracers_out = avals_out, tracers_out
        self.source_info = source_info


class PartialEvalTracer(Tracer):
    __slots__ = ("pval", "recipe", "__weakref__")

    def __init__(self, trace, pval, recipe):
        self._trace = trace
        self.pval = pval
        self.recipe = recipe

    def get_aval(self):
        return self.pval.aval

    def full_lower(self):
        if self.pval.is_known:
            return core.full_lower(self.pval.const)
        return self

    def concrete_value(self):
        if not self.pval.is_known:
            return None
        c = self.pval.const
        return c.concrete_value() if isinstance(c, Tracer) else c


class PartialEvalTrace(Trace):
    def new_arg(self, pval):
        return PartialEvalTracer(self, pval, _LambdaBinding())

    def pure(self, val):
        return PartialEvalTracer(self, PartialVal.known(val), None)

    lift = pure

    def instantiate_const(self, tracer):
        if tracer.pval.is_known:
            val = tracer.pval.const
            return PartialEvalTracer(self, PartialVal.unknown(get_aval(val)),
                                     _ConstRecipe(val))
        return tracer

    def process_primitive(self, prim, tracers, params):
        if all(t.pval.is_known for t in tracers):
            return prim.bind(*(t.pval.const for t in tracers), **params)
        if prim.partial_eval is not None:
            return prim.partial_eval(self, tracers, **params)
        tracers_in = [self.instantiate_const(t) for t in tracers]
        avals_out = abstract_eval(prim, [t.aval for t in tracers_in], params)
        outs = self.stage(prim, tracers_in, params, avals_out)
        return outs if prim.multiple_results else outs[0]

    def stage(self, prim, tracers_in, params, avals_out, source_info=None):
        """Unknown output tracers of an equation ``prim(*tracers_in)`` staged
        into the jaxpr being built (``tracers_in`` all unknown)."""
        outs = [PartialEvalTracer(self, PartialVal.unknown(a), None) for a in avals_out]
        recipe = _EqnRecipe(prim, tracers_in, params, avals_out, [weakref.ref(t) for t in outs],
                            user_source_line() if source_info is None else source_info)
        for t in outs:
            t.recipe = recipe
        return outs

    def merge(self, known, staged, unknowns):
        """Outputs in order: the next of ``staged`` where ``unknowns`` says,
        else the next of ``known`` (as known tracers)."""
        known, staged = iter(known), iter(staged)
        return [next(staged) if u else self.pure(next(known)) for u in unknowns]


def partial_eval_flat(f, pvals_in):
    """Run ``f`` on partially known inputs. Returns ``(jaxpr, pvals_out,
    consts)``: the jaxpr takes ``consts`` (residuals) then the unknown inputs,
    and computes the unknown outputs."""
    with core.new_main(PartialEvalTrace) as main:
        trace = PartialEvalTrace(main)
        tracers_in = [trace.new_arg(pv) for pv in pvals_in]
        outs = f(*tracers_in)
        tracers_out = [core.full_raise(trace, o) for o in outs]
        pvals_out = [t.pval for t in tracers_out]
        unk_in = [t for t, pv in zip(tracers_in, pvals_in) if not pv.is_known]
        unk_out = [t for t in tracers_out if not t.pval.is_known]
        jaxpr, consts = tracers_to_jaxpr(unk_in, unk_out)
    return jaxpr, pvals_out, consts


def _toposort(out_nodes, parents):
    seen, order = set(), []
    stack = [(n, False) for n in out_nodes]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in parents(node) if id(p) not in seen)
    return order


def _tracer_parents(t):
    return t.recipe.tracers_in if isinstance(t.recipe, _EqnRecipe) else []


def tracers_to_jaxpr(tracers_in, tracers_out):
    """Build a jaxpr from the recipes of partial-eval tracers."""
    tracer_to_var = {id(t): Var(t.aval) for t in tracers_in}
    constvar_to_val = {}
    constid_to_var = {}
    processed = set()
    eqns = []
    for t in _toposort(tracers_out, _tracer_parents):
        r = t.recipe
        if isinstance(r, _LambdaBinding):
            if id(t) not in tracer_to_var:
                raise core.UnexpectedTracerError("an input of a staged function escaped")
        elif isinstance(r, _ConstRecipe):
            var = constid_to_var.get(id(r.val))
            if var is None:
                var = constid_to_var[id(r.val)] = Var(get_aval(r.val))
                constvar_to_val[var] = r.val
            tracer_to_var[id(t)] = var
        elif isinstance(r, _EqnRecipe):
            if id(r) not in processed:
                processed.add(id(r))
                outvars = [Var(a) for a in r.avals_out]
                for ref, v in zip(r.tracers_out, outvars):
                    out = ref()
                    if out is not None:
                        tracer_to_var[id(out)] = v
                eqns.append(JaxprEqn(r.prim, [tracer_to_var[id(x)] for x in r.tracers_in],
                                     r.params, outvars, r.source_info))
        else:
            raise AssertionError(r)
    constvars = list(constvar_to_val)
    consts = [constvar_to_val[v] for v in constvars]
    literals = {v: Literal(c, v.aval) for v, c in zip(constvars, consts) if _is_literal(c)}
    constvars = [v for v in constvars if v not in literals]
    consts = [constvar_to_val[v] for v in constvars]
    sub = lambda v: literals.get(v, v)
    eqns = [JaxprEqn(e.primitive, map(sub, e.invars), e.params, e.outvars, e.source_info)
            for e in eqns]
    jaxpr = Jaxpr(constvars, [tracer_to_var[id(t)] for t in tracers_in], eqns,
                  [sub(tracer_to_var[id(t)]) for t in tracers_out])
    return jaxpr, consts
