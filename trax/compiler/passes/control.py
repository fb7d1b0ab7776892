"""Control flow (``cond``, ``while``, ``scan``) before code generation.

Each sub-jaxpr of a control-flow equation compiles to a native entry of its
own (see lower/control.py), which takes every value it reads as an argument:
:func:`hoist` simplifies the sub-jaxprs (recursively, so nested control flow
is hoisted too) and turns their constants into operands of the equation,
read from constants of the enclosing jaxpr (JAX's closure conversion). After
it every sub-jaxpr is a ``ClosedJaxpr`` without constants.

:data:`SUB_JAXPRS` names, per primitive, the params holding sub-jaxprs; this
module needs no LLVM (the driver walks sub-jaxprs on disk-cache hits too).
"""
from trax.core import ClosedJaxpr, Jaxpr, JaxprEqn, Var

# primitive -> the params holding its sub-jaxprs (a ClosedJaxpr or a tuple of them)
SUB_JAXPRS = {"cond": ("branches",), "while": ("cond_jaxpr", "body_jaxpr"),
              "scan": ("jaxpr",)}


def sub_jaxprs(eqn):
    """The ClosedJaxprs that ``eqn`` runs (none for other primitives)."""
    out = []
    for p in SUB_JAXPRS.get(eqn.primitive.name, ()):
        v = eqn.params[p]
        out.extend(v if isinstance(v, tuple) else [v])
    return out


def hoist(jaxpr, consts, simplify):
    """``(jaxpr, consts)`` where every control-flow equation's sub-jaxprs are
    simplified (by ``simplify``, ClosedJaxpr -> ClosedJaxpr) and take their
    constants as operands, which become constants of ``jaxpr``."""
    if not any(e.primitive.name in SUB_JAXPRS for e in jaxpr.eqns):
        return jaxpr, list(consts)
    constvars, constvals, eqns = list(jaxpr.constvars), list(consts), []

    def operands(closed):
        """New constants of ``jaxpr`` holding the constants of ``closed``."""
        vs = [Var(v.aval) for v in closed.jaxpr.constvars]
        constvars.extend(vs)
        constvals.extend(closed.consts)
        return vs

    for e in jaxpr.eqns:
        rule = _RULES.get(e.primitive.name)
        if rule is None:
            eqns.append(e)
            continue
        invars, params = rule(e, simplify, operands)
        eqns.append(JaxprEqn(e.primitive, invars, params, e.outvars, e.source_info))
    return Jaxpr(constvars, jaxpr.invars, eqns, jaxpr.outvars), constvals


def _opened(closed, before=(), after=()):
    """``closed`` without constants: its inputs are unused ones of avals
    ``before``, its constants, unused ones of avals ``after``, its inputs."""
    j = closed.jaxpr
    invars = [Var(a) for a in before] + j.constvars + [Var(a) for a in after] + j.invars
    return ClosedJaxpr(Jaxpr([], invars, j.eqns, j.outvars), [])


def _cond(e, simplify, operands):
    opt = [simplify(b) for b in e.params["branches"]]
    avals = [[v.aval for v in b.jaxpr.constvars] for b in opt]
    branches = tuple(_opened(b, sum(avals[:k], []), sum(avals[k + 1:], []))
                     for k, b in enumerate(opt))
    index, *ops = e.invars
    hoisted = [v for b in opt for v in operands(b)]
    return [index, *hoisted, *ops], dict(e.params, branches=branches)


def _while(e, simplify, operands):
    p = e.params
    cond, body = simplify(p["cond_jaxpr"]), simplify(p["body_jaxpr"])
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    ins = e.invars
    invars = [*operands(cond), *ins[:nc], *operands(body), *ins[nc:]]
    return invars, dict(p, cond_jaxpr=_opened(cond), body_jaxpr=_opened(body),
                        cond_nconsts=nc + len(cond.consts), body_nconsts=nb + len(body.consts))


def _scan(e, simplify, operands):
    p = e.params
    body = simplify(p["jaxpr"])
    params = dict(p, jaxpr=_opened(body), num_consts=p["num_consts"] + len(body.consts))
    if p.get("linear") is not None:
        params["linear"] = (False,) * len(body.consts) + tuple(p["linear"])
    return [*operands(body), *e.invars], params


_RULES = {"cond": _cond, "while": _while, "scan": _scan}
