"""einsum: parse the subscripts, then contract operands left to right with
``lax.dot_general`` (shared letters needed later become batch axes), with
diagonals for repeated letters and ``reduce_sum`` for letters used once.
"""
from trax import lax
from trax.errors import type_error
from trax.numpy.promotion import aval, broadcast_to, promote_dtypes


def _parse(subscripts, shapes):
    """Input terms and the output term, with '...' expanded into letters."""
    subscripts = subscripts.replace(" ", "")
    lhs, arrow, out = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise type_error(f"einsum: {len(terms)} terms in {subscripts!r} but "
                         f"{len(shapes)} operands")
    n_ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                 if "..." in t), default=0)
    ell = "".join(chr(0x3b1 + i) for i in range(n_ell))   # Greek: never user letters
    expanded = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k:] if k else "")
        if len(t) != len(s) or not all(c.isalpha() for c in t):
            raise type_error(f"einsum: term {t!r} does not describe an operand of shape {s}")
        expanded.append(t)
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(expanded)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                   and c not in ell))
    if len(set(out)) != len(out) or any(c not in "".join(expanded) for c in out):
        raise type_error(f"einsum: output {out!r} repeats a letter or uses one that "
                         f"no input has")
    return expanded, out


def _take_diagonals(x, term):
    """Replace each repeated letter of ``term`` by the diagonal."""
    from trax.numpy.products import diagonal
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        x = diagonal(x, 0, i, j)
        term = term[:i] + term[i + 1:j] + term[j + 1:] + c
    return x, term


def _sum_unneeded(x, term, keep):
    axes = tuple(i for i, c in enumerate(term) if c not in keep)
    if not axes:
        return x, term
    return lax.reduce_sum(x, axes), "".join(c for c in term if c in keep)


def _broadcast_sizes(operands, terms):
    """Stretch size-1 axes to the size other operands give the same letter."""
    sizes = {}
    for x, t in zip(operands, terms):
        for c, d in zip(t, aval(x).shape):
            if d != 1:
                if sizes.setdefault(c, d) != d:
                    raise type_error(f"einsum: letter {c!r} has sizes {sizes[c]} and {d}")
    out = []
    for x, t in zip(operands, terms):
        target = tuple(sizes.get(c, 1) for c in t)
        out.append(broadcast_to(x, target, "einsum") if target != aval(x).shape else x)
    return out


def einsum(subscripts, *operands, optimize=None, precision=None,
           preferred_element_type=None):
    """Einstein summation, e.g. ``einsum('ij,jk->ik', a, b)`` (supports
    '...', implicit output and repeated letters for diagonals)."""
    operands = promote_dtypes(*operands)
    terms, out = _parse(subscripts, [aval(x).shape for x in operands])
    operands = _broadcast_sizes(operands, terms)
    pairs = [_take_diagonals(x, t) for x, t in zip(operands, terms)]
    x, term = pairs[0]
    for k in range(1, len(pairs) + 1):
        later = set(out).union(*(t for _, t in pairs[k + 1:]))
        if k == len(pairs):
            x, term = _sum_unneeded(x, term, set(out))
            break
        y, yterm = pairs[k]
        x, term = _sum_unneeded(x, term, later | set(yterm))
        y, yterm = _sum_unneeded(y, yterm, later | set(term))
        shared = [c for c in term if c in yterm]
        batch = [c for c in shared if c in later]
        contract = [c for c in shared if c not in later]
        dims = (([term.index(c) for c in contract], [yterm.index(c) for c in contract]),
                ([term.index(c) for c in batch], [yterm.index(c) for c in batch]))
        x = lax.dot_general(x, y, tuple(tuple(map(tuple, d)) for d in dims))
        term = ("".join(batch) + "".join(c for c in term if c not in shared)
                + "".join(c for c in yterm if c not in shared))
    return lax.transpose(x, tuple(term.index(c) for c in out))
