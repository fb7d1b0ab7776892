"""Control flow: ``cond``, ``while`` and ``scan`` as native branches and loops.

Each sub-jaxpr is compiled first, by the driver, to a native entry of its own
(fused and vectorized like any jaxpr, cached like any jaxpr; its constants
were made operands by passes/control.py), so it takes
``entry(i8* inputs..., i8* outputs..., i8* workspace)``. The rules here emit
the control flow around calls of those entries (``ctx.subentries[jaxpr]``:
its NativeCode), declared as external functions named by content hash:

* ``cond``: a ``switch`` on the index (clamped to the branches, as
  ``lax.switch`` clamps) calling the branch's entry on the operand and output
  buffers;
* ``while``: call the cond entry into a byte, test it, call the body entry
  from the carry buffers into the other set (double-buffered: the carries
  alternate between the outputs and one spare set, the pointers swap, nothing
  is copied per iteration), and copy the final carry to the outputs if it
  ended in the spare set or is the initial one;
* ``scan``: a counted loop (backwards over the slices when ``reverse``)
  calling the body entry on the carry buffers and pointers to the t-th slices
  of xs and of the stacked ys (the equation's output buffers); the carries
  alternate so that the last iteration writes the outputs.

The sub-entries share one workspace block per equation (they never run at
the same time), taken from the parent's workspace: nothing is allocated per
iteration and no Python runs in the loop.
"""
from llvmlite import ir

from trax.compiler.lower.elemental import Index
from trax.compiler.lower.irtypes import I1, I8, I8P, I64, VOID, i64
from trax.compiler.lower.kernels import kernel
from trax.compiler.lower.loops import loop


def _pointer(ctx, atom):
    """An ``i8*`` to ``atom`` in memory (materialized if it is not)."""
    return ctx.b.bitcast(ctx.buffer(atom).ptr, I8P)


def _outputs(ctx, eqn):
    return [ctx.b.bitcast(ctx.buffers[v].ptr, I8P) for v in eqn.outvars]


def _nbytes(aval):
    return aval.size * aval.dtype.itemsize


def _callers(ctx, closed_jaxprs):
    """One ``call(ins, outs)`` per sub-jaxpr, calling its entry with one
    workspace shared by all of them."""
    natives = [ctx.subentries[c.jaxpr] for c in closed_jaxprs]
    nbytes = max(n.workspace_bytes for n in natives)
    ws = ctx.scratch(nbytes) if nbytes else ir.Constant(I8P, None)
    calls = []
    for c, native in zip(closed_jaxprs, natives):
        j = c.jaxpr
        assert not j.constvars, "sub-jaxpr constants are hoisted by passes/control.py"
        fn = ctx.declare(native.name, VOID, [I8P] * (len(j.invars) + len(j.outvars) + 1))
        calls.append(lambda ins, outs, fn=fn: ctx.b.call(fn, [*ins, *outs, ws]))
    return calls


def _copy(ctx, dst, src, nbytes):
    if nbytes:
        memcpy = ctx.declare("llvm.memcpy.p0.p0.i64", VOID, [I8P, I8P, I64, I1])
        ctx.b.call(memcpy, [dst, src, i64(nbytes), ir.Constant(I1, 0)])


@kernel("cond")
def cond(ctx, eqn):
    b = ctx.b
    branches = eqn.params["branches"]
    index, *ops = eqn.invars
    which = ctx.read(index, Index((), linear=i64(0)))
    if which.type == I1:
        which = b.zext(which, I8)
    elif index.aval.dtype.kind == "i":      # clamped to [0, n-1], as switch does
        which = b.select(b.icmp_signed("<", which, ir.Constant(which.type, 0)),
                         ir.Constant(which.type, 0), which)
    ins, outs = [_pointer(ctx, v) for v in ops], _outputs(ctx, eqn)
    calls = _callers(ctx, branches)
    done = b.append_basic_block("cond.done")
    cases = [b.append_basic_block(f"cond.{k}") for k in range(len(branches))]
    switch = b.switch(which, cases[-1])
    for k, case in enumerate(cases[:-1]):
        switch.add_case(ir.Constant(which.type, k), case)
    for call, case in zip(calls, cases):
        b.position_at_end(case)
        call(ins, outs)
        b.branch(done)
    b.position_at_end(done)


@kernel("while")
def while_(ctx, eqn):
    b, p = ctx.b, eqn.params
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    ins = [_pointer(ctx, v) for v in eqn.invars]
    cond_consts, body_consts, init = ins[:nc], ins[nc:nc + nb], ins[nc + nb:]
    outs = _outputs(ctx, eqn)
    spare = [b.bitcast(ctx.alloc(v.aval).ptr, I8P) for v in eqn.outvars]
    call_cond, call_body = _callers(ctx, [p["cond_jaxpr"], p["body_jaxpr"]])
    with b.goto_block(ctx.allocas):
        flag = b.alloca(I8)
    pre = b.block
    head = b.append_basic_block("while.head")
    body = b.append_basic_block("while.body")
    leave = b.append_basic_block("while.exit")
    copy = b.append_basic_block("while.copy")
    done = b.append_basic_block("while.done")
    b.branch(head)
    # after k iterations the carry is in init (k = 0), the outputs (k odd) or spare
    b.position_at_end(head)
    cur = [b.phi(I8P) for _ in init]
    odd = b.phi(I1)
    for c, x in zip(cur, init):
        c.add_incoming(x, pre)
    odd.add_incoming(ir.Constant(I1, 0), pre)
    call_cond(cond_consts + cur, [flag])
    b.cbranch(b.icmp_unsigned("!=", b.load(flag), ir.Constant(I8, 0)), body, leave)
    b.position_at_end(body)
    dst = [b.select(odd, s, o) for s, o in zip(spare, outs)]
    call_body(body_consts + cur, dst)
    for c, d in zip(cur, dst):
        c.add_incoming(d, body)
    odd.add_incoming(b.not_(odd), body)
    b.branch(head)
    b.position_at_end(leave)
    b.cbranch(odd, done, copy)
    b.position_at_end(copy)
    for o, c, v in zip(outs, cur, eqn.outvars):
        _copy(ctx, o, c, _nbytes(v.aval))
    b.branch(done)
    b.position_at_end(done)


@kernel("scan")
def scan(ctx, eqn):
    b, p = ctx.b, eqn.params
    length, nc, ncarry = p["length"], p["num_consts"], p["num_carry"]
    ins = [_pointer(ctx, v) for v in eqn.invars]
    consts, init, xs = ins[:nc], ins[nc:nc + ncarry], ins[nc + ncarry:]
    outs = _outputs(ctx, eqn)
    carry_out, ys = outs[:ncarry], outs[ncarry:]
    if length == 0:
        for o, x, v in zip(carry_out, init, eqn.outvars):
            _copy(ctx, o, x, _nbytes(v.aval))
        return
    spare = [b.bitcast(ctx.alloc(v.aval).ptr, I8P) for v in eqn.outvars[:ncarry]]
    call_body, = _callers(ctx, [p["jaxpr"]])
    x_bytes = [_nbytes(v.aval) // length for v in eqn.invars[nc + ncarry:]]
    y_bytes = [_nbytes(v.aval) // length for v in eqn.outvars[ncarry:]]
    with loop(b, length, "scan") as i:
        t = b.sub(i64(length - 1), i) if p["reverse"] else i
        # iteration i writes the outputs when length-1-i is even: the last one does
        left = b.sub(i64(length - 1), i)
        to_spare = b.trunc(left, I1)
        dst = [b.select(to_spare, s, o) for s, o in zip(spare, carry_out)]
        first = b.icmp_unsigned("==", i, i64(0))
        cur = [b.select(first, x, b.select(to_spare, o, s))
               for x, s, o in zip(init, spare, carry_out)]
        x_at = [b.gep(x, [b.mul(t, i64(n))]) for x, n in zip(xs, x_bytes)]
        y_at = [b.gep(y, [b.mul(t, i64(n))]) for y, n in zip(ys, y_bytes)]
        call_body(consts + cur + x_at, dst + y_at)
