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
