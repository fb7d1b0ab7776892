"""The compiler's table of primitive facts (trax/compiler/primitives.py)
against the primitives that exist and the rules the compiler registers."""
import json

import numpy as np
import pytest
from child import run_python

import trax
from trax.compiler import primitives
from trax.compiler.lower import elemental, kernels, scalar
from trax.compiler.passes import simplify
from trax.compiler.primitives import ELEMENTAL, ELEMENTWISE, FACTS, INLINE, KERNEL, REMAP

_TRAX_PRIMITIVES = """
import json, trax, trax.numpy, trax.nn, trax.compiler
from trax.core import registered_primitives
print(json.dumps(sorted(registered_primitives())))
"""


@pytest.fixture(scope="module")
def trax_primitives(tmp_path_factory):
    """Names of the primitives trax itself creates (in a fresh process, so
    the tests' own primitives are not among them)."""
    return json.loads(run_python(_TRAX_PRIMITIVES, tmp_path_factory.mktemp("cache")))


def test_every_primitive_lowers_or_is_named_with_why(trax_primitives):
    missing = [n for n in trax_primitives if n not in FACTS and n not in primitives.NOT_LOWERED]
    assert not missing, f"primitives with neither compiler facts nor a reason: {missing}"
    assert all(isinstance(why, str) and len(why) > 20 for why in primitives.NOT_LOWERED.values())


def test_table_names_only_existing_primitives(trax_primitives):
    primitives.check(trax_primitives)
    with pytest.raises(AssertionError, match=r"do not exist: \['add'\]"):
        primitives.check(set(trax_primitives) - {"add"})


def test_registries_agree_with_the_table():
    kernel_rules = kernels.rules()
    for name, facts in FACTS.items():
        where = {ELEMENTWISE: name in scalar.EMITTERS,
                 REMAP: name in elemental.RULES and name not in scalar.EMITTERS,
                 ELEMENTAL: name in elemental.RULES and name not in scalar.EMITTERS,
                 KERNEL: name in kernel_rules,
                 INLINE: name in simplify.INLINE}
        assert where[facts.lowering], (name, facts)
        assert not facts.lane_safe or facts.lowering == ELEMENTWISE, name
        assert not facts.row_wise or facts.lowering == KERNEL, name
        assert (facts.cost == "index") == (facts.lowering == REMAP), name
        assert (facts.cost == "loop") == (facts.lowering == KERNEL), name
    for registry in (scalar.EMITTERS, elemental.RULES, kernel_rules):
        stray = set(registry) - set(FACTS)
        assert not stray, f"rules for primitives the table does not know: {stray}"


def test_names_selects_by_facts():
    math = primitives.names(cost="math")
    assert {"exp", "tanh", "atan2"} <= math and "add" not in math
    assert primitives.names(lowering=INLINE) == {"pjit", "custom_jvp_call", "custom_vjp_call",
                                                 "checkpoint"}
    assert "reduce_sum" in primitives.names(row_wise=True)


def test_not_lowered_primitive_raises_its_reason_under_jit():
    @trax.custom_vjp
    def f(x):
        return x * 2.0

    f.defvjp(lambda x: (x * 2.0, None), lambda _, g: (g * 2.0,))
    with pytest.raises(TypeError, match="custom_lin"):
        trax.jit(lambda x: trax.jvp(f, (x,), (x,))[1])(np.float32(1.0))


def test_lax_exports_only_public_names():
    from trax import lax
    from trax.core import Primitive
    helpers = {"aval_of", "batched_axes", "bdim_to", "canonical_mode", "check_axes",
               "deflinear_in", "fill_scalar", "with_batch_coordinate", "standard_primitive"}
    assert not helpers & set(dir(lax))
    for name in dir(lax):
        obj = getattr(lax, name)
        if not name.startswith("_") and callable(obj) and not isinstance(obj, Primitive):
            assert obj.__module__.startswith("trax.lax."), name
