"""Pytrees: nested containers of arrays that every trax API accepts.

Built-in containers: tuple, list, dict (keys sorted), None (no leaves) and
namedtuples. Register other types with :func:`register_pytree_node`.
"""
_registry = {}


class PyTreeDef:
    """The structure of a pytree: its node types, aux data and children."""
    __slots__ = ("node_type", "aux", "children", "num_leaves", "_hash")

    def __init__(self, node_type, aux, children):
        self.node_type = node_type
        self.aux = aux
        self.children = tuple(children)
        self.num_leaves = (1 if node_type is None else
                           sum(c.num_leaves for c in self.children))
        self._hash = None

    def _key(self):
        return (self.node_type, self.aux, self.children)

    def __eq__(self, other):
        return isinstance(other, PyTreeDef) and self._key() == other._key()

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(self._key())
        return self._hash

    def __repr__(self):
        return f"PyTreeDef({_describe(self)})"

    @property
    def num_nodes(self):
        return 1 + sum(c.num_nodes for c in self.children)

    def unflatten(self, leaves):
        return tree_unflatten(self, leaves)


LEAF = PyTreeDef(None, None, ())


def _describe(t):
    if t.node_type is None:
        return "*"
    kids = ", ".join(_describe(c) for c in t.children)
    if t.node_type is tuple:
        return f"({kids}{',' if len(t.children) == 1 else ''})"
    if t.node_type is list:
        return f"[{kids}]"
    if t.node_type is dict:
        return "{" + ", ".join(f"{k!r}: {_describe(c)}"
                               for k, c in zip(t.aux, t.children)) + "}"
    if t.node_type is type(None):
        return "None"
    return f"{t.node_type.__name__}({kids})"


def register_pytree_node(node_type, flatten, unflatten):
    """Register ``node_type``: ``flatten(x) -> (children, aux)`` and
    ``unflatten(aux, children) -> x``. ``aux`` must be hashable."""
    _registry[node_type] = (flatten, unflatten)


register_pytree_node(tuple, lambda t: (t, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda l: (l, None), lambda _, c: list(c))
register_pytree_node(type(None), lambda _: ((), None), lambda _, c: None)


def _flatten_dict(d):
    try:
        keys = tuple(sorted(d))
    except TypeError:
        raise TypeError(f"dict keys must be sortable to form a pytree: {list(d)}")
    return [d[k] for k in keys], keys


register_pytree_node(dict, _flatten_dict, lambda keys, c: dict(zip(keys, c)))


def _node_handlers(x):
    t = type(x)
    h = _registry.get(t)
    if h is None and isinstance(x, tuple) and hasattr(t, "_fields"):
        h = (lambda nt: (tuple(nt), None), lambda _, c, t=t: t(*c))
        _registry[t] = h
    return t, h


def _flatten(x, leaves, is_leaf):
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return LEAF
    node_type, h = _node_handlers(x)
    if h is None:
        leaves.append(x)
        return LEAF
    children, aux = h[0](x)
    return PyTreeDef(node_type, aux, [_flatten(c, leaves, is_leaf) for c in children])


def tree_flatten(tree, is_leaf=None):
    """Return ``(leaves, treedef)`` for a pytree."""
    leaves = []
    treedef = _flatten(tree, leaves, is_leaf)
    return leaves, treedef


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree of the structure ``treedef`` from ``leaves``."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"tree_unflatten: structure {treedef} has "
                         f"{treedef.num_leaves} leaves, got {len(leaves)}")
    it = iter(leaves)
    return _build(treedef, it)


def _build(t, it):
    if t.node_type is None:
        return next(it)
    _, unflatten = _registry[t.node_type]
    return unflatten(t.aux, [_build(c, it) for c in t.children])


def tree_leaves(tree, is_leaf=None):
    """The leaves of a pytree, left to right."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The treedef of a pytree."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over one or more pytrees of the same structure."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for i, r in enumerate(rest):
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise ValueError(f"tree_map: tree {i + 1} has structure {r_def}, "
                             f"which differs from the first tree's {treedef}")
        others.append(r_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def treedef_children(treedef):
    return list(treedef.children)


def treedef_is_leaf(treedef):
    return treedef.node_type is None

