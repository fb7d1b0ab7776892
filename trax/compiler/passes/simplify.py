"""Jaxpr simplification before code generation.

:func:`simplify` runs, in order:

* ``inline_calls`` -- calls of sub-jaxprs (``pjit``, custom_jvp/vjp calls,
  whose derivative rules no longer matter) are replaced by their
  equations (with fresh variables), their constants joining the outer ones;
* ``control.hoist`` -- the sub-jaxprs of ``cond``, ``while`` and ``scan``
  are simplified, and their constants become operands (see control.py);
* ``rewrite`` -- one forward sweep that folds constants (an equation whose
  inputs are all literals or small constants is evaluated now; rank-0 results
  become literals), applies algebraic identities (``x*1``, ``x+0`` for
  integers, ``x-0``, ``neg (neg x)``, same-dtype converts, identity reshapes,
  ...) and common-subexpression elimination;
* ``transposed_dots`` -- ``transpose(dot_general(a, b))`` that swaps the
  free axes becomes ``dot_general(b, a)`` (gradients of matmuls are full of
  them), saving a pass over memory;
* ``dce`` -- drops equations whose outputs are unused, and unused constants;
* ``gemm_update.fold`` -- ``q + alpha * (a @ b)`` becomes one BLAS product
  accumulating into a copy of q.

All rewrites but the last are exact: none changes a result bit (``x + 0.0``
is kept for floats since it maps -0.0 to +0.0). The last changes how the
product is rounded (see gemm_update.py).
"""
import numpy as np

from trax.compiler import primitives
from trax.compiler.passes import control, gemm_update
from trax.core import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var

FOLD_LIMIT = 64                 # fold equations whose operands are this small
INLINE = primitives.names(lowering=primitives.INLINE)
_NO_FOLD = INLINE | set(primitives.NOT_LOWERED)


def simplify(closed):
    """The optimized :class:`ClosedJaxpr` (same inputs and outputs)."""
    jaxpr, consts = inline_calls(closed.jaxpr, closed.consts)
    jaxpr, consts = control.hoist(jaxpr, consts, simplify)
    jaxpr, consts = rewrite(jaxpr, consts)
    jaxpr = transposed_dots(jaxpr)
    jaxpr, consts = dce(jaxpr, consts)
    return ClosedJaxpr(gemm_update.fold(jaxpr), consts)


# ---------------------------------------------------------------- inlining

def _call_jaxpr(eqn):
    if eqn.primitive.name not in INLINE:
        return None
    cj = eqn.params.get("jaxpr", eqn.params.get("call_jaxpr"))
    if isinstance(cj, Jaxpr):
        cj = ClosedJaxpr(cj, [])
    return cj if isinstance(cj, ClosedJaxpr) else None


def inline_calls(jaxpr, consts):
    """``jaxpr`` with every call of a sub-jaxpr replaced by its body."""
    if not any(_call_jaxpr(e) for e in jaxpr.eqns):
        return jaxpr, list(consts)
    constvars, constvals, eqns = list(jaxpr.constvars), list(consts), []

    def splice(inner, inner_consts, args, env):
        env = dict(env)
        for v, c in zip(inner.constvars, inner_consts):
            nv = Var(v.aval)
            constvars.append(nv)
            constvals.append(c)
            env[v] = nv
        env.update(zip(inner.invars, args))
        sub = lambda a: env.get(a, a) if isinstance(a, Var) else a
        for e in inner.eqns:
            ins = [sub(a) for a in e.invars]
            cj = _call_jaxpr(e)
            if cj is not None:
                outs = splice(cj.jaxpr, cj.consts, ins, {})
                env.update(zip(e.outvars, outs))
                continue
            outs = [Var(v.aval) for v in e.outvars]
            env.update(zip(e.outvars, outs))
            eqns.append(JaxprEqn(e.primitive, ins, e.params, outs, e.source_info))
        return [sub(a) for a in inner.outvars]

    env = {v: v for v in jaxpr.invars + jaxpr.constvars}
    outs = splice(Jaxpr([], jaxpr.invars, jaxpr.eqns, jaxpr.outvars), [],
                  jaxpr.invars, env)
    return Jaxpr(constvars, jaxpr.invars, eqns, outs), constvals


# ---------------------------------------------------------------- rewriting

def _freeze(x):
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(y) for y in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    return x


def _atom_key(a):
    if isinstance(a, Literal):
        return ("lit", a.aval.dtype.str, a.val.tobytes())
    return a


def _cse_key(eqn):
    try:
        key = (eqn.primitive, tuple(_atom_key(a) for a in eqn.invars),
               _freeze(eqn.params))
        hash(key)
        return key
    except TypeError:
        return None


def _scalar_value(a, known, producer=None):
    """The value of a rank-0 literal or known constant (or of a broadcast of
    one, when ``producer`` is given), else None."""
    if isinstance(a, Literal):
        return a.val
    e = producer.get(a) if producer is not None else None
    if e is not None and e.primitive.name == "broadcast_in_dim" and e.invars[0].aval.shape == ():
        return _scalar_value(e.invars[0], known)
    val = known.get(a)
    return val if val is not None and val.shape == () else None


def _is(a, known, value, producer=None):
    v = _scalar_value(a, known, producer)
    return v is not None and v.dtype != np.bool_ and v == value


def _same_type(a, out):
    return a.aval.shape == out.aval.shape and a.aval.dtype == out.aval.dtype


def _identity(eqn, known, producer):
    """An atom equal to ``eqn``'s single output, or None."""
    name, ins, out, p = eqn.primitive.name, eqn.invars, eqn.outvars[0], eqn.params
    cands = []
    if name in ("mul", "div"):
        cands.append((ins[0], _is(ins[1], known, 1, producer)))
        if name == "mul":
            cands.append((ins[1], _is(ins[0], known, 1, producer)))
    elif name == "add" and out.aval.dtype.kind in "iu":
        cands += [(ins[0], _is(ins[1], known, 0)), (ins[1], _is(ins[0], known, 0))]
    elif name == "sub":
        cands.append((ins[0], _is(ins[1], known, 0)))
    elif name in ("convert_element_type", "reshape", "transpose", "broadcast_in_dim",
                  "stop_gradient", "squeeze", "expand_dims", "rev", "slice"):
        trivial = {"transpose": lambda: tuple(p["permutation"]) == tuple(range(out.aval.ndim)),
                   "rev": lambda: not p["dimensions"],
                   "slice": lambda: all(s == 0 for s in p["start_indices"])
                   and all(st == 1 for st in (p.get("strides") or ()))}.get(name, lambda: True)
        cands.append((ins[0], trivial()))
    elif name == "neg":
        e = producer.get(ins[0])
        if e is not None and e.primitive.name == "neg":
            cands.append((e.invars[0], True))
    elif name == "integer_pow" and p["y"] == 1:
        cands.append((ins[0], True))
    elif name == "select_n":
        which = _scalar_value(ins[0], known)
        if which is not None and int(which) < len(ins) - 1:
            cands.append((ins[1 + int(which)], True))
        if all(c is ins[1] for c in ins[1:]):
            cands.append((ins[1], True))
    for atom, ok in cands:
        if ok and _same_type(atom, out):
            return atom
    return None


def _foldable(eqn, known):
    if eqn.primitive.name in _NO_FOLD or eqn.primitive.impl is None:
        return False
    if any(isinstance(v, (ClosedJaxpr, Jaxpr)) for v in eqn.params.values()):
        return False
    if any(v.aval.size > FOLD_LIMIT for v in eqn.outvars):
        return False
    return all(isinstance(a, Literal) or a in known for a in eqn.invars)


def rewrite(jaxpr, consts):
    """Constant folding, algebraic identities and CSE in one forward sweep."""
    sub, known, producer, seen = {}, {}, {}, {}
    constvars, constvals = [], []
    for v, c in zip(jaxpr.constvars, consts):
        c = np.asarray(c)
        if c.shape == ():
            sub[v] = Literal(c.astype(v.aval.dtype), v.aval)
            continue
        if c.size <= FOLD_LIMIT:
            known[v] = c
        constvars.append(v)
        constvals.append(c)

    def read(a):
        while isinstance(a, Var) and a in sub:
            a = sub[a]
        return a

    eqns = []
    for e in jaxpr.eqns:
        e = JaxprEqn(e.primitive, [read(a) for a in e.invars], e.params, e.outvars,
                     e.source_info)
        if _foldable(e, known):
            vals = e.primitive.impl(*[a.val if isinstance(a, Literal) else known[a]
                                      for a in e.invars], **e.params)
            vals = vals if e.primitive.multiple_results else [vals]
            for v, val in zip(e.outvars, vals):
                val = np.asarray(val).astype(v.aval.dtype)
                if val.shape == ():
                    sub[v] = Literal(val, v.aval)
                else:
                    known[v] = val
                    constvars.append(v)
                    constvals.append(val)
            continue
        if len(e.outvars) == 1:
            same = _identity(e, known, producer)
            if same is not None:
                sub[e.outvars[0]] = same
                continue
        key = _cse_key(e)
        if key is not None and key in seen:
            sub.update(zip(e.outvars, seen[key]))
            continue
        if key is not None:
            seen[key] = e.outvars
        for v in e.outvars:
            producer[v] = e
        eqns.append(e)
    outvars = [read(a) for a in jaxpr.outvars]
    return Jaxpr(constvars, jaxpr.invars, eqns, outvars), constvals


# ---------------------------------------------------------------- transposed products

def transposed_dots(jaxpr):
    """Rewrite ``transpose(dot_general(a, b))`` (no batch axes, the
    permutation puts b's free axes first) into ``dot_general(b, a)``."""
    uses = {}
    for e in jaxpr.eqns:
        for a in e.invars:
            if isinstance(a, Var):
                uses[a] = uses.get(a, 0) + 1
    for a in jaxpr.outvars:
        if isinstance(a, Var):
            uses[a] = uses.get(a, 0) + 1
    producer = {e.outvars[0]: e for e in jaxpr.eqns if e.primitive.name == "dot_general"}
    eqns = []
    for e in jaxpr.eqns:
        dot = producer.get(e.invars[0]) if e.primitive.name == "transpose" else None
        if dot is not None and uses[e.invars[0]] == 1:
            (lc, rc), (lb, rb) = dot.params["dimension_numbers"]
            lhs, rhs = dot.invars
            nl = lhs.aval.ndim - len(lc) - len(lb)
            nr = rhs.aval.ndim - len(rc) - len(rb)
            perm = tuple(range(nl, nl + nr)) + tuple(range(nl))
            if not lb and tuple(e.params["permutation"]) == perm:
                params = dict(dot.params, dimension_numbers=((rc, lc), (rb, lb)))
                e = JaxprEqn(dot.primitive, [rhs, lhs], params, e.outvars, e.source_info)
        eqns.append(e)
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars)


# ---------------------------------------------------------------- dead code

def dce(jaxpr, consts):
    """Drop equations and constants that no output depends on."""
    live = {v for v in jaxpr.outvars if isinstance(v, Var)}
    eqns = []
    for e in reversed(jaxpr.eqns):
        if any(v in live for v in e.outvars):
            eqns.append(e)
            live.update(v for v in e.invars if isinstance(v, Var))
    eqns.reverse()
    kept = [(v, c) for v, c in zip(jaxpr.constvars, consts) if v in live]
    return (Jaxpr([v for v, _ in kept], jaxpr.invars, eqns, jaxpr.outvars),
            [c for _, c in kept])
