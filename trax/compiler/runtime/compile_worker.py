"""Object code made by a worker process, so that compiling without end does
not grow this process without end.

llvmlite 0.50's optimization pipeline keeps about 70 KB of every module it
optimizes (O3 on a ten-line module: ~78 KB per run, in a fresh LLVM context
or not, with the pass builder closed; parsing and machine-code emission keep
nothing). After :data:`IN_PROCESS_LIMIT` modules optimized in this process,
:func:`emit_object` hands the work to a worker process (a Python running
:func:`serve`) that is replaced after
:data:`WORKER_TASKS` modules, which gives that memory back. The worker runs
the same LLVM for the same host, so the object code is the same. If the
worker cannot be started or dies, the module is compiled here.

Protocol over the worker's stdin/stdout, one request at a time: the parent
sends a little-endian u32 length and that many bytes of a pickled
``(ir_text, options)``; the worker answers a u32 length and a pickled
``("ok", object bytes)`` or ``("error", message)``.
"""
import os
import pickle
import struct
import subprocess
import sys
import threading

IN_PROCESS_LIMIT = 256      # modules optimized here before the worker takes over
WORKER_TASKS = 250          # modules per worker process

_lock = threading.Lock()
_worker = None              # the running worker (a Popen), or None
_owner = None               # the pid of the process that started it (not a forked child's)
_tasks = 0                  # modules the running worker has compiled
stats = {"in_process": 0, "in_worker": 0, "workers_started": 0, "worker_failures": 0}
_HEADER = struct.Struct("<I")
_WORKER = ("from trax.compiler.runtime import compile_worker, engine; "
           "compile_worker.serve(engine.emit_object_here)")


def use_worker():
    """Should the next module be compiled in the worker?"""
    return stats["in_process"] >= IN_PROCESS_LIMIT


def emit_object(ir_text, options, emit_here):
    """``emit_here(ir_text, **options)``'s object code, computed in the
    worker once this process has optimized IN_PROCESS_LIMIT modules."""
    if use_worker():
        obj = _in_worker(ir_text, options)
        if obj is not None:
            return obj
    with _lock:
        stats["in_process"] += 1
    return emit_here(ir_text, **options)


def _in_worker(ir_text, options):
    global _worker, _tasks
    with _lock:
        if _owner != os.getpid():       # a forked child: the worker is its parent's
            _worker = None
        try:
            if _worker is None or _worker.poll() is not None or _tasks >= WORKER_TASKS:
                _stop()
                _worker = _start()
                _tasks = 0
            _send(_worker.stdin, (ir_text, options))
            status, payload = _receive(_worker.stdout)
        except (OSError, ValueError, EOFError, pickle.PickleError, struct.error):
            stats["worker_failures"] += 1
            _stop()
            return None
        _tasks += 1
        if status != "ok":          # LLVM refused the module: the same error here
            return None
        stats["in_worker"] += 1
        return payload


def _start():
    global _owner
    _owner = os.getpid()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    stats["workers_started"] += 1
    return proc


def _stop():
    global _worker
    if _worker is not None:
        try:
            _worker.stdin.close()
            _worker.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            _worker.kill()
        _worker = None


def _send(stream, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("the compile worker exited")
    n, = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError("the compile worker exited")
    return pickle.loads(data)


def serve(emit_here):
    """The worker's loop: ``emit_here`` each request until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            ir_text, options = _receive(stdin)
        except EOFError:
            return
        try:
            reply = ("ok", emit_here(ir_text, **options))
        except Exception as e:       # reported; the parent compiles it itself
            reply = ("error", f"{type(e).__name__}: {e}")
        _send(stdout, reply)
