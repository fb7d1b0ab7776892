"""Static placement of a compiled function's temporaries in one workspace.

Code generation takes and gives back temporary buffers in program order;
:class:`Workspace` turns that into byte offsets within one block whose size
is the peak of what is live at once. The caller passes that block to the
compiled entry and reuses it call after call, so a call does no ``malloc`` or
``free`` of temporaries and touches no fresh pages (with glibc, a large
buffer freed at the end of every call can be given back to the system and
page-faulted in again on the next call).
"""

ALIGN = 64      # bytes: every offset, and the block itself, is aligned to this


class Workspace:
    """First-fit placement of buffers in a block that grows to the peak."""

    def __init__(self):
        self.size = 0
        self._holes = []        # sorted (offset, nbytes) free gaps below ``size``

    def take(self, nbytes: int) -> int:
        """The offset of a free, aligned range of ``nbytes`` bytes."""
        n = -(-max(nbytes, 1) // ALIGN) * ALIGN
        for k, (off, size) in enumerate(self._holes):
            if size >= n:
                if size == n:
                    del self._holes[k]
                else:
                    self._holes[k] = (off + n, size - n)
                return off
        if self._holes and sum(self._holes[-1]) == self.size:
            off = self._holes.pop()[0]          # grow the last gap
        else:
            off = self.size
        self.size = off + n
        return off

    def give(self, offset: int, nbytes: int) -> None:
        """Free the range taken at ``offset`` (``nbytes`` as given to take)."""
        n = -(-max(nbytes, 1) // ALIGN) * ALIGN
        holes = self._holes
        holes.append((offset, n))
        holes.sort()
        merged = [holes[0]]
        for off, size in holes[1:]:
            last_off, last_size = merged[-1]
            if last_off + last_size == off:
                merged[-1] = (last_off, last_size + size)
            else:
                merged.append((off, size))
        self._holes = merged
