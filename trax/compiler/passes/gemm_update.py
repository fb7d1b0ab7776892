"""``q + alpha * dot_general(a, b)`` as one product that accumulates into q.

An update such as SGD's ``p - lr * (x.T @ d)`` is otherwise a product
written to a temporary (which OpenBLAS first zeroes) and a pass that reads it
back together with ``p``. :func:`fold` rewrites it into
``dot_general_update[alpha](a, b, q)``, which lower/linalg.py lowers as a copy of
``q`` into the output and one gemm with ``alpha`` and ``beta = 1``.

Only products that go to the BLAS are folded (float32/float64, big enough).
The result is not bit-exact against the unfused form: the BLAS scales its
partial sums by ``alpha`` and adds them to ``q`` block by block, where the
unfused form rounds the whole product first (differences of a few ulp, as
with FMA contraction).
"""
from trax.compiler.runtime.blas import gemm_for
from trax.core import Jaxpr, JaxprEqn, Literal, Var
from trax.lax.helpers import standard_primitive
from trax.lax.linalg import _dot_general_abstract, _dot_general_impl


def _impl(a, b, q, dimension_numbers, preferred_element_type, alpha):
    return q + alpha * _dot_general_impl(a, b, dimension_numbers, preferred_element_type)


def _abstract(a, b, q, dimension_numbers, preferred_element_type, alpha):
    return _dot_general_abstract(a, b, dimension_numbers, preferred_element_type)


dot_general_update_p = standard_primitive("dot_general_update", _impl, _abstract)


def fold(jaxpr):
    """``jaxpr`` with each ``add(q, T)``, ``add(T, q)`` or ``sub(q, T)``
    folded into a dot_general_update, where T is a BLAS-sized product
    ``t = dot_general(a, b)`` or ``mul(c, t)``/``mul(t, c)`` with c a scalar
    literal, q has t's shape and dtype, and nothing else reads t (or T)."""
    uses = {}
    for v in [a for e in jaxpr.eqns for a in e.invars] + list(jaxpr.outvars):
        if isinstance(v, Var):
            uses[v] = uses.get(v, 0) + 1
    producer = {v: e for e in jaxpr.eqns for v in e.outvars}
    folds, dropped = {}, set()
    for e in jaxpr.eqns:
        found = _match(e, producer, uses)
        if found is not None:
            folds[id(e)], parts = found
            dropped.update(map(id, parts))
    if not folds:
        return jaxpr
    eqns = [folds.get(id(e), e) for e in jaxpr.eqns if id(e) not in dropped]
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars)


def _match(e, producer, uses):
    """``(new equation, [equations it replaces])`` or None."""
    name = e.primitive.name
    if name not in ("add", "sub") or len(e.invars) != 2:
        return None
    sides = ((0, 1), (1, 0)) if name == "add" else ((0, 1),)
    for qi, ti in sides:
        q, term = e.invars[qi], e.invars[ti]
        found = _scaled_product(term, producer, uses)
        if found is None:
            continue
        dot, scale, parts = found
        t = dot.outvars[0]
        if (not isinstance(q, Var) or q is t or q.aval.shape != t.aval.shape
                or q.aval.dtype != t.aval.dtype or e.outvars[0].aval.dtype != t.aval.dtype
                or not _blas_sized(dot)):
            continue
        alpha = -scale if name == "sub" else scale
        params = dict(dot.params, alpha=alpha)
        new = JaxprEqn(dot_general_update_p, [*dot.invars, q], params, e.outvars,
                       e.source_info)
        return new, parts
    return None


def _scaled_product(term, producer, uses):
    """``(dot equation, scale, [equations read only through term])`` when
    ``term`` is ``dot_general(...)`` or a scalar literal times one."""
    if not isinstance(term, Var) or uses.get(term) != 1:
        return None
    e = producer.get(term)
    if e is None:
        return None
    if e.primitive.name == "dot_general":
        return e, 1.0, [e]
    if e.primitive.name != "mul":
        return None
    for ci, ti in ((0, 1), (1, 0)):
        c, t = e.invars[ci], e.invars[ti]
        dot = producer.get(t) if isinstance(t, Var) else None
        if (isinstance(c, Literal) and c.aval.shape == () and dot is not None
                and dot.primitive.name == "dot_general" and uses.get(t) == 1):
            return dot, float(c.val), [dot, e]
    return None


def _blas_sized(dot):
    out = dot.outvars[0].aval
    lhs, rhs = dot.invars
    return (dot.params.get("preferred_element_type") in (None, out.dtype)
            and lhs.aval.dtype == rhs.aval.dtype == out.dtype
            and gemm_for(dot) is not None)
