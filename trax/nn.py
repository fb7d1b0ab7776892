"""Neural-network functions (activations, softmax, logsumexp, one_hot,
standardize), written with trax.numpy so they trace, differentiate and
compile like any user code.

``one_hot`` defaults to float64, following trax's numpy-style defaults
(JAX's default is float32).
"""
import math

from trax import lax
from trax import numpy as jnp
from trax.numpy.promotion import promote_dtypes_inexact


def _float(x):
    return promote_dtypes_inexact(x)[0]


def relu(x):
    """``max(x, 0)`` (gradient 0 at 0; nan stays nan)."""
    x = jnp.asarray(x)
    return jnp.where(x <= 0, jnp.zeros((), x.dtype), x)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return jnp.minimum(relu(x), 6)


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``."""
    return lax.logistic(_float(x))


def log_sigmoid(x):
    """``log(sigmoid(x))``, stable for large ``|x|``."""
    return -softplus(-_float(x))


def softplus(x):
    """``log(1 + exp(x))``, stable for large ``|x|``."""
    return jnp.logaddexp(_float(x), 0.0)


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    x = _float(x)
    return x * sigmoid(x)


swish = silu


def gelu(x, approximate=True):
    """The Gaussian error linear unit: the tanh approximation by default
    (as in JAX), ``x * Phi(x)`` with erf when ``approximate=False``."""
    x = _float(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + jnp.tanh(c * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + lax.erf(x * (1 / math.sqrt(2))))


def elu(x, alpha=1.0):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    x = _float(x)
    safe = jnp.where(x > 0, 0.0, x)     # keeps exp from overflowing the unused branch
    return jnp.where(x > 0, x, alpha * jnp.expm1(safe))


def celu(x, alpha=1.0):
    """Continuously differentiable elu: ``max(x, 0) + min(0, alpha * expm1(x / alpha))``."""
    x = _float(x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, 0.0, x) / alpha))


def selu(x):
    """Scaled elu with the self-normalizing constants."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(x, alpha)


def leaky_relu(x, negative_slope=0.01):
    """``x`` for x >= 0, ``negative_slope * x`` otherwise."""
    x = _float(x)
    return jnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    """``x`` clipped to [-1, 1]."""
    return jnp.clip(_float(x), -1.0, 1.0)


def _shifted(x, axis):
    """``x - max(x)`` along ``axis`` (the max held constant for gradients,
    which does not change them: softmax is shift-invariant)."""
    m = lax.stop_gradient(jnp.max(x, axis, keepdims=True))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    return x - m, m


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, computed stably."""
    unnormalized = jnp.exp(_shifted(_float(x), axis)[0])
    return unnormalized / jnp.sum(unnormalized, axis, keepdims=True)


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably."""
    shifted = _shifted(_float(x), axis)[0]
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis, keepdims=True))


def logsumexp(a, axis=None, keepdims=False):
    """``log(sum(exp(a)))`` over ``axis``, computed stably."""
    shifted, m = _shifted(_float(a), axis)
    out = jnp.log(jnp.sum(jnp.exp(shifted), axis, keepdims=True)) + m
    if keepdims:
        return out
    return jnp.squeeze(out, axis) if axis is not None else jnp.reshape(out, ())


def one_hot(x, num_classes, dtype=jnp.float64, axis=-1):
    """``x``'s integers as one-hot vectors of length ``num_classes`` along
    a new ``axis`` (out-of-range values give all zeros)."""
    x = jnp.asarray(x)
    hot = jnp.expand_dims(x, -1) == jnp.arange(num_classes)
    return jnp.moveaxis(hot, -1, axis).astype(dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis`` (mean and
    variance computed from ``x`` when not given)."""
    x = _float(x)
    if mean is None:
        mean = jnp.mean(x, axis, keepdims=True)
    if variance is None:
        variance = jnp.mean(jnp.square(x), axis, keepdims=True) - jnp.square(mean)
    return (x - mean) * lax.rsqrt(variance + epsilon)
