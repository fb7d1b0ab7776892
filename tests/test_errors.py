"""Bad inputs get clear errors naming the problem, in eager mode and under jit;
big-endian arrays are accepted (converted to native byte order)."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import core, lax
from trax.errors import ConcretizationTypeError, TraxTypeError

# (name, function, arguments, error type, message fragment): each is run
# eagerly and under jit.
BAD = [
    ("zeros overflowing int64", lambda: jnp.zeros((2**40, 2**40)), (),
     TraxTypeError, "more bytes than an int64 can count"),
    ("broadcast to a shape overflowing int64",
     lambda x: lax.broadcast_in_dim(x, (2**32, 2**31), ()), (1.0,),
     TraxTypeError, "(4294967296, 2147483648) of float64 is too big"),
    ("reshape to a size that wraps to 0 in int64",
     lambda x: lax.reshape(x, (2**33, 2**31)), (np.zeros(0),),
     TraxTypeError, "cannot reshape f64[0] (0 elements)"),
    ("Python int too large for int64", lambda x: jnp.add(x, 1), (2**70,),
     OverflowError, "1180591620717411303424"),
    ("list at a primitive", lambda y: lax.add([1], y), (2,),
     TraxTypeError, "list [1] is not a valid trax value"),
    ("None as an array", lambda: jnp.sin(None), (),
     TraxTypeError, "NoneType None is not a valid trax value"),
    ("None as a jit argument", jnp.sin, (None,),
     TraxTypeError, "NoneType None is not a valid trax value"),
]

# The same, for operations that only fail on traced values.
BAD_TRACED = [
    (".item()", lambda x: x.item(), (np.ones(1),),
     ConcretizationTypeError, "static_argnums"),
    (".tolist()", lambda x: x.tolist(), (np.ones(2),),
     ConcretizationTypeError, "trax.numpy.where"),
    ("int()", lambda x: int(x), (1.0,), ConcretizationTypeError, "A concrete value is needed"),
    ("float()", lambda x: float(x), (1.0,), ConcretizationTypeError,
     "A concrete value is needed"),
    ("item assignment", lambda x: x.__setitem__(0, 1.0), (np.ones(2),),
     TypeError, "use x = x.at[idx].set(y)"),
]


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("name,fn,args,error,fragment", BAD, ids=[c[0] for c in BAD])
def test_bad_input_error(mode, name, fn, args, error, fragment):
    f = fn if mode == "eager" else trax.jit(fn)
    with pytest.raises(error) as info:
        f(*args)
    assert fragment in str(info.value)


@pytest.mark.parametrize("transform", ["jit", "make_jaxpr"])
@pytest.mark.parametrize("name,fn,args,error,fragment", BAD_TRACED,
                         ids=[c[0] for c in BAD_TRACED])
def test_traced_value_error(transform, name, fn, args, error, fragment):
    with pytest.raises(error) as info:
        getattr(trax, transform)(fn)(*args)
    assert fragment in str(info.value)


def test_item_and_tolist_of_a_concrete_tracer_work():
    """Under grad of eager code the value is concrete, as for float()."""
    seen = []
    trax.grad(lambda x: (seen.append((x.item(), x.tolist())), x * 2.0)[1])(3.0)
    assert seen == [(3.0, 3.0)]


def test_too_large_int_names_the_jit_argument():
    def f(a, b):
        return a + b
    with pytest.raises(OverflowError, match=r"argument 1 \('b'\) of f .*too large for int64"):
        trax.jit(f)(1, -2**63 - 1)
    with pytest.raises(OverflowError, match=r"argument 'b' of f"):
        trax.jit(f)(1, b=2**63)
    assert trax.jit(f)(1, -2**63 + 1) == -2**63 + 2        # int64's edges are fine


def test_shaped_array_rejects_a_byte_count_beyond_int64():
    core.ShapedArray((2**31, 2**31), np.int8)                 # 2**62 bytes: fine
    with pytest.raises(TraxTypeError, match="too big"):
        core.ShapedArray((2**31, 2**31), np.float32)


BIG_ENDIAN = [np.arange(5, dtype=">f4") / 3, np.arange(6, dtype=">f8").reshape(2, 3) - 2.5,
              np.arange(-3, 3, dtype=">i4"), np.arange(4, dtype=">u2")]


@pytest.mark.parametrize("x", BIG_ENDIAN, ids=lambda x: x.dtype.str)
def test_big_endian_inputs(x):
    native = x.astype(x.dtype.newbyteorder("="))
    want = native * 2 + native.max()

    def f(a):
        return a * 2 + jnp.max(a)
    eager = f(x)
    assert eager.dtype == native.dtype
    np.testing.assert_array_equal(eager, want)
    jitted = trax.jit(f)
    for a in [x, x, native, x, native, x, x]:          # the fast and native paths too
        out = jitted(a)
        assert out.dtype == native.dtype
        np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(trax.jit(lambda: f(x))(), want)        # a constant
    np.testing.assert_array_equal(trax.jit(lambda a: a * 0 + x)(native), native)
    assert jnp.asarray(x).dtype == native.dtype
    np.testing.assert_array_equal(jnp.asarray(x), native)
