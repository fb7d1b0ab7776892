"""The public transformations: make_jaxpr, jvp, linearize, vjp, grad,
value_and_grad, jacfwd, jacrev, hessian and vmap, over pytrees."""
import functools

import numpy as np

from trax import core, dtypes
from trax.api_util import (flatten_fun, flatten_fun_aux, normalize_argnums,
                           split_args)
from trax.core import get_aval
from trax.interpreters import ad, batching
from trax.interpreters import partial_eval as pe
from trax.tree_util import tree_flatten, tree_structure, tree_unflatten


def _check_leaves(leaves, what):
    for x in leaves:
        if not core.is_array_like(x):
            raise TypeError(f"{what}: {type(x).__name__} {x!r} is not an array; "
                            f"arguments must be pytrees of arrays or scalars")


# ----------------------------------------------------------------------------
# make_jaxpr

def make_jaxpr(f, static_argnums=()):
    """Return a function that traces ``f`` on example arguments and returns
    its ClosedJaxpr (print it to read the program)."""
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(f)
    def make(*args, **kwargs):
        dyn_nums = tuple(i for i in range(len(args)) if i not in static)
        dyn, rebuild = split_args(args, dyn_nums)
        leaves, in_tree = tree_flatten(dyn)
        _check_leaves(leaves, "make_jaxpr")

        def g(*dyn_args):
            return f(*rebuild(dyn_args), **kwargs)
        flat_f, out_store = flatten_fun(g, in_tree)
        avals = [get_aval(x) for x in leaves]
        closed = pe.trace_to_jaxpr(flat_f, avals)
        return closed
    return make


# ----------------------------------------------------------------------------
# forward mode

def jvp(f, primals, tangents, has_aux=False):
    """``(f(*primals), df(primals)·tangents)``, over pytrees."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists of arguments")
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(f"jvp: primals have structure {p_tree} but tangents "
                        f"have {t_tree}; they must match")
    _check_leaves(p_leaves, "jvp")
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        pa, ta = get_aval(p), get_aval(t)
        if pa.shape != ta.shape or (dtypes.is_float(pa.dtype) and pa.dtype != ta.dtype
                                    and not ta.weak_type):
            raise TypeError(f"jvp: primal leaf {i} is {pa.str_short()} but its "
                            f"tangent is {ta.str_short()}; shapes and dtypes must match")
    flat_f, store = (flatten_fun_aux if has_aux else flatten_fun)(f, p_tree)
    t_leaves = [_tangent_cast(t, p) for p, t in zip(p_leaves, t_leaves)]
    p_out, t_out = ad.jvp_flat(flat_f, p_leaves, t_leaves)
    if has_aux:
        out_tree, aux_tree, n = store.val
        return (tree_unflatten(out_tree, p_out[:n]), tree_unflatten(out_tree, t_out[:n]),
                tree_unflatten(aux_tree, p_out[n:]))
    return tree_unflatten(store.val, p_out), tree_unflatten(store.val, t_out)


def _tangent_cast(t, p):
    pa = get_aval(p)
    if dtypes.is_float(pa.dtype) and not isinstance(t, core.Tracer):
        return np.asarray(t, pa.dtype)
    return t


def linearize(f, *primals):
    """``(f(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the
    linear map staged once (the forward pass is not re-run)."""
    p_leaves, p_tree = tree_flatten(primals)
    _check_leaves(p_leaves, "linearize")
    flat_f, store = flatten_fun(f, p_tree)
    out, jaxpr, consts = ad.linearize_flat(flat_f, *p_leaves)
    out_tree = store.val

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_flatten(tangents)
        if t_tree != p_tree:
            raise TypeError(f"linearize: tangents have structure {t_tree}, "
                            f"expected {p_tree}")
        return tree_unflatten(out_tree, core.eval_jaxpr(jaxpr, consts, *t_leaves))
    return tree_unflatten(out_tree, out), f_jvp


# ----------------------------------------------------------------------------
# reverse mode

def vjp(f, *primals, has_aux=False):
    """``(f(*primals), f_vjp)`` where ``f_vjp(cotangent)`` returns a tuple of
    cotangents, one per primal (pytrees like the primals)."""
    p_leaves, p_tree = tree_flatten(primals)
    _check_leaves(p_leaves, "vjp")
    flat_f, store = (flatten_fun_aux if has_aux else flatten_fun)(f, p_tree)
    out_leaves, f_vjp_flat = ad.vjp_flat(flat_f, *p_leaves)
    n_flat = len(out_leaves)
    if has_aux:
        out_tree, aux_tree, n = store.val
        aux = tree_unflatten(aux_tree, out_leaves[n:])
        out_leaves = out_leaves[:n]
    else:
        out_tree = store.val

    def f_vjp(ct):
        ct_leaves, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"vjp: the cotangent has structure {ct_tree}, but "
                            f"the function's output has {out_tree}")
        for i, (c, o) in enumerate(zip(ct_leaves, out_leaves)):
            if get_aval(c).shape != get_aval(o).shape:
                raise TypeError(f"vjp: cotangent leaf {i} has shape {get_aval(c).shape}"
                                f", but the output has shape {get_aval(o).shape}")
        ct_leaves = [_tangent_cast(c, o) for c, o in zip(ct_leaves, out_leaves)]
        ct_leaves += [None] * (n_flat - len(ct_leaves))   # no cotangent for aux
        return tuple(tree_unflatten(p_tree, f_vjp_flat(*ct_leaves)))

    out = tree_unflatten(out_tree, out_leaves)
    return (out, f_vjp, aux) if has_aux else (out, f_vjp)


def _check_differentiable(dyn, fname):
    leaves, _ = tree_flatten(dyn)
    for x in leaves:
        aval = get_aval(x)
        if not dtypes.is_float(aval.dtype):
            raise TypeError(f"{fname} requires floating-point inputs to differentiate "
                            f"with respect to, got {aval.str_short()}; convert it with "
                            f".astype(float) or leave it out of argnums")


def value_and_grad(f, argnums=0, has_aux=False):
    """A function returning ``(f(*args), grad of f w.r.t. args[argnums])``
    (``((value, aux), grad)`` with has_aux)."""
    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        nums, single = normalize_argnums(argnums, len(args), "grad")
        dyn, rebuild = split_args(args, nums)
        _check_differentiable(dyn, "grad")

        def g(*dyn_args):
            return f(*rebuild(dyn_args), **kwargs)
        if has_aux:
            out, f_vjp, aux = vjp(g, *dyn, has_aux=True)
        else:
            out, f_vjp = vjp(g, *dyn)
        aval = get_aval(out) if core.is_array_like(out) else None
        if aval is None or aval.shape != () or not dtypes.is_float(aval.dtype):
            what = aval.str_short() if aval is not None else type(out).__name__
            raise TypeError(f"grad requires a function with a scalar floating-point "
                            f"output, got {what}; use vjp or jacrev for others, or "
                            f"reduce the output (e.g. .sum())")
        grads = f_vjp(np.ones((), aval.dtype))
        grads = grads[0] if single else grads
        return ((out, aux) if has_aux else out), grads
    return value_and_grad_f


def grad(f, argnums=0, has_aux=False):
    """The gradient of scalar-valued ``f`` w.r.t. ``args[argnums]`` (a tuple
    of gradients when argnums is a tuple; ``(grad, aux)`` with has_aux)."""
    vg = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return grad_f


# ----------------------------------------------------------------------------
# vmap

def vmap(f, in_axes=0, out_axes=0, axis_size=None):
    """Vectorize ``f`` over a batch axis of its arguments (``in_axes``: an int,
    None, or a pytree prefix of the arguments) and stack results along
    ``out_axes``."""
    @functools.wraps(f)
    def vmapped(*args, **kwargs):
        leaves, in_tree = tree_flatten(args)
        _check_leaves(leaves, "vmap")
        dims = _flatten_axes("in_axes", in_axes, args, in_tree)
        size = _batch_size(leaves, dims, args, in_tree, axis_size)
        dims = [None if d is None else d % max(get_aval(x).ndim, 1)
                for x, d in zip(leaves, dims)]
        flat_f, store = flatten_fun(f, in_tree, kwargs)
        outs, out_dims = batching.vmap_flat(flat_f, size, dims, leaves)
        out_tree = store.val
        out_axes_flat = _flatten_axes("out_axes", out_axes,
                                      tree_unflatten(out_tree, outs), out_tree)
        results = [_place_out_axis(o, d, od, size, i)
                   for i, (o, d, od) in enumerate(zip(outs, out_dims, out_axes_flat))]
        return tree_unflatten(out_tree, results)
    return vmapped


def _flatten_axes(name, axes, tree, treedef):
    """Broadcast an axes spec (int/None or a prefix pytree) to the leaves."""
    if axes is None or isinstance(axes, int):
        return [axes] * treedef.num_leaves
    if name == "in_axes" and isinstance(axes, list):
        axes = tuple(axes)
    if name == "in_axes" and not isinstance(axes, tuple):
        raise TypeError(f"vmap in_axes must be an int, None or a tuple with one "
                        f"entry per positional argument, got {axes!r}")
    if name == "in_axes" and len(axes) != len(tree):
        raise ValueError(f"vmap in_axes has {len(axes)} entries but the function "
                         f"was called with {len(tree)} positional arguments")
    out = []
    what = "arguments" if name == "in_axes" else "outputs"

    def expand(spec, sub):
        if spec is None or isinstance(spec, int):
            out.extend([spec] * tree_structure(sub).num_leaves)
            return
        spec_kids, sub_kids = _children(spec), _children(sub)
        if (type(spec) is not type(sub) or spec_kids is None or
                len(spec_kids) != len(sub_kids) or
                (isinstance(spec, dict) and sorted(spec) != sorted(sub))):
            raise ValueError(f"vmap {name} {axes!r} does not match the structure "
                             f"of the {what} {treedef}")
        for s, c in zip(spec_kids, sub_kids):
            expand(s, c)
    expand(axes, tree)
    return out


def _children(x):
    """The children of a pytree node, or None for a leaf."""
    from trax.tree_util import _node_handlers
    _, handlers = _node_handlers(x)
    return None if handlers is None else list(handlers[0](x)[0])


def _batch_size(leaves, dims, args, in_tree, axis_size):
    sizes = {}
    paths = _leaf_paths(args)
    for x, d, path in zip(leaves, dims, paths):
        if d is None:
            continue
        aval = get_aval(x)
        if not -aval.ndim <= d < aval.ndim:
            raise ValueError(f"vmap in_axes {d} is out of range for {path} "
                             f"of shape {aval.shape}")
        sizes.setdefault(aval.shape[d], []).append(f"{path} (axis {d})")
    if axis_size is not None:
        if sizes and set(sizes) != {axis_size}:
            raise ValueError(f"vmap axis_size={axis_size} disagrees with the mapped "
                             f"axes: {_fmt_sizes(sizes)}")
        return axis_size
    if not sizes:
        raise ValueError("vmap needs at least one mapped argument (in_axes not all "
                         "None) or an explicit axis_size")
    if len(sizes) > 1:
        raise ValueError(f"vmap got mapped axes of different sizes: {_fmt_sizes(sizes)}")
    return next(iter(sizes))


def _fmt_sizes(sizes):
    return "; ".join(f"size {s} for {', '.join(names)}" for s, names in sizes.items())


def _leaf_paths(args):
    paths = []

    def walk(x, path):
        if isinstance(x, dict):
            for k in sorted(x):
                walk(x[k], f"{path}[{k!r}]")
        elif isinstance(x, (tuple, list)) and type(x) in (tuple, list) or \
                (isinstance(x, tuple) and hasattr(x, "_fields")):
            for i, c in enumerate(x):
                walk(c, f"{path}[{i}]")
        elif x is None:
            pass
        else:
            leaves, t = tree_flatten(x)
            if t.node_type is None:
                paths.append(path)
            else:
                paths.extend(f"{path}<{i}>" for i in range(len(leaves)))
    for i, a in enumerate(args):
        walk(a, f"argument {i}")
    return paths


def _place_out_axis(x, dim, out_axis, size, i):
    if out_axis is None:
        if dim is not None:
            raise ValueError(f"vmap out_axes is None for output {i}, but that output "
                             f"depends on the mapped inputs (it is batched)")
        return x
    x = batching.bdim_at_front(x, dim, size)
    nd = get_aval(x).ndim
    if not -nd <= out_axis < nd:
        raise ValueError(f"vmap out_axes {out_axis} is out of range for output {i} "
                         f"of rank {nd - 1}")
    return batching.moveaxis(x, 0, out_axis)


# ----------------------------------------------------------------------------
# Jacobians (one vmapped pass over the standard basis)

def _std_basis(leaves):
    sizes = [get_aval(x).size for x in leaves]
    n = sum(sizes)
    dtype = np.result_type(*[get_aval(x).dtype for x in leaves])
    eye = np.eye(n, dtype=dtype)
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        aval = get_aval(x)
        out.append(eye[:, start:start + s].reshape((n, *aval.shape)).astype(aval.dtype))
        start += s
    return out, sizes


def _jac_reshape(block, out_shape, in_shape):
    from trax import lax
    return lax.reshape(block, (*out_shape, *in_shape))


def jacfwd(f, argnums=0, has_aux=False):
    """The Jacobian of ``f`` by forward mode: output leaves have shape
    ``out.shape + in.shape``, nested out-tree of in-trees."""
    def jac_f(*args, **kwargs):
        nums, single = normalize_argnums(argnums, len(args), "jacfwd")
        dyn, rebuild = split_args(args, nums)
        _check_differentiable(dyn, "jacfwd")
        in_leaves, in_tree = tree_flatten(dyn)
        basis, sizes = _std_basis(in_leaves)

        def g(*dyn_args):
            return f(*rebuild(dyn_args), **kwargs)

        def push(*t_leaves):
            res = jvp(g, dyn, tree_unflatten(in_tree, t_leaves), has_aux=has_aux)
            return res[1]
        out_t = vmap(push, out_axes=-1)(*basis)
        primal = g(*dyn)
        if has_aux:
            primal, aux = primal
        out_leaves, out_tree = tree_flatten(out_t)
        result = []
        for y in out_leaves:
            y_shape = get_aval(y).shape[:-1]
            result.append(_split_last(y, y_shape, in_leaves, sizes, in_tree, single))
        jac = tree_unflatten(out_tree, result)
        return (jac, aux) if has_aux else jac
    return jac_f


def _split_last(y, y_shape, in_leaves, sizes, in_tree, single):
    from trax import lax
    parts, start = [], 0
    for x, s in zip(in_leaves, sizes):
        nd = len(y_shape)
        block = lax.slice(y, (0,) * nd + (start,), (*y_shape, start + s))
        parts.append(_jac_reshape(block, y_shape, get_aval(x).shape))
        start += s
    tree = tree_unflatten(in_tree, parts)
    return tree[0] if single else tree


def jacrev(f, argnums=0, has_aux=False):
    """The Jacobian of ``f`` by reverse mode (same layout as jacfwd)."""
    def jac_f(*args, **kwargs):
        from trax import lax
        nums, single = normalize_argnums(argnums, len(args), "jacrev")
        dyn, rebuild = split_args(args, nums)
        _check_differentiable(dyn, "jacrev")

        def g(*dyn_args):
            return f(*rebuild(dyn_args), **kwargs)
        res = vjp(g, *dyn, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        out_leaves, out_tree = tree_flatten(out)
        basis, sizes = _std_basis(out_leaves)
        cts = vmap(lambda *b: f_vjp(tree_unflatten(out_tree, b)))(*basis)
        ct_leaves, ct_tree = tree_flatten(cts)        # each (M, *in.shape)
        in_leaves = tree_flatten(dyn)[0]
        result, start = [], 0
        for y, s in zip(out_leaves, sizes):
            y_shape = get_aval(y).shape
            parts = []
            for c, x in zip(ct_leaves, in_leaves):
                in_shape = get_aval(x).shape
                block = lax.slice(c, (start,) + (0,) * len(in_shape), (start + s, *in_shape))
                parts.append(_jac_reshape(block, y_shape, in_shape))
            start += s
            tree = tree_unflatten(ct_tree, parts)
            result.append(tree[0] if single else tree)
        jac = tree_unflatten(out_tree, result)
        return (jac, res[2]) if has_aux else jac
    return jac_f


def hessian(f, argnums=0, has_aux=False):
    """The Hessian of scalar ``f``: ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(f, argnums, has_aux), argnums, has_aux)
