"""A bounded cache that threads can share."""
import threading
from collections import OrderedDict


class LRU:
    """A mapping of at most ``capacity`` entries that forgets the least
    recently used one first. Every operation holds a lock, so threads may
    look up and insert at the same time (without relying on the GIL)."""

    def __init__(self, capacity):
        self.capacity = capacity
        self._data = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        """The value under ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            try:
                self._data.move_to_end(key)
            except KeyError:
                return default
            return self._data[key]

    def setdefault(self, key, value):
        """The value under ``key``: the one already there (another thread may
        have stored it first), else ``value``, which is stored."""
        with self._lock:
            data = self._data
            if key in data:
                data.move_to_end(key)
                return data[key]
            data[key] = value
            while len(data) > self.capacity:
                data.popitem(last=False)
            return value

    def __len__(self):
        return len(self._data)

    def __contains__(self, key):
        return key in self._data

    def clear(self):
        with self._lock:
            self._data.clear()
