"""analytics.ingest.heap: the malloc thresholds are raised once for nested or concurrent loads,
put back when the last one ends (also after an error), and nothing happens without glibc."""
from __future__ import annotations

import pytest

from analytics.ingest import heap


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def test_thresholds_raised_once_and_restored_after_the_outermost_load(monkeypatch):
    fake = FakeLibc()
    monkeypatch.setattr(heap, "_libc", lambda: fake)
    with heap.reuse_freed_memory():
        with heap.reuse_freed_memory():
            assert fake.calls == [("mallopt", heap.M_MMAP_THRESHOLD, heap.HELD_WHILE_LOADING),
                                  ("mallopt", heap.M_TRIM_THRESHOLD, heap.HELD_WHILE_LOADING)]
        assert len(fake.calls) == 2                   # the inner end changes nothing
    assert fake.calls[2:] == [("mallopt", heap.M_MMAP_THRESHOLD, 32 << 20),
                              ("mallopt", heap.M_TRIM_THRESHOLD, 64 << 20), ("malloc_trim", 0)]
    assert heap._active == 0


def test_restored_after_an_error_and_a_no_op_without_glibc(monkeypatch):
    fake = FakeLibc()
    monkeypatch.setattr(heap, "_libc", lambda: fake)
    with pytest.raises(ValueError):
        with heap.reuse_freed_memory():
            raise ValueError("bad file")
    assert fake.calls[-1] == ("malloc_trim", 0) and heap._active == 0
    monkeypatch.setattr(heap, "_libc", lambda: None)
    with heap.reuse_freed_memory():
        pass
    assert heap._active == 0

