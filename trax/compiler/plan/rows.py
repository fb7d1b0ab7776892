"""Row fusion: consecutive kernels that work row by row share one row loop.

Softmax, layer norm and their gradients are chains of kernels over arrays
``[R, ...]``: reductions over trailing axes (``[R, C] -> [R]``) and
elementwise kernels whose operands are read at the same leading index
(through broadcasts ``[R] -> [R, C]``, reshapes ``[R] <-> [R, 1]``...).
Run one after the other, every kernel streams whole arrays through memory.
Grouped, they become

    for r in range(R):
        kernel 1 on row r      # e.g. m = max(x[r, :])
        kernel 2 on row r      # e[r, :] = exp(x[r, :] - m)
        ...

so a row of each intermediate (a few KB) stays in L1 and an intermediate
read only inside the group lives in a *row buffer* of one row instead of a
whole array in memory.

A kernel joins the current group when it is an elementwise kernel or a
reduction over trailing axes whose output has the group's leading size R,
and every value it reads that an earlier kernel of the group produced is read
at row ``r`` only (:func:`groups` checks this through the fused producers).
"""
from trax.core import Literal, Var
from trax.compiler import primitives
from trax.compiler.lower import elemental, kernels, scalar

_ROW, _ANY = "row", "any"       # how a value is indexed: at row r only, or anywhere
_REDUCTIONS = primitives.names(row_wise=True)
_RESHAPES = {"reshape", "squeeze", "expand_dims"}


def _rows(eqn):
    """The leading size R if ``eqn``'s kernel can run row by row, else None."""
    name = eqn.primitive.name
    if eqn.primitive.multiple_results:
        return None
    out = eqn.outvars[0].aval
    if len(out.shape) < 1 or out.shape[0] < 2 or out.size == 0:
        return None
    if name in _REDUCTIONS:
        x = eqn.invars[0].aval
        axes = tuple(sorted(eqn.params["axes"]))
        nd = len(x.shape)
        if not axes or 0 in axes or axes != tuple(range(nd - len(axes), nd)):
            return None
        return out.shape[0]
    if name in kernels.rules() or name not in elemental.RULES:
        return None
    return out.shape[0]


def _operand_modes(eqn, mode, R):
    """How ``eqn``'s rule indexes each operand when its output is indexed
    with ``mode``."""
    xs = eqn.invars
    if mode == _ANY:
        return [_ANY] * len(xs)
    name = eqn.primitive.name
    out = eqn.outvars[0].aval

    def row(v):
        return not isinstance(v, Literal) and len(v.aval.shape) >= 1 and v.aval.shape[0] == R

    if name in scalar.EMITTERS:
        return [_ROW if (row(v) and v.aval.shape == out.shape) else _ANY for v in xs]
    if name in _RESHAPES:
        return [_ROW if row(xs[0]) else _ANY]
    if name == "broadcast_in_dim":
        x = xs[0]
        if x.aval.size == 1:
            return [_ANY]
        if x.aval.size == out.size:
            return [_ROW if row(x) else _ANY]
        bd = eqn.params["broadcast_dimensions"]
        return [_ROW if (row(x) and bd and bd[0] == 0) else _ANY]
    if name == "transpose":
        return [_ROW if eqn.params["permutation"][0] == 0 else _ANY]
    return [_ANY] * len(xs)


def _reads_ok(root, plan, produced, R, streamed):
    """Does the kernel of ``root`` read every value in ``produced`` at row r
    only? Adds to ``streamed`` the other arrays it reads at row r."""
    name = root.primitive.name
    out = root.outvars[0].aval
    if name in _REDUCTIONS:
        start = [(root.invars[0], _ROW)]
    else:
        start = list(zip(root.invars, _operand_modes(root, _ROW, R)))
    stack, seen = start, set()
    while stack:
        v, mode = stack.pop()
        if not isinstance(v, Var) or (v, mode) in seen:
            continue
        seen.add((v, mode))
        eqn = plan.inlined.get(v)
        if eqn is None:
            if v in produced and mode != _ROW:
                return False
            if mode == _ROW and v not in produced:
                streamed[v] = None
            continue
        stack.extend(zip(eqn.invars, _operand_modes(eqn, mode, R)))
    return out.shape[0] == R


class Group:
    """Consecutive kernels run row by row (``rows`` is None for a kernel
    emitted on its own); ``streamed``: the arrays made before the group that
    it reads row by row (the row loop prefetches their next rows)."""

    def __init__(self, rows, eqns, streamed=()):
        self.rows = rows
        self.eqns = eqns
        self.streamed = [v for v in streamed if v.aval.shape[0] == rows] if rows else []


def groups(plan):
    """Split ``plan.roots`` into a list of :class:`Group`."""
    out = []
    cur_r, cur, produced, streamed = None, [], set(), {}

    def close():
        if cur_r is not None and len(cur) > 1:
            out.append(Group(cur_r, list(cur), list(streamed)))
        else:
            out.extend(Group(None, [e]) for e in cur)

    for e in plan.roots:
        R = _rows(e)
        seen = {}
        if R is not None and R == cur_r and _reads_ok(e, plan, produced, R, seen):
            cur.append(e)
            produced.update(e.outvars)
            streamed.update(seen)
            continue
        close()
        cur_r, cur, produced, streamed = R, [e], set(e.outvars), {}
        if R is not None:
            _reads_ok(e, plan, produced, R, streamed)
    close()
    return out
