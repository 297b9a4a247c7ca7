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


def test_thresholds_raised_once_and_restored_after_the_outermost_load(monkeypatch, caplog):
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
    assert not [r for r in caplog.records if "refused" in r.getMessage()]    # every value is one glibc takes


def test_the_real_glibc_takes_the_values_and_serves_a_large_block_from_the_heap():
    """A review doubted glibc takes a 1 GB mmap threshold: it does (glibc 2.36 here), and a 40 MB
    block then comes from the heap instead of its own mmap (mallinfo2's count of mmapped blocks)."""
    import ctypes

    lib = heap._libc()
    if lib is None:
        pytest.skip("not glibc: the module does nothing here (tested above)")
    lib.malloc.restype, lib.malloc.argtypes, lib.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    lib.mallinfo2.restype = MallInfo2

    def mmapped_while_held(extra: int) -> int:
        """Whether a block larger than all free memory in the heap got its own mmap: a free chunk
        left from earlier tests (malloc_trim gives its pages back but keeps the chunk) could
        otherwise serve it whatever the threshold."""
        size = lib.mallinfo2().fordblks + extra
        assert size < heap.HELD_WHILE_LOADING
        block = lib.malloc(size)
        try:
            return lib.mallinfo2().hblks
        finally:
            lib.free(block)
    before = lib.mallinfo2().hblks
    with heap.reuse_freed_memory():
        assert mmapped_while_held(40 << 20) == before
    assert mmapped_while_held(40 << 20) == before + 1      # afterwards glibc's 32 MB threshold again


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

