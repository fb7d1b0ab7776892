"""Kernel lowering: one rule per non-fusible primitive, plus dispatch.

``KERNELS[name](ctx, eqn)`` emits the loop nest(s) that compute ``eqn``'s
outputs into ``ctx.buffers[outvar]`` (already allocated). Operands are read
with ``ctx.read`` (so producers fuse into the kernel's loop) or, when a rule
needs them in memory, with ``ctx.buffer``. An elemental equation that is a
kernel root is simply stored by a loop over its output.

Rules for families of primitives live in their own modules (reductions,
linalg, ...) and register themselves here with :func:`kernel`.
"""
from trax.compiler import elemental

KERNELS = {}


def kernel(*names):
    def register(fn):
        for n in names:
            KERNELS[n] = fn
        return fn
    return register


def lowerable(name):
    return name in KERNELS or name in elemental.RULES


def emit(ctx, eqn):
    """Emit the kernel rooted at ``eqn``."""
    name = eqn.primitive.name
    rule = KERNELS.get(name)
    if rule is not None:
        return rule(ctx, eqn)
    if name in elemental.RULES and not eqn.primitive.multiple_results:
        out = eqn.outvars[0]
        return ctx.store_loop(out, ctx.buffers[out], eqn)
    raise NotImplementedError(
        f"trax.compiler: no lowering for primitive '{name}' (in jit). "
        f"Compiled code never falls back to numpy; this primitive needs a rule "
        f"in trax/compiler.")


@kernel("custom_lin")
def _custom_vjp_forward_mode(ctx, eqn):
    # forward-mode of a custom_vjp function: refuse as eager evaluation does
    eqn.primitive.impl(*eqn.invars, **eqn.params)
