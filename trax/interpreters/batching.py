"""vmap: run a function on a batch by carrying a batch dimension.

A BatchTracer holds a value and which of its axes is the batch axis (or
``None`` when the value is the same for every batch member). Each primitive
has a ``batch`` rule ``(vals, dims, **params) -> (outs, out_dims)`` that
computes the whole batch at once, moving the batch axis only when it must.
"""
from trax import core
from trax.core import Trace, Tracer, ShapedArray, get_aval

not_mapped = None


class BatchTracer(Tracer):
    __slots__ = ("val", "batch_dim")

    def __init__(self, trace, val, batch_dim):
        self._trace = trace
        self.val = val
        self.batch_dim = batch_dim

    def get_aval(self):
        aval = get_aval(self.val)
        if self.batch_dim is not_mapped:
            return aval
        shape = list(aval.shape)
        del shape[self.batch_dim]
        return ShapedArray(shape, aval.dtype, aval.weak_type)

    def full_lower(self):
        if self.batch_dim is not_mapped:
            return core.full_lower(self.val)
        return self


class BatchTrace(Trace):
    axis_size = property(lambda self: self.main.global_data)

    def pure(self, val):
        return BatchTracer(self, val, not_mapped)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.batch_dim for t in tracers]
        if all(d is not_mapped for d in dims):
            return prim.bind(*vals, **params)
        if prim.batch is None:
            raise NotImplementedError(f"vmap rule for '{prim.name}' is not implemented")
        outs, out_dims = prim.batch(vals, dims, axis_size=self.axis_size, **params)
        if prim.multiple_results:
            return [BatchTracer(self, o, d) for o, d in zip(outs, out_dims)]
        return BatchTracer(self, outs, out_dims)


def vmap_flat(f, axis_size, in_dims, args):
    """Batch ``f`` over flat ``args`` whose batch axes are ``in_dims``.
    Returns the flat outputs with their batch axes at 0 (or not_mapped)."""
    with core.new_main(BatchTrace, axis_size) as main:
        trace = BatchTrace(main)
        tracers = [BatchTracer(trace, x, d) if d is not not_mapped else x
                   for x, d in zip(args, in_dims)]
        outs = f(*tracers)
        tracers_out = [core.full_raise(trace, o) for o in outs]
        return ([core.full_lower(t.val) for t in tracers_out],
                [t.batch_dim for t in tracers_out])


# ----------------------------------------------------------------------------
# helpers for batching rules

def moveaxis(x, src, dst):
    """Move axis ``src`` of ``x`` to ``dst`` (a transpose, or nothing)."""
    from trax import lax
    nd = get_aval(x).ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return lax.transpose(x, tuple(perm))


def bdim_at_front(x, dim, size):
    """``x`` with its batch axis first, broadcasting it in if not mapped."""
    from trax import lax
    if dim is not_mapped:
        aval = get_aval(x)
        return lax.broadcast_in_dim(x, (size, *aval.shape),
                                    tuple(range(1, aval.ndim + 1)))
    return moveaxis(x, dim, 0)


def vectorized_batcher(prim):
    """Batch rule for elementwise primitives, whose operands have one shape
    or are rank-0: line up the batch axes, broadcasting where needed."""
    def rule(vals, dims, axis_size, **params):
        from trax import lax
        shapes = [_unbatched_shape(v, d) for v, d in zip(vals, dims)]
        full = max(shapes, key=len)
        mapped = {d for d in dims if d is not not_mapped}
        if len(mapped) == 1 and all(s == full if d is not not_mapped else s == ()
                                    for s, d in zip(shapes, dims)):
            return prim.bind(*vals, **params), mapped.pop()
        out = []
        for v, d, s in zip(vals, dims, shapes):
            if d is not_mapped:
                out.append(v if s == () else bdim_at_front(v, d, axis_size))
            elif s == full:
                out.append(moveaxis(v, d, 0))
            else:   # a batched scalar meeting arrays
                out.append(lax.broadcast_in_dim(v, (axis_size, *full), (0,)))
        return prim.bind(*out, **params), 0
    return rule


def _unbatched_shape(v, d):
    shape = list(get_aval(v).shape)
    if d is not not_mapped:
        del shape[d]
    return tuple(shape)
