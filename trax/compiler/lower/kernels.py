"""Kernel lowering: one rule per non-fusible primitive, plus dispatch.

``KERNELS[name](ctx, eqn)`` emits the loop nest(s) that compute ``eqn``'s
outputs into ``ctx.buffers[outvar]`` (already allocated). Operands are read
with ``ctx.read`` (so producers fuse into the kernel's loop) or, when a rule
needs them in memory, with ``ctx.buffer``. An elemental equation that is a
kernel root is simply stored by a loop over its output.

Rules for families of primitives live in their own modules (reductions,
linalg, structural, control) and register themselves here with :func:`kernel`.
They are imported by :func:`rules` on first use (a disk-cache hit never
needs them); read the table through it, never ``KERNELS`` directly.
"""
from trax.compiler import primitives
from trax.compiler.lower import elemental

KERNELS = {}


def kernel(*names):
    def register(fn):
        for n in names:
            KERNELS[n] = fn
        return fn
    return register


_RULE_MODULES = ("linalg", "reductions", "structural", "control")
_complete = False


def rules():
    """The complete kernel table ``{primitive name: rule}`` (imports the rule
    modules the first time)."""
    global _complete
    if not _complete:
        import importlib
        for m in _RULE_MODULES:
            importlib.import_module(f"trax.compiler.lower.{m}")
        _complete = True
    return KERNELS


def emit(ctx, eqn):
    """Emit the kernel rooted at ``eqn``."""
    name = eqn.primitive.name
    rule = rules().get(name)
    if rule is not None:
        return rule(ctx, eqn)
    if name in elemental.RULES and not eqn.primitive.multiple_results:
        out = eqn.outvars[0]
        return ctx.store_loop(out, ctx.buffers[out], eqn)
    why = primitives.NOT_LOWERED.get(name)
    if why is not None:
        raise TypeError(f"jit cannot compile '{name}': {why}")
    raise NotImplementedError(
        f"trax.compiler: no lowering for primitive '{name}' (in jit). "
        f"Compiled code never falls back to numpy; this primitive needs a row in "
        f"trax/compiler/primitives.py and a rule where its lowering says.")
