"""Einstein summation (``torch.einsum``), forward and backward.

``einsum("ij,jk->ik", a, b)`` multiplies and sums over the letters missing from the output.
The gradient for one operand is again an einsum: the output's gradient times every other
operand, summed down to that operand's letters,

    d/da of "ij,jk->ik"  =  einsum("ik,jk->ij", g, b)

Letters that occur only in that operand (summed away on their own, as in "ij->i") are
absent from every other term: their gradient is g broadcast along them. A letter repeated
inside one operand ("ii->i", a diagonal) gets the gradient on that diagonal and 0 elsewhere.
"""
from __future__ import annotations

import string

from ..autograd import Function
from ..device import array_module


def parse_equation(equation: str, shapes) -> tuple:
    """'ij,jk' / 'ij,jk->ik' / '...ij->...ji' -> (list of input subscripts, output subscript),
    with '...' replaced by upper-case letters and the implicit output made explicit (the
    letters used once, sorted, as NumPy and PyTorch). ValueError on a malformed equation."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(inputs)} operands, got {len(shapes)}")
    spare = [c for c in string.ascii_uppercase if c not in eq]
    widest = 0
    expanded = []
    for subs, shape in zip(inputs, shapes):
        if "..." in subs:
            n = len(shape) - (len(subs) - 3)
            if n < 0:
                raise ValueError(f"einsum: operand of shape {shape} has fewer axes than {subs!r}")
            widest = max(widest, n)
            subs = subs.replace("...", "".join(spare[len(spare) - n:]) if n else "")
        if len(subs) != len(shape) or not all(c.isalpha() for c in subs):
            raise ValueError(f"einsum: subscripts {subs!r} do not fit an operand of shape {tuple(shape)}")
        expanded.append(subs)
    ell = "".join(spare[len(spare) - widest:]) if widest else ""
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(expanded)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    for c in out:
        if c not in "".join(expanded):
            raise ValueError(f"einsum: output letter {c!r} of {equation!r} appears in no operand")
    return expanded, out


def _spread(xp, g_unique, unique: str, subs: str, shape):
    """The gradient for operand letters ``subs`` (possibly repeated, e.g. 'ii') from the one
    over its distinct letters ``unique``: copied onto the diagonals, 0 elsewhere."""
    mesh = xp.ix_(*[xp.arange(s) for s in shape])
    first = {c: subs.index(c) for c in unique}
    out = g_unique[tuple(mesh[first[c]] for c in unique)]
    for pos, c in enumerate(subs):
        if pos != first[c]:
            out = out * (mesh[pos] == mesh[first[c]])
    return xp.broadcast_to(out, shape).astype(g_unique.dtype)


class Einsum(Function):
    """out = einsum(equation, *operands); one einsum per operand's gradient (see module doc)."""

    def forward(self, *operands, equation=""):
        xp = array_module(operands[0])
        self.inputs, self.output = parse_equation(equation, [o.shape for o in operands])
        self.operands = operands
        full = ",".join(self.inputs) + "->" + self.output
        return xp.asarray(xp.einsum(full, *operands))

    def backward(self, g):
        xp = array_module(g)
        grads = []
        for i, (subs, x) in enumerate(zip(self.inputs, self.operands)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(s, o) for j, (s, o) in enumerate(zip(self.inputs, self.operands)) if j != i]
            reachable = self.output + "".join(s for s, _ in others)
            unique = "".join(dict.fromkeys(c for c in subs if c in reachable))
            terms = [self.output] + [s for s, _ in others]
            gi = xp.einsum(",".join(terms) + "->" + unique, g, *[o for _, o in others])
            if unique != subs:
                # letters private to this operand: broadcast; repeated letters: the diagonal
                sizes = dict(zip(subs, x.shape))
                full_unique = "".join(dict.fromkeys(subs))
                shape_u = tuple(sizes[c] if c in unique else 1 for c in full_unique)
                gi = xp.broadcast_to(gi.reshape(shape_u), tuple(sizes[c] for c in full_unique))
                gi = _spread(xp, gi, full_unique, subs, x.shape) if full_unique != subs else gi
            if gi.shape != x.shape:  # a size-1 axis broadcast against a longer one
                gi = gi.sum(axis=tuple(a for a, s in enumerate(x.shape) if s == 1 and gi.shape[a] != 1), keepdims=True)
            grads.append(xp.ascontiguousarray(gi).astype(x.dtype, copy=False))
        return tuple(grads)
