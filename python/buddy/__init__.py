# SPDX-License-Identifier: MIT
"""Python binding of the buddy library (ctypes, standard library only).

Two faces:

* ``BuddyMemoryManager(size)`` behaves exactly like the educational seed:
  ``malloc`` returns an offset or -1, ``free`` returns a bool, ``size``
  returns a size or -1, and ``str()`` renders the block tree.
* ``Range(capacity, min_block_size=1, policy="best_fit")`` is the whole range
  API with exceptions for errors.

The shared library is found through ``BUDDY_LIBRARY``, then next to this
package, then in the repository's ``build/`` folder, then on the system.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Dict, List

__all__ = [
    "BuddyError", "OutOfSpaceError", "InvalidOffsetError", "BuddyMemoryManager", "Range",
    "metadata_size", "library_path",
]

_NAMES = ("libbuddy.so", "libbuddy.dylib", "buddy.dll")


def _candidates() -> List[Path]:
    found: List[Path] = []
    if os.environ.get("BUDDY_LIBRARY"):
        found.append(Path(os.environ["BUDDY_LIBRARY"]))
    here = Path(__file__).resolve().parent
    for folder in (here, here.parent.parent / "build"):
        found.extend(folder / name for name in _NAMES)
    system = ctypes.util.find_library("buddy")
    if system:
        found.append(Path(system))
    return found


def _load() -> ctypes.CDLL:
    tried = _candidates()
    for path in tried:
        if path.name == str(path) or path.exists():  # bare names come from find_library
            return ctypes.CDLL(str(path))
    raise ImportError("libbuddy not found; build it (see README) or set BUDDY_LIBRARY. Tried: "
                      + ", ".join(str(p) for p in tried))


_lib = _load()
library_path = _lib._name

_u64, _i64, _size, _int = ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t, ctypes.c_int
_handle = ctypes.c_void_p
_MAX_ORDER = 62


class _Stats(ctypes.Structure):
    _fields_ = [
        ("capacity", _u64), ("min_block_size", _u64), ("free_bytes", _u64),
        ("allocated_bytes", _u64), ("largest_free_block", _u64), ("live_blocks", _u64),
        ("peak_allocated_bytes", _u64), ("alloc_failures", _u64), ("rejected_frees", _u64),
        ("policy", _int), ("max_order", ctypes.c_uint), ("free_blocks", _u64 * (_MAX_ORDER + 1)),
    ]


def _declare(name, result, *arguments):
    function = getattr(_lib, name)
    function.restype = result
    function.argtypes = list(arguments)
    return function


_status_str = _declare("buddy_status_str", ctypes.c_char_p, _int)
_metadata_size = _declare("buddy_range_metadata_size", _size, _u64, _u64)
_create = _declare("buddy_range_create", _int, ctypes.POINTER(_handle), _u64, _u64, _int)
_destroy = _declare("buddy_range_destroy", None, _handle)
_alloc = _declare("buddy_range_alloc", _int, _handle, _u64, ctypes.POINTER(_u64))
_free = _declare("buddy_range_free", _int, _handle, _u64)
_block_size = _declare("buddy_range_size", _int, _handle, _u64, ctypes.POINTER(_u64))
_reset = _declare("buddy_range_reset", _int, _handle)
_stats = _declare("buddy_range_get_stats", _int, _handle, ctypes.POINTER(_Stats))
_check = _declare("buddy_range_check", _int, _handle)
_format = _declare("buddy_range_format", _size, _handle, ctypes.c_char_p, _size)
_seed_create = _declare("buddy_seed_create", _int, ctypes.POINTER(_handle), _u64)
_seed_malloc = _declare("buddy_seed_malloc", _i64, _handle, _i64)
_seed_free = _declare("buddy_seed_free", ctypes.c_bool, _handle, _i64)
_seed_size = _declare("buddy_seed_size", _i64, _handle, _i64)

_STATUS = {name: -code for code, name in enumerate((
    "OK", "EINVAL", "EGEOMETRY", "ESMALL", "ETOOBIG", "ENOMEM", "ERANGE", "EALIGN",
    "ENOTSTART", "ENOTLIVE", "ECORRUPT"))}
_POLICIES = {"best_fit": 0, "first_fit": 1}
_U64_MAX = (1 << 64) - 1


class BuddyError(Exception):
    """A call the library rejected; ``status`` is the BUDDY_E* code."""

    def __init__(self, status: int):
        self.status = status
        super().__init__(_status_str(status).decode())


class OutOfSpaceError(BuddyError, MemoryError):
    """No free block is large enough (BUDDY_ENOMEM) or ever could be (BUDDY_ETOOBIG)."""


class InvalidOffsetError(BuddyError, ValueError):
    """The offset is not the start of a live block (ERANGE, EALIGN, ENOTSTART, ENOTLIVE)."""


def _raise_for(status: int) -> None:
    if status == 0:
        return
    if status in (_STATUS["ENOMEM"], _STATUS["ETOOBIG"]):
        raise OutOfSpaceError(status)
    if status in (_STATUS[n] for n in ("ERANGE", "EALIGN", "ENOTSTART", "ENOTLIVE")):
        raise InvalidOffsetError(status)
    raise BuddyError(status)


def _integer(value, what: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def metadata_size(capacity: int, min_block_size: int = 1) -> int:
    """Bytes of metadata a range of this geometry needs (0 if impossible)."""
    capacity = _integer(capacity, "capacity")
    min_block_size = _integer(min_block_size, "min_block_size")
    if not (0 <= capacity <= _U64_MAX and 0 <= min_block_size <= _U64_MAX):
        return 0
    return _metadata_size(capacity, min_block_size)


class _Owned:
    """Owns one range handle from the C library."""

    _handle = None

    def _render(self) -> str:
        length = _format(self._handle, None, 0)
        text = ctypes.create_string_buffer(length + 1)
        _format(self._handle, text, length + 1)
        return text.value.decode()

    def __del__(self):
        if self._handle:
            _destroy(self._handle)
            self._handle = None


class BuddyMemoryManager(_Owned):
    """The seed's contract: ``size`` units, a power of two >= 1, first fit."""

    def __init__(self, size: int):
        size = _integer(size, "size")
        if size < 1 or size & (size - 1) or size > _U64_MAX:
            raise ValueError(f"size must be a power of two >= 1, not {size}")
        handle = _handle()
        _raise_for(_seed_create(ctypes.byref(handle), size))
        self._handle = handle
        self._size = size

    def malloc(self, size: int) -> int:
        """The start of a block of at least ``size`` units, or -1."""
        size = _integer(size, "size")
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        if size > self._size:
            return -1
        return _seed_malloc(self._handle, size)

    def free(self, start: int) -> bool:
        """True iff ``start`` began a live block, which is now freed."""
        start = _integer(start, "start")
        return 0 <= start < self._size and bool(_seed_free(self._handle, start))

    def size(self, start: int) -> int:
        """The size of the live block that starts at ``start``, or -1."""
        start = _integer(start, "start")
        if not 0 <= start < self._size:
            return -1
        return _seed_size(self._handle, start)

    def _largest_free_block(self) -> int:
        """What the seed's tests read from its tree: the largest free block."""
        raw = _Stats()
        _raise_for(_stats(self._handle, ctypes.byref(raw)))
        return raw.largest_free_block

    def __str__(self) -> str:
        return self._render()


class Range(_Owned):
    """A buddy range allocator over ``capacity`` units; errors raise BuddyError."""

    def __init__(self, capacity: int, min_block_size: int = 1, policy: str = "best_fit"):
        capacity = _integer(capacity, "capacity")
        min_block_size = _integer(min_block_size, "min_block_size")
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {sorted(_POLICIES)}, not {policy!r}")
        if not (0 <= capacity <= _U64_MAX and 0 <= min_block_size <= _U64_MAX):
            raise ValueError("capacity and min_block_size must fit in 64 bits")
        handle = _handle()
        _raise_for(_create(ctypes.byref(handle), capacity, min_block_size, _POLICIES[policy]))
        self._handle = handle
        self.policy = policy

    def alloc(self, size: int) -> int:
        """Allocates a block of at least ``size`` units; returns its offset."""
        size = _integer(size, "size")
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        offset = _u64()
        _raise_for(_alloc(self._handle, min(size, _U64_MAX), ctypes.byref(offset)))
        return offset.value

    def free(self, offset: int) -> None:
        """Frees the live block that starts at ``offset``."""
        offset = _integer(offset, "offset")
        if not 0 <= offset <= _U64_MAX:
            raise InvalidOffsetError(_STATUS["ERANGE"])
        _raise_for(_free(self._handle, offset))

    def size(self, offset: int) -> int:
        """The size of the live block that starts at ``offset``."""
        offset = _integer(offset, "offset")
        if not 0 <= offset <= _U64_MAX:
            raise InvalidOffsetError(_STATUS["ERANGE"])
        size = _u64()
        _raise_for(_block_size(self._handle, offset, ctypes.byref(size)))
        return size.value

    def reset(self) -> None:
        """Frees every block at once."""
        _raise_for(_reset(self._handle))

    def check(self) -> None:
        """Raises BuddyError if any invariant is broken."""
        _raise_for(_check(self._handle))

    def stats(self) -> Dict[str, object]:
        """Capacity, free and allocated bytes, largest free block, counters, free blocks per order."""
        raw = _Stats()
        _raise_for(_stats(self._handle, ctypes.byref(raw)))
        result: Dict[str, object] = {name: getattr(raw, name) for name, _ in _Stats._fields_
                                     if name not in ("free_blocks", "policy")}
        result["policy"] = self.policy
        result["free_blocks"] = list(raw.free_blocks[: raw.max_order + 1])
        return result

    def __str__(self) -> str:
        return self._render()
