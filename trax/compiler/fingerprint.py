"""The compiler's fingerprint: a hash of its own sources.

Generated code changes with them, so every disk-cache key includes
``FINGERPRINT`` and entries written by an older compiler are never reused.
"""
import hashlib
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _fingerprint():
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(_HERE)):
        dirs.sort()
        for fname in sorted(files):
            if fname.endswith(".py"):
                path = os.path.join(folder, fname)
                h.update(os.path.relpath(path, _HERE).encode())
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()[:16]


FINGERPRINT = _fingerprint()
