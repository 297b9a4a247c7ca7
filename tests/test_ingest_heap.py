"""analytics.ingest.heap: the malloc thresholds are raised once for nested or concurrent loads,
put back when the last one ends (also after an error), and nothing happens without glibc."""
from __future__ import annotations

import pytest

from analytics.ingest import heap


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):     # as glibc: an mmap threshold above 32 MB (64-bit) is refused
        self.calls.append(("mallopt", param, value))
        return int(not (param == heap.M_MMAP_THRESHOLD and value > 32 << 20))

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def test_thresholds_raised_once_and_restored_after_the_outermost_load(monkeypatch, caplog):
    fake = FakeLibc()
    monkeypatch.setattr(heap, "_libc", lambda: fake)
    with heap.reuse_freed_memory():
        with heap.reuse_freed_memory():
            assert fake.calls == [("mallopt", heap.M_MMAP_THRESHOLD, 32 << 20),
                                  ("mallopt", heap.M_TRIM_THRESHOLD, heap.HELD_WHILE_LOADING)]
        assert len(fake.calls) == 2                   # the inner end changes nothing
    assert fake.calls[2:] == [("mallopt", heap.M_MMAP_THRESHOLD, 32 << 20),
                              ("mallopt", heap.M_TRIM_THRESHOLD, 64 << 20), ("malloc_trim", 0)]
    assert heap._active == 0
    assert not [r for r in caplog.records if "refused" in r.getMessage()]    # every value is one glibc takes


def test_the_real_glibc_takes_the_values():
    lib = heap._libc()
    if lib is None:
        pytest.skip("not glibc: the module does nothing here (tested above)")
    assert lib.mallopt(heap.M_MMAP_THRESHOLD, heap.MAX_MMAP_THRESHOLD) == 1
    assert lib.mallopt(heap.M_MMAP_THRESHOLD, heap.MAX_MMAP_THRESHOLD + 1) == 0   # why 1 GB was ignored
    assert lib.mallopt(heap.M_TRIM_THRESHOLD, heap.HELD_WHILE_LOADING) == 1
    lib.mallopt(heap.M_MMAP_THRESHOLD, heap.AFTER_MMAP_THRESHOLD)
    lib.mallopt(heap.M_TRIM_THRESHOLD, heap.AFTER_TRIM_THRESHOLD)


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

