"""Test-session set-up: compiled code goes to a fresh disk cache of this
run's own, not the user's (set TRAX_CACHE_DIR to choose another)."""
import os
import tempfile

os.environ.setdefault("TRAX_CACHE_DIR", tempfile.mkdtemp(prefix="trax-test-cache-"))
