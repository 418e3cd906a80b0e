# SPDX-License-Identifier: MIT
"""Python binding of the buddy library (ctypes, standard library only).

Three faces:

* ``BuddyMemoryManager(size)`` behaves exactly like the educational seed:
  ``malloc`` returns an offset or -1, ``free`` returns a bool, ``size``
  returns a size or -1, and ``str()`` renders the block tree.
* ``Range(capacity, min_block_size=1, policy="best_fit")`` is the range API
  (an offset allocator) with exceptions for errors.
* ``Heap(region)`` is malloc's family over a writable buffer (a bytearray or
  an mmap), with offsets into it.

``Range`` and ``Heap`` are context managers; ``stats()`` returns ``Stats``.
Every error is a ``BuddyError``; the state is unchanged after one.

The shared library is found through ``BUDDY_LIBRARY``, then next to this
package (where ``pip install`` puts it), then in the repository's ``build/``
folder, then on the system.
"""
from __future__ import annotations

import ctypes
import mmap
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple, Union

__all__ = [
    "BuddyError", "OutOfSpaceError", "InvalidOffsetError", "GeometryError", "BusyError",
    "BuddyMemoryManager",
    "Range", "Heap", "Stats", "Block", "metadata_size", "library_path", "__version__",
]

from ._native import (  # noqa: F401 (library_path is re-exported)
    _alloc, _alloc_aligned, _alloc_exact, _alloc_exact_aligned, _alloc_packed_aligned, _attach,
    _block_size, _check, _Config, _DUMP_BLOCKS, _dump_json, _format, _free, _get_user_data,
    _handle, _heap_aligned, _heap_calloc, _heap_check, _heap_failure, _heap_fini, _heap_free,
    _heap_init, _heap_malloc, _heap_metadata_size, _heap_realloc, _heap_reset, _heap_stats,
    _heap_usable, _HEAP_VISITOR, _heap_walk, _HeapConfig, _HeapFailure, _init_config,
    library_path, _metadata_size, _metadata_size_config, _reserve, _reset, _resize, _seed_free,
    _seed_malloc, _seed_size, _set_capacity, _set_user_data, _Stats, _stats, _status_str,
    _THREAD_SAFE, _u64, _unreserve, _USER_DATA, _version)

__version__: str = _version().decode()

_STATUS = {name: -code for code, name in enumerate((
    "OK", "EINVAL", "EGEOMETRY", "ESMALL", "ETOOBIG", "ENOMEM", "ERANGE", "EALIGN",
    "ENOTSTART", "ENOTLIVE", "ECORRUPT", "EBUSY", "ERESERVED", "EVERSION"))}
_POLICIES = {"best_fit": 0, "first_fit": 1}
_POLICY_ALIASES = {"best": "best_fit", "best-fit": "best_fit", "first": "first_fit",
                   "first-fit": "first_fit"}
_U64_MAX = (1 << 64) - 1


class BuddyError(Exception):
    """A call the library rejected; ``status`` is the BUDDY_E* code."""

    def __init__(self, status: int, detail: str = ""):
        self.status = status
        message = _status_str(status).decode()
        super().__init__(f"{message} ({detail})" if detail else message)


class OutOfSpaceError(BuddyError, MemoryError):
    """No free block is large enough (BUDDY_ENOMEM) or ever could be (BUDDY_ETOOBIG)."""


class InvalidOffsetError(BuddyError, ValueError):
    """The offset is not the start of a live block (ERANGE, EALIGN, ENOTSTART, ENOTLIVE,
    ERESERVED)."""


class BusyError(BuddyError):
    """The region is not all free (BUDDY_EBUSY): a reservation or a shrink over live blocks."""


class GeometryError(BuddyError, ValueError):
    """Capacity and min block size make no range the library can build (BUDDY_EGEOMETRY)."""


def _raise_for(status: int, detail: str = "") -> None:
    if status == 0:
        return
    if status in (_STATUS["ENOMEM"], _STATUS["ETOOBIG"]):
        raise OutOfSpaceError(status, detail)
    if status in (_STATUS[n] for n in ("ERANGE", "EALIGN", "ENOTSTART", "ENOTLIVE", "ERESERVED")):
        raise InvalidOffsetError(status, detail)
    if status == _STATUS["EBUSY"]:
        raise BusyError(status, detail)
    if status == _STATUS["EGEOMETRY"]:
        raise GeometryError(status, detail)
    raise BuddyError(status, detail)


def _integer(value: object, what: str, low: int = 0, high: int = _U64_MAX) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be from {low} to {high}, not {value}")
    return value


def _alignment(alignment: int) -> int:
    alignment = _integer(alignment, "alignment", 1, _U64_MAX)
    if alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, not {alignment}")
    return alignment


def _policy(policy: str) -> str:
    name = _POLICY_ALIASES.get(policy, policy)
    if name not in _POLICIES:
        raise ValueError(f"policy must be 'best_fit' or 'first_fit', not {policy!r}")
    return name


def metadata_size(capacity: int, min_block_size: int = 1) -> int:
    """Bytes of metadata a range of this geometry needs (0 if impossible)."""
    capacity = _integer(capacity, "capacity", 0, _U64_MAX)
    min_block_size = _integer(min_block_size, "min_block_size", 0, _U64_MAX)
    return _metadata_size(capacity, min_block_size)


@dataclass(frozen=True)
class Stats:
    """The statistics of a range or a heap (in its units; a heap's are bytes)."""

    capacity: int
    max_capacity: int
    min_block_size: int
    free_bytes: int
    allocated_bytes: int
    reserved_bytes: int
    reservations: int
    largest_free_block: int
    live_blocks: int
    peak_allocated_bytes: int
    alloc_failures: int
    rejected_frees: int
    policy: str
    free_blocks: Tuple[int, ...]  # free blocks of each order, 0 to the largest

    @classmethod
    def _from(cls, raw: _Stats) -> "Stats":
        names = [name for name, _ in _Stats._fields_ if name not in ("policy", "max_order",
                                                                      "free_blocks")]
        return cls(**{name: getattr(raw, name) for name in names},
                   policy="first_fit" if raw.policy == 1 else "best_fit",
                   free_blocks=tuple(raw.free_blocks[: raw.max_order + 1]))


@dataclass(frozen=True)
class Block:
    """One block of a walk: where it starts, its size, and whether it is live."""

    offset: int
    size: int
    is_live: bool


def _aligned_buffer(size: int, alignment: int = 64) -> Tuple[ctypes.Array, int]:
    """A zeroed buffer with `size` bytes at an `alignment`-aligned address."""
    try:
        raw = (ctypes.c_char * (size + alignment))()
    except (MemoryError, OverflowError, ValueError):
        raise OutOfSpaceError(_STATUS["ENOMEM"], f"no memory for {size} bytes of metadata") from None
    address = ctypes.addressof(raw)
    return raw, address + (-address % alignment)


class _Handle:
    """An object over a C handle, which is None once the object is closed."""

    _handle: Optional[int] = None

    def _live(self) -> int:
        if self._handle is None:
            raise ValueError(f"this {type(self).__name__} is closed")
        return self._handle


class _Session(_Handle):
    """What Range and Heap share: a context manager (close() at the end) and a repr
    with the live statistics."""

    def close(self) -> None:
        raise NotImplementedError

    def stats(self) -> "Stats":
        raise NotImplementedError

    def __enter__(self):
        self._live()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        name = type(self).__name__
        if self._handle is None:
            return f"<{name} closed>"
        s = self.stats()
        return (f"<{name} capacity={s.capacity} min_block_size={s.min_block_size} "
                f"policy={s.policy!r} live_blocks={s.live_blocks} free_bytes={s.free_bytes}>")


class _Owned(_Handle):
    """A range whose metadata is a buffer this object owns; copies are independent."""

    _buffer: Optional[ctypes.Array] = None
    _metadata_bytes = 0

    def _build(self, capacity: int, min_block_size: int, policy: int, max_capacity: int = 0,
               flags: int = 0) -> None:
        config = _Config(capacity, max_capacity, min_block_size, policy, flags)
        needed = _metadata_size_config(ctypes.byref(config))
        if needed == 0:
            raise GeometryError(_STATUS["EGEOMETRY"], f"capacity {capacity}, min block "
                                f"{min_block_size}: a power-of-two min block, at most 2^62 min "
                                f"blocks, and a max_capacity of at least the capacity")
        buffer, address = _aligned_buffer(needed)
        handle = _handle()
        _raise_for(_init_config(ctypes.byref(handle), address, needed, ctypes.byref(config)))
        self._buffer, self._handle, self._metadata_bytes = buffer, handle.value, needed

    def _render(self) -> str:
        handle = self._live()
        length = _format(handle, None, 0)
        text = ctypes.create_string_buffer(length + 1)
        _format(handle, text, length + 1)
        return text.value.decode()

    def _raw_stats(self) -> _Stats:
        raw = _Stats()
        _raise_for(_stats(self._live(), ctypes.byref(raw)))
        return raw

    def __copy__(self):
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        buffer, address = _aligned_buffer(self._metadata_bytes)
        ctypes.memmove(address, self._live(), self._metadata_bytes)
        handle = _handle()
        _raise_for(_attach(ctypes.byref(handle), address, self._metadata_bytes))
        twin._buffer, twin._handle = buffer, handle.value
        return twin

    def __deepcopy__(self, memo):
        return self.__copy__()


class BuddyMemoryManager(_Owned):
    """The seed's contract: ``size`` units, a power of two >= 1, first fit."""

    def __init__(self, size: int):
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"size must be an int, not {type(size).__name__}")
        if size < 1 or size & (size - 1):
            raise ValueError(f"size must be a power of two >= 1, not {size}")
        if size > 1 << 62:
            raise OutOfSpaceError(_STATUS["ENOMEM"], f"{size} units: at most 2^62")
        self._build(size, 1, _POLICIES["first_fit"])
        self._size = size

    def malloc(self, size: int) -> int:
        """The start of a block of at least ``size`` units, or -1."""
        size = _integer(size, "size", 0, 1 << 200)
        if size > self._size:
            return -1
        return _seed_malloc(self._live(), size)

    def free(self, start: int) -> bool:
        """True iff ``start`` began a live block, which is now freed."""
        start = _integer(start, "start", -(1 << 200), 1 << 200)
        return 0 <= start < self._size and bool(_seed_free(self._live(), start))

    def size(self, start: int) -> int:
        """The size of the live block that starts at ``start``, or -1."""
        start = _integer(start, "start", -(1 << 200), 1 << 200)
        if not 0 <= start < self._size:
            return -1
        return _seed_size(self._live(), start)

    def _largest_free_block(self) -> int:
        """What the seed's tests read from its tree: the largest free block."""
        return self._raw_stats().largest_free_block

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"BuddyMemoryManager({self._size})"


class Range(_Owned, _Session):
    """A buddy range allocator over ``capacity`` units; errors raise BuddyError.

    Use it as a context manager, or call ``close()``, to release its metadata
    at once; ``copy.copy`` gives an independent range in the same state.
    """

    def __init__(self, capacity: int, min_block_size: int = 1, policy: str = "best_fit",
                 max_capacity: Optional[int] = None, user_data: bool = False,
                 thread_safe: bool = False):
        """``max_capacity`` (default: ``capacity``) is the most ``set_capacity`` can
        grow to; ``user_data`` keeps a 64-bit value per allocation (8 bytes of
        metadata per min block of ``max_capacity``). With ``thread_safe``, every
        call holds the range's lock, so threads may share it (the calls release
        the GIL); ``copy.copy`` of it needs no call running meanwhile."""
        capacity = _integer(capacity, "capacity")
        min_block_size = _integer(min_block_size, "min_block_size")
        max_capacity = capacity if max_capacity is None else _integer(max_capacity, "max_capacity")
        self.policy = _policy(policy)
        self._build(capacity, min_block_size, _POLICIES[self.policy], max_capacity,
                    (_USER_DATA if user_data else 0) | (_THREAD_SAFE if thread_safe else 0))

    def alloc(self, size: int, alignment: int = 1) -> int:
        """Allocates a block of at least ``size`` units at an offset that is a
        multiple of ``alignment`` (a power of two); returns its offset."""
        size = _integer(size, "size", 0, 1 << 200)
        alignment = _alignment(alignment)
        offset = _u64()
        if alignment == 1:
            _raise_for(_alloc(self._live(), min(size, _U64_MAX), ctypes.byref(offset)))
        else:
            _raise_for(_alloc_aligned(self._live(), min(size, _U64_MAX), alignment,
                                      ctypes.byref(offset)))
        return offset.value

    def alloc_exact(self, size: int, alignment: int = 1) -> int:
        """Allocates an exact run of ceil(size / min block) min blocks (one more when
        that count is 3 mod 4) at a multiple of ``alignment``; returns its offset.
        ``free`` and ``size`` take it by its offset like any block."""
        size = _integer(size, "size", 0, 1 << 200)
        alignment = _alignment(alignment)
        offset = _u64()
        if alignment == 1:
            _raise_for(_alloc_exact(self._live(), min(size, _U64_MAX), ctypes.byref(offset)))
        else:
            _raise_for(_alloc_exact_aligned(self._live(), min(size, _U64_MAX), alignment,
                                            ctypes.byref(offset)))
        return offset.value

    def alloc_packed(self, size: int, alignment: int = 1) -> int:
        """Allocates a packed run: the min blocks of ``alloc_exact``, at any multiple of 2
        min blocks where it fits (and of ``alignment``) rather than of its largest piece, so
        holes an exact run cannot use serve it; returns its offset."""
        size = _integer(size, "size", 0, 1 << 200)
        alignment = _alignment(alignment)
        offset = _u64()
        _raise_for(_alloc_packed_aligned(self._live(), min(size, _U64_MAX), alignment,
                                         ctypes.byref(offset)))
        return offset.value

    def set_capacity(self, capacity: int) -> None:
        """Grows or shrinks the managed capacity within ``max_capacity``; a shrink
        raises BusyError if it would cut off anything live or reserved."""
        _raise_for(_set_capacity(self._live(), _integer(capacity, "capacity")))

    def reserve(self, offset: int, size: int) -> None:
        """Marks units [offset, offset + size), widened to whole min blocks, as used
        (at most 16 reservations); BusyError if any of it is not free."""
        _raise_for(_reserve(self._live(), _integer(offset, "offset"), _integer(size, "size")))

    def unreserve(self, offset: int, size: int) -> None:
        """Frees a reservation made with the same region."""
        _raise_for(_unreserve(self._live(), _integer(offset, "offset"), _integer(size, "size")))

    def set_user_data(self, offset: int, value: int) -> None:
        """Attaches a 64-bit value to the allocation at ``offset`` (a range made
        with ``user_data=True``); it reads 0 again once the allocation is freed."""
        _raise_for(_set_user_data(self._live(), _integer(offset, "offset"),
                                  _integer(value, "value")))

    def get_user_data(self, offset: int) -> int:
        """The value ``set_user_data`` attached to the allocation at ``offset`` (0 if none)."""
        value = _u64()
        _raise_for(_get_user_data(self._live(), _integer(offset, "offset"), ctypes.byref(value)))
        return value.value

    def dump_json(self, blocks: bool = False) -> str:
        """The library's JSON dump (schema buddy-range/1, docs/json.md); with
        ``blocks``, every block with its offset, size, state and user data."""
        handle, flags = self._live(), _DUMP_BLOCKS if blocks else 0
        length = _dump_json(handle, None, 0, flags)
        text = ctypes.create_string_buffer(length + 1)
        _dump_json(handle, text, length + 1, flags)
        return text.value.decode()

    def free(self, offset: int) -> None:
        """Frees the live block (or exact run) that starts at ``offset``."""
        offset = _integer(offset, "offset", -(1 << 200), 1 << 200)
        if not 0 <= offset <= _U64_MAX:
            raise InvalidOffsetError(_STATUS["ERANGE"])
        _raise_for(_free(self._live(), offset))

    def size(self, offset: int) -> int:
        """The size of the live block that starts at ``offset``."""
        offset = _integer(offset, "offset", -(1 << 200), 1 << 200)
        if not 0 <= offset <= _U64_MAX:
            raise InvalidOffsetError(_STATUS["ERANGE"])
        size = _u64()
        _raise_for(_block_size(self._live(), offset, ctypes.byref(size)))
        return size.value

    def resize(self, offset: int, size: int) -> None:
        """Resizes the live block at ``offset`` in place (it never moves)."""
        offset = _integer(offset, "offset")
        size = _integer(size, "size")
        _raise_for(_resize(self._live(), offset, size))

    def reset(self) -> None:
        """Frees every block and reservation at once."""
        _raise_for(_reset(self._live()))

    def check(self) -> None:
        """Raises BuddyError if any invariant is broken."""
        _raise_for(_check(self._live()))

    def stats(self) -> Stats:
        """Capacity, free, allocated and reserved units, largest free block, counters, free blocks per order."""
        return Stats._from(self._raw_stats())

    def close(self) -> None:
        """Releases the metadata; the range is unusable afterwards. Closing twice is fine."""
        self._handle, self._buffer = None, None

    def __str__(self) -> str:
        return self._render()


_Region = Union[bytearray, memoryview, mmap.mmap, ctypes.Array]


class Heap(_Session):
    """malloc's family over a writable buffer (a bytearray, an mmap, ...).

    Results are offsets into ``region``; ``view(offset)`` is a memoryview of a
    block. The buffer is pinned while the heap is open (a bytearray cannot be
    resized, an mmap cannot be closed); ``close()`` or the ``with`` statement
    releases it. Allocation failures raise OutOfSpaceError (why, in its
    message); bad frees raise InvalidOffsetError and change nothing.
    """

    def __init__(self, region: _Region, min_block_size: int = 16, max_alignment: int = 4096,
                 policy: str = "best_fit", thread_safe: bool = False, exact: bool = False,
                 packed: bool = False):
        """``exact``: blocks of whole min blocks (exact runs), not powers of two of them;
        ``packed``: the same as packed runs, at any multiple of 2 min blocks."""
        try:
            view = memoryview(region)
        except TypeError:
            raise TypeError(f"region must be a writable buffer, not {type(region).__name__}") from None
        if view.readonly:
            raise TypeError("region must be writable (a bytearray or an mmap, not bytes)")
        size = view.nbytes
        view.release()
        self.policy = _policy(policy)
        self._config = _HeapConfig(_integer(min_block_size, "min_block_size"),
                                   _integer(max_alignment, "max_alignment"),
                                   _POLICIES[self.policy],
                                   (2 if thread_safe else 0) | (4 if exact else 0) |
                                   (8 if packed else 0))
        needed = _heap_metadata_size(size, ctypes.byref(self._config))
        if needed == 0:
            raise BuddyError(_STATUS["ESMALL"], f"a region of {size} bytes holds no heap")
        self._pinned = (ctypes.c_char * size).from_buffer(region)
        self._base = ctypes.addressof(self._pinned)
        self._metadata, address = _aligned_buffer(needed)
        handle = _handle()
        _raise_for(_heap_init(ctypes.byref(handle), self._base, size, address, needed,
                              ctypes.byref(self._config)))
        self._handle = handle.value
        self._region = region

    def _offset(self, pointer: Optional[int], what: str) -> int:
        if not pointer:
            failure = _HeapFailure()
            _heap_failure(self._live(), ctypes.byref(failure))
            reasons = {1: "a bad request", 2: "larger than the largest block",
                       3: "not enough free bytes",
                       4: f"fragmented: the largest free block is {failure.largest_free_block}"}
            raise OutOfSpaceError(_STATUS["ENOMEM"], f"{what}: {reasons.get(failure.reason, '')}")
        return pointer - self._base

    def _pointer(self, offset: int) -> int:
        offset = _integer(offset, "offset", -(1 << 200), 1 << 200)
        if not 0 <= offset < len(self._pinned):
            raise InvalidOffsetError(_STATUS["ERANGE"], f"offset {offset} is outside the region")
        return self._base + offset

    def malloc(self, size: int) -> int:
        """A block of at least ``size`` bytes; returns its offset in the region."""
        size = _integer(size, "size", 0, ctypes.c_size_t(-1).value)
        return self._offset(_heap_malloc(self._live(), size), f"malloc({size})")

    def calloc(self, count: int, size: int) -> int:
        """A zeroed block of ``count * size`` bytes; returns its offset."""
        count = _integer(count, "count", 0, ctypes.c_size_t(-1).value)
        size = _integer(size, "size", 0, ctypes.c_size_t(-1).value)
        return self._offset(_heap_calloc(self._live(), count, size), f"calloc({count}, {size})")

    def aligned_alloc(self, alignment: int, size: int) -> int:
        """A block whose address is a multiple of ``alignment`` (up to max_alignment)."""
        alignment = _integer(alignment, "alignment", 1, ctypes.c_size_t(-1).value)
        size = _integer(size, "size", 0, ctypes.c_size_t(-1).value)
        return self._offset(_heap_aligned(self._live(), alignment, size),
                            f"aligned_alloc({alignment}, {size})")

    def realloc(self, offset: Optional[int], size: int) -> Optional[int]:
        """Resizes the block at ``offset`` (in place when it can, else it moves and
        keeps its bytes); returns the new offset. ``realloc(None, n)`` is
        ``malloc(n)``; ``realloc(offset, 0)`` frees the block and returns None.
        On failure the block is unchanged."""
        size = _integer(size, "size", 0, ctypes.c_size_t(-1).value)
        if offset is None:
            return self.malloc(size)
        self.usable_size(offset)  # a bad offset raises here, before anything changes
        moved = _heap_realloc(self._live(), self._pointer(offset), size)
        if size == 0:
            return None
        return self._offset(moved, f"realloc({offset}, {size})")

    def free(self, offset: Optional[int]) -> None:
        """Frees the live block at ``offset`` (None is fine)."""
        if offset is None:
            return
        _raise_for(_heap_free(self._live(), self._pointer(offset)), f"offset {offset}")

    def usable_size(self, offset: int) -> int:
        """The bytes usable at the live block that starts at ``offset``."""
        usable = _heap_usable(self._live(), self._pointer(offset))
        if usable == 0:
            raise InvalidOffsetError(_STATUS["ENOTLIVE"], f"no live block starts at {offset}")
        return usable

    def view(self, offset: int) -> memoryview:
        """The usable bytes of the live block at ``offset``, as a memoryview."""
        return memoryview(self._pinned).cast("B")[offset:offset + self.usable_size(offset)]

    def blocks(self) -> Iterator[Block]:
        """Every block, free and live, in address order."""
        found: List[Block] = []

        def visit(pointer, size, is_live, user):
            found.append(Block(pointer - self._base, size, bool(is_live)))
            return 0

        _raise_for(_heap_walk(self._live(), _HEAP_VISITOR(visit), None))
        return iter(found)

    def reset(self) -> None:
        """Frees every block at once."""
        _raise_for(_heap_reset(self._live()))

    def check(self) -> None:
        """Raises BuddyError if the heap or its range breaks an invariant."""
        _raise_for(_heap_check(self._live()))

    def stats(self) -> Stats:
        """The heap's statistics, in bytes."""
        raw = _Stats()
        _raise_for(_heap_stats(self._live(), ctypes.byref(raw)))
        return Stats._from(raw)

    def close(self) -> None:
        """Ends the heap and releases the region. Closing twice is fine."""
        if self._handle is not None:
            _heap_fini(self._handle)
        self._handle = None
        self._pinned = None  # the region may be resized or closed again
        self._region = None

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()

    def __copy__(self):
        raise TypeError("a Heap cannot be copied: it lives in its region; copy the region's "
                        "bytes and build another Heap over them instead")

    def __deepcopy__(self, memo):
        return self.__copy__()
