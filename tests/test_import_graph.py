"""trax's modules import each other without cycles: none at module level,
and none at all inside the compiler (its lazily imported stages too)."""
import ast
import os

import trax

ROOT = os.path.dirname(trax.__file__)


def _modules():
    mods = {}
    for folder, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                name = "trax." + os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(path, mods, module_level):
    """The trax modules ``path`` imports (``from pkg import sub`` names the
    submodule only, not the package)."""
    tree = ast.parse(open(path).read())
    out = set()
    for node in (tree.body if module_level else ast.walk(tree)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in mods}
        elif isinstance(node, ast.ImportFrom) and node.module:
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(mods)
            out |= subs
            if len(subs) < len(node.names) and node.module in mods:
                out.add(node.module)
    return out


def _cycle(graph):
    """One cycle of ``graph`` as a list of nodes, or None."""
    state = {}

    def visit(v, path):
        state[v] = "open"
        for w in sorted(graph[v]):
            if state.get(w) == "open":
                return path[path.index(w):] + [w]
            if w not in state:
                found = visit(w, path + [w])
                if found:
                    return found
        state[v] = "done"
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v, [v])
            if found:
                return found
    return None


def test_no_module_level_import_cycles():
    mods = _modules()
    graph = {m: _imports(p, mods, True) - {m} for m, p in mods.items()}
    assert _cycle(graph) is None


def test_no_import_cycles_inside_the_compiler():
    mods = {m: p for m, p in _modules().items() if m.startswith("trax.compiler")}
    graph = {m: _imports(p, mods, False) - {m} for m, p in mods.items()}
    assert _cycle(graph) is None


def test_the_checker_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
