"""The benchmark workloads, each written once in trax.numpy and, for
comparison, in NumPy (and JAX when it is installed)."""
import numpy as np


def chain_fn(xp):
    """Workload 1: sum(tanh(x) * exp(-x*x) + sin(x) * 0.5)."""
    def f(x):
        return xp.sum(xp.tanh(x) * xp.exp(-x * x) + xp.sin(x) * 0.5)
    return f


def chain_grad_numpy(x):
    t = np.tanh(x)
    e = np.exp(-x * x)
    return (1 - t * t) * e + t * e * (-2 * x) + np.cos(x) * 0.5


def mlp_params(rng, sizes=(784, 512, 512, 10), dtype=np.float32):
    return [{"w": (rng.normal(size=(m, n)) / np.sqrt(m)).astype(dtype),
             "b": np.zeros(n, dtype)} for m, n in zip(sizes[:-1], sizes[1:])]


def mlp_loss_fn(xp, log_softmax):
    """Workload 2: relu MLP with softmax cross-entropy."""
    def loss(params, x, labels_onehot):
        h = x
        for layer in params[:-1]:
            h = xp.maximum(h @ layer["w"] + layer["b"], 0.0)
        logits = h @ params[-1]["w"] + params[-1]["b"]
        return -xp.mean(xp.sum(log_softmax(logits) * labels_onehot, axis=-1))
    return loss


def mlp_value_and_grad_numpy(params, x, y):
    """Hand-written forward and backward pass of the MLP in NumPy."""
    acts, h = [x], x
    for layer in params[:-1]:
        h = np.maximum(h @ layer["w"] + layer["b"], 0)
        acts.append(h)
    logits = h @ params[-1]["w"] + params[-1]["b"]
    m = logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)) + m
    logp = logits - lse
    n = x.shape[0]
    loss = -(logp * y).sum() / n
    g = (np.exp(logp) - y) / n
    grads = []
    for i in range(len(params) - 1, -1, -1):
        a = acts[i]
        grads.append({"w": a.T @ g, "b": g.sum(0)})
        if i:
            g = (g @ params[i]["w"].T) * (acts[i] > 0)
    return loss, grads[::-1]


def softmax_fn(xp):
    def f(x):
        m = xp.max(x, axis=-1, keepdims=True)
        e = xp.exp(x - m)
        return e / xp.sum(e, axis=-1, keepdims=True)
    return f


def layer_norm_fn(xp):
    def f(x):
        mu = xp.mean(x, axis=-1, keepdims=True)
        var = xp.mean((x - mu) ** 2, axis=-1, keepdims=True)
        return (x - mu) / xp.sqrt(var + 1e-5)
    return f


def tanh_matmul_fn(xp):
    return lambda a, b: xp.tanh(a @ b)


def hessian_target_fn(xp):
    return lambda x: xp.sum(xp.tanh(x) ** 3 - x * xp.sin(x))


def long_chain_fn(xp, n_ops=200):
    """Workload 4b: a chain of n_ops elementwise ops."""
    def f(x):
        for _ in range(n_ops // 5):   # 5 ops per round
            x = xp.sin(x) * 0.9 + xp.cos(x) * 0.1
        return x
    return f


def rnn_params(rng, n_in=32, hidden=128, dtype=np.float32):
    """Elman RNN parameters (W, U, b) for workload 8."""
    return {"W": (rng.normal(size=(n_in, hidden)) / np.sqrt(n_in)).astype(dtype),
            "U": (rng.normal(size=(hidden, hidden)) / np.sqrt(hidden)).astype(dtype),
            "b": np.zeros(hidden, dtype)}


def rnn_loss_fn(xp, lax):
    """Workload 8: ``h = tanh(x_t @ W + h @ U + b)`` over xs[T, batch, n_in]
    through ``lax.scan``, from h = 0; the loss is the mean square of the last
    state."""
    def loss(params, xs):
        def step(h, x):
            return xp.tanh(x @ params["W"] + h @ params["U"] + params["b"]), None
        h0 = xp.zeros((xs.shape[1], params["U"].shape[0]), xs.dtype)
        h, _ = lax.scan(step, h0, xs)
        return xp.mean(h * h)
    return loss


def _rnn_states(params, xs):
    hs = [np.zeros((xs.shape[1], params["U"].shape[0]), xs.dtype)]
    for x in xs:
        hs.append(np.tanh(x @ params["W"] + hs[-1] @ params["U"] + params["b"]))
    return hs


def rnn_loss_numpy(params, xs):
    """The RNN loss written with a Python loop in NumPy."""
    h = _rnn_states(params, xs)[-1]
    return np.mean(h * h)


def rnn_value_and_grad_numpy(params, xs):
    """Hand-written forward and backward pass (through time) of the RNN loss."""
    hs = _rnn_states(params, xs)
    h = hs[-1]
    dh = 2 * h / h.size
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(len(xs) - 1, -1, -1):
        da = dh * (1 - hs[t + 1] * hs[t + 1])
        grads["W"] += xs[t].T @ da
        grads["U"] += hs[t].T @ da
        grads["b"] += da.sum(0)
        dh = da @ params["U"].T
    return np.mean(h * h), grads


LOGISTIC_R = 3.7


def logistic_fn(lax, steps):
    """Workload 9: ``steps`` iterations of the logistic map x <- r x (1 - x)
    on a vector, through ``lax.fori_loop``."""
    def f(x):
        return lax.fori_loop(0, steps, lambda i, v: LOGISTIC_R * v * (1 - v), x)
    return f


def logistic_numpy(x, steps):
    for _ in range(steps):
        x = LOGISTIC_R * x * (1 - x)
    return x


def logistic_numba():
    """The logistic map as a hand-written numba loop (None without numba)."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit
    def run(x, steps):
        out = x.copy()
        r, one = np.float32(LOGISTIC_R), np.float32(1)
        for _ in range(steps):
            for i in range(out.size):
                out[i] = r * out[i] * (one - out[i])
        return out
    return run


NEWTON_TOL = 1e-5
NEWTON_MAX_ITERS = 100


def newton_sqrt_fn(xp, lax):
    """Workload 10: square roots of a > 0 by Newton's iteration
    y <- (y + a / y) / 2 from y = a, through ``lax.while_loop``, until every
    |y^2 - a| <= NEWTON_TOL * a (or NEWTON_MAX_ITERS iterations)."""
    def f(a):
        def unconverged(state):
            k, y = state
            return (k < NEWTON_MAX_ITERS) & xp.any(xp.abs(y * y - a) > NEWTON_TOL * a)

        def step(state):
            k, y = state
            return k + 1, 0.5 * (y + a / y)
        return lax.while_loop(unconverged, step, (0, a))[1]
    return f


def newton_sqrt_numpy(a):
    y, k = a, 0
    while k < NEWTON_MAX_ITERS and np.any(np.abs(y * y - a) > NEWTON_TOL * a):
        y, k = 0.5 * (y + a / y), k + 1
    return y
