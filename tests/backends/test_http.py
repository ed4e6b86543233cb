"""What the HTTP backends share: per-thread objects, the small LRU cache."""

from __future__ import annotations

import threading

from docroute.backends._http import PerThread
from docroute.backends._lru import LruCache


class Closable:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_each_thread_gets_its_own_object_and_close_closes_them_all() -> None:
    made: list[Closable] = []

    def make() -> Closable:
        made.append(Closable())
        return made[-1]

    per_thread = PerThread(make)
    mine = per_thread.get()
    assert per_thread.get() is mine
    theirs: list[Closable] = []
    worker = threading.Thread(target=lambda: theirs.append(per_thread.get()))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and len(made) == 2
    per_thread.close()
    assert all(c.closed for c in made)
    assert per_thread.get() is not mine  # made again after close


def test_lru_cache_keeps_the_most_recently_used() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
