"""Fusion planning: which values live in memory, which are recomputed inline.

Walking the equations backwards, the output of a fusible (elemental, see
:mod:`trax.compiler.lower.elemental`) equation is *inlined* into its consumers'
loop when that costs no extra work:

* it has one consumer, or all its consumers are elementwise ops of its own
  shape in the same kernel (they read it at the same index, and the emitter
  computes it once per index);
* it is cheap to recompute anywhere (iota, reshape, broadcast, transpose...:
  index arithmetic only);
* it is one cheap arithmetic op (add, mul, compare...; a division only by a
  value smaller than its output) with at most one operand as big as its
  output, and at least RECOMPUTE_MIN elements: recomputing it in each
  consumer's loop costs about one instruction per element, materializing it
  a pass that writes it and one read per consumer. Such recomputed ops nest
  at most MAX_RECOMPUTED deep (their other operands are materialized).
  Smaller arrays stay in cache anyway, and the copies would only cost
  compile time;
* it is never inlined into a consumer that reads its elements repeatedly
  (e.g. a broadcast that stretches it) if it does arithmetic.

A chain of more than MAX_DEPTH fused equations is cut (code generation
recurses once per level). Every other value is *materialized*: its equation is the root of a kernel
(one loop nest) that writes it to a buffer. Jaxpr outputs and the outputs of
non-fusible equations (reductions, dot_general, ...) are always materialized.
"""
from collections import defaultdict

from trax.core import Literal, Var
from trax.compiler import primitives
from trax.compiler.lower import elemental, scalar

_MULTI = object()       # "consumed by several kernels"
MAX_DEPTH = 48          # longer chains are split (the emitter recurses per level)
MAX_RECOMPUTED = 3      # chains of ops recomputed in several kernels
RECOMPUTE_MIN = 1 << 18  # elements (1 MiB of float32: beyond L2)


class Plan:
    """``roots``: the kernel-root equations in order; ``inlined``: var -> the
    equation that computes it inside its consumers."""

    def __init__(self, roots, inlined):
        self.roots = roots
        self.inlined = inlined


# Pure index remappings: recomputing them in each consumer costs index
# arithmetic only (their operand is then materialized once).
_REMAPS = primitives.names(cost="index")


def _is_cheap(eqn):
    if eqn.primitive.name in _REMAPS:
        return True
    return eqn.primitive.name == "convert_element_type" and \
        all(isinstance(v, Literal) or v.aval.size <= 1 for v in eqn.invars)


# One instruction or so per element (see _duplicable).
_CHEAP_ARITHMETIC = primitives.names(cost="cheap")


def _small(x, producer):
    """Is ``x`` a literal, a scalar, or a broadcast of a smaller value?"""
    if not isinstance(x, Var) or x.aval.size <= 1:
        return True
    p = producer.get(x)
    return (p is not None and p.primitive.name == "broadcast_in_dim"
            and p.invars[0].aval.size < x.aval.size)


def _duplicable(e, producer):
    """May ``e`` be recomputed inside each of its consumers' kernels?"""
    name = e.primitive.name
    if name not in _CHEAP_ARITHMETIC or e.outvars[0].aval.size < RECOMPUTE_MIN:
        return False
    if name == "div" and not _small(e.invars[1], producer):
        return False
    if name == "integer_pow" and not 0 <= e.params["y"] <= 3:     # (x**-k divides)
        return False
    return sum(not _small(x, producer) for x in e.invars) <= 1


def _same_index_elementwise(consumer, var):
    return consumer.primitive.name in scalar.EMITTERS and \
        consumer.outvars[0].aval.shape == var.aval.shape


def plan(jaxpr):
    """The fusion :class:`Plan` of ``jaxpr``."""
    uses = defaultdict(list)
    producer = {}
    for e in jaxpr.eqns:
        for v in e.invars:
            if isinstance(v, Var):
                uses[v].append(e)
        for v in e.outvars:
            producer[v] = e
    outs = {v for v in jaxpr.outvars if isinstance(v, Var)}
    kernel = {}                     # eqn -> the root eqn of its kernel, or _MULTI
    depth = defaultdict(int)        # eqn -> nesting depth below its kernel's root
    repeated = defaultdict(bool)    # var -> are its elements read repeatedly?
    recomputed = defaultdict(int)   # eqn -> length of its chain of recomputed ops
    inlined, roots = {}, []
    for e in reversed(jaxpr.eqns):
        fusible = (e.primitive.name in elemental.RULES and not e.primitive.multiple_results)
        v = e.outvars[0]
        consumers = uses[v]
        is_root = True
        deep = max((depth[c] for c in consumers), default=0) >= MAX_DEPTH
        if fusible and v not in outs and consumers and not deep:
            ks = {id(kernel[c]) for c in consumers}
            if _is_cheap(e):
                kernel[e] = kernel[consumers[0]] if len(ks) == 1 else _MULTI
                is_root = False
            elif ((len(ks) > 1 or kernel[consumers[0]] is _MULTI) and not repeated[v]
                  and max(recomputed[c] for c in consumers) < MAX_RECOMPUTED
                  and _duplicable(e, producer)):
                kernel[e] = _MULTI
                recomputed[e] = 1 + max(recomputed[c] for c in consumers)
                is_root = False
            elif (len(ks) == 1 and kernel[consumers[0]] is not _MULTI
                  and (len(consumers) == 1
                       or all(_same_index_elementwise(c, v) for c in consumers))
                  and not (repeated[v] and e.primitive.name in scalar.EMITTERS
                           and v.aval.size > 1)):
                kernel[e] = kernel[consumers[0]]
                is_root = False
        if is_root:
            kernel[e] = e
            roots.append(e)
        else:
            inlined[v] = e
            depth[e] = 1 + max(depth[c] for c in consumers)
        for k, x in enumerate(e.invars):
            if isinstance(x, Var):
                repeated[x] |= elemental.reuses(e, k) or (not is_root and repeated[v])
    roots.reverse()
    return Plan(roots, inlined)


def kernel_summary(jaxpr, p):
    """One line per kernel: the root primitive and the primitives fused in."""
    lines = []
    for r in p.roots:
        fused = []
        stack = [x for x in r.invars if isinstance(x, Var)]
        seen = set()
        while stack:
            x = stack.pop()
            e = p.inlined.get(x)
            if e is None or id(e) in seen:
                continue
            seen.add(id(e))
            fused.append(e.primitive.name)
            stack.extend(y for y in e.invars if isinstance(y, Var))
        lines.append(f"{r.primitive.name} <- [{', '.join(reversed(fused))}]")
    return lines
