"""Plumbing shared by the public transformations: flattening pytrees of
arguments and results, and checking argnums."""
from trax.tree_util import tree_flatten, tree_unflatten


class Store:
    """A write-once box for a value learned while tracing (the out tree)."""
    __slots__ = ("val",)

    def __init__(self):
        self.val = None

    def set(self, v):
        self.val = v


def flatten_fun(f, in_tree, kwargs=None):
    """``f`` on pytrees -> a function on flat leaves; the output treedef is
    put in the returned Store when the function runs."""
    store = Store()
    kwargs = kwargs or {}

    def flat_f(*leaves):
        args = tree_unflatten(in_tree, leaves)
        out = f(*args, **kwargs)
        out_leaves, out_tree = tree_flatten(out)
        store.set(out_tree)
        return out_leaves
    return flat_f, store


def flatten_fun_aux(f, in_tree, kwargs=None):
    """Like flatten_fun for ``f`` returning ``(out, aux)``: the flat function
    returns out leaves then aux leaves; the Store gets (out_tree, aux_tree)."""
    store = Store()
    kwargs = kwargs or {}

    def flat_f(*leaves):
        args = tree_unflatten(in_tree, leaves)
        res = f(*args, **kwargs)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise TypeError("a function transformed with has_aux=True must return "
                            f"a pair (output, aux), got {type(res).__name__}")
        out_leaves, out_tree = tree_flatten(res[0])
        aux_leaves, aux_tree = tree_flatten(res[1])
        store.set((out_tree, aux_tree, len(out_leaves)))
        return [*out_leaves, *aux_leaves]
    return flat_f, store


def normalize_argnums(argnums, nargs, fname):
    """Check argnums against the call's arguments; returns a tuple."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums {argnums!r} is out of range for "
                             f"a call with {nargs} positional argument(s)")
    return tuple(a % nargs for a in nums), single


def split_args(args, argnums):
    """The arguments at ``argnums`` and a function to put new values there."""
    dyn = tuple(args[i] for i in argnums)

    def rebuild(new_dyn):
        full = list(args)
        for i, v in zip(argnums, new_dyn):
            full[i] = v
        return full
    return dyn, rebuild
