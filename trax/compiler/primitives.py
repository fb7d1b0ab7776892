"""Every primitive's compiler facts, in one table.

``FACTS[name]`` says how the compiler treats primitive ``name``:

* ``lowering``: which emitter computes it --
  ``ELEMENTWISE``: one element from its operands' elements at the same index
  (``lower/scalar.py``, fused by ``lower/elemental.py``);
  ``REMAP``: a pure index remapping (``lower/elemental.py``);
  ``ELEMENTAL``: another fusible rule reading operands at computed indices
  (``lower/elemental.py``);
  ``KERNEL``: a loop nest of its own (``lower/kernels.py`` and the rule
  modules it imports);
  ``INLINE``: a call whose sub-jaxpr ``passes/simplify.py`` inlines.
* ``cost``: what computing one element costs, which decides fusion --
  ``"index"``: index arithmetic only (recomputed in every consumer);
  ``"cheap"``: about one instruction (recomputed in each consumer of a big
  array, see ``plan/fusion.py``); ``"arith"``: more than that;
  ``"math"``: a function of ``math/functions.py`` (counted to decide whether
  a module calls the math library, ``math/mathlib.py``); ``"loop"``: a kernel.
* ``lane_safe``: its rule computes on vectors lane by lane as on scalars, so
  ``lower/vectorize.py`` may emit it in vector form.
* ``row_wise``: a reduction that ``plan/rows.py`` may run row by row.

``NOT_LOWERED`` names the primitives ``jit`` cannot compile, with why. To add
a primitive to the compiler: give it a row here and an emitter where its
``lowering`` says; ``tests/test_primitive_facts.py`` checks that every
registered primitive has one or the other, and that the registries agree.
"""
from typing import NamedTuple

ELEMENTWISE, REMAP, ELEMENTAL, KERNEL, INLINE = (
    "elementwise", "remap", "elemental", "kernel", "inline")


class Facts(NamedTuple):
    lowering: str
    cost: str = "arith"
    lane_safe: bool = False
    row_wise: bool = False


def _rows(names, **facts):
    return {name: Facts(**facts) for name in names.split()}


FACTS = {
    # (integer_pow is lane safe for exponents >= 1 only, see lower/vectorize.py)
    **_rows("add sub mul div max min neg abs integer_pow",
            lowering=ELEMENTWISE, cost="cheap", lane_safe=True),
    **_rows("select_n eq ne lt le gt ge and or not convert_element_type",
            lowering=ELEMENTWISE, cost="cheap"),
    **_rows("sqrt floor ceil round stop_gradient", lowering=ELEMENTWISE, lane_safe=True),
    **_rows("xor sign rsqrt is_finite rem clamp nextafter shift_left "
            "shift_right_arithmetic shift_right_logical", lowering=ELEMENTWISE),
    **_rows("exp exp2 log log1p expm1 cbrt sin cos tan asin acos atan sinh cosh tanh "
            "asinh acosh atanh logistic erf erf_inv pow atan2",
            lowering=ELEMENTWISE, cost="math", lane_safe=True),
    **_rows("iota reshape squeeze expand_dims broadcast_in_dim transpose slice rev",
            lowering=REMAP, cost="index"),
    **_rows("pad concatenate dynamic_slice dynamic_update_slice gather", lowering=ELEMENTAL),
    **_rows("reduce_sum reduce_prod reduce_max reduce_min reduce_and reduce_or",
            lowering=KERNEL, cost="loop", row_wise=True),
    **_rows("argmax argmin cumsum cumprod cummax cummin dot_general dot_general_update "
            "scatter scatter_add scatter_mul scatter_min scatter_max sort",
            lowering=KERNEL, cost="loop"),
    # control flow: native branches and loops calling their sub-jaxprs' entries
    # (lower/control.py; their constants hoisted by passes/control.py)
    **_rows("cond while scan", lowering=KERNEL, cost="loop"),
    **_rows("pjit custom_jvp_call custom_vjp_call checkpoint", lowering=INLINE),
}

NOT_LOWERED = {
    "custom_lin": "it is the forward mode (jvp, jacfwd, linearize) of a custom_vjp "
                  "function, which has no rule eagerly either: use custom_jvp, or "
                  "reverse mode (grad, vjp, jacrev)",
}


def names(**facts):
    """The primitives whose facts have the given values, e.g.
    ``names(cost="math")``."""
    return frozenset(n for n, f in FACTS.items()
                     if all(getattr(f, k) == v for k, v in facts.items()))


def check(registered):
    """Raise if the table names a primitive that is not in ``registered``
    (names of the primitives that exist)."""
    stale = sorted((set(FACTS) | set(NOT_LOWERED)) - set(registered))
    if stale:
        raise AssertionError(f"trax.compiler.primitives names primitives that do not "
                             f"exist: {stale}")
    both = sorted(set(FACTS) & set(NOT_LOWERED))
    if both:
        raise AssertionError(f"trax.compiler.primitives: {both} both lower and do not")
