# SPDX-License-Identifier: MIT
"""The C library under the package: where it is found, and its calls and
structures declared for ctypes. The package's classes (``__init__.py``) call
only what this module declares."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import List

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
    raise ImportError("libbuddy not found; pip install the package, build it (see README) or set "
                      "BUDDY_LIBRARY. Tried: " + ", ".join(str(p) for p in tried))


_lib = _load()
library_path = _lib._name

_u64, _i64, _size, _int = ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t, ctypes.c_int
_handle = ctypes.c_void_p
_MAX_ORDER = 62


class _Stats(ctypes.Structure):
    _fields_ = [
        ("capacity", _u64), ("max_capacity", _u64), ("min_block_size", _u64),
        ("free_bytes", _u64), ("allocated_bytes", _u64), ("reserved_bytes", _u64),
        ("reservations", _u64), ("largest_free_block", _u64), ("live_blocks", _u64),
        ("peak_allocated_bytes", _u64), ("alloc_failures", _u64), ("rejected_frees", _u64),
        ("policy", _int), ("max_order", ctypes.c_uint), ("free_blocks", _u64 * (_MAX_ORDER + 1)),
    ]


class _Config(ctypes.Structure):
    _fields_ = [("capacity", _u64), ("max_capacity", _u64), ("min_block_size", _u64),
                ("policy", _int), ("flags", ctypes.c_uint), ("lock", ctypes.c_void_p),
                ("unlock", ctypes.c_void_p), ("lock_context", ctypes.c_void_p)]


_USER_DATA = 1  # BUDDY_RANGE_USER_DATA
_THREAD_SAFE = 2  # BUDDY_RANGE_THREAD_SAFE
_DUMP_BLOCKS = 1  # BUDDY_DUMP_BLOCKS


def _declare(name, result, *arguments):
    function = getattr(_lib, name)
    function.restype = result
    function.argtypes = list(arguments)
    return function


_P = ctypes.POINTER
_status_str = _declare("buddy_status_str", ctypes.c_char_p, _int)
_version = _declare("buddy_version", ctypes.c_char_p)
_metadata_size = _declare("buddy_range_metadata_size", _size, _u64, _u64)
_metadata_size_config = _declare("buddy_range_metadata_size_config", _size, _P(_Config))
_init_config = _declare("buddy_range_init_config", _int, _P(_handle), _handle, _size, _P(_Config))
_attach = _declare("buddy_range_attach", _int, _P(_handle), _handle, _size)
_alloc = _declare("buddy_range_alloc", _int, _handle, _u64, _P(_u64))
_alloc_exact = _declare("buddy_range_alloc_exact", _int, _handle, _u64, _P(_u64))
_alloc_aligned = _declare("buddy_range_alloc_aligned", _int, _handle, _u64, _u64, _P(_u64))
_alloc_exact_aligned = _declare("buddy_range_alloc_exact_aligned", _int, _handle, _u64, _u64,
                                _P(_u64))
_alloc_packed_aligned = _declare("buddy_range_alloc_packed_aligned", _int, _handle, _u64, _u64,
                                 _P(_u64))
_set_capacity = _declare("buddy_range_set_capacity", _int, _handle, _u64)
_reserve = _declare("buddy_range_reserve", _int, _handle, _u64, _u64)
_unreserve = _declare("buddy_range_unreserve", _int, _handle, _u64, _u64)
_set_user_data = _declare("buddy_range_set_user_data", _int, _handle, _u64, _u64)
_get_user_data = _declare("buddy_range_get_user_data", _int, _handle, _u64, _P(_u64))
_dump_json = _declare("buddy_range_dump_json", _size, _handle, ctypes.c_char_p, _size, ctypes.c_uint)
_free = _declare("buddy_range_free", _int, _handle, _u64)
_block_size = _declare("buddy_range_size", _int, _handle, _u64, _P(_u64))
_resize = _declare("buddy_range_resize", _int, _handle, _u64, _u64)
_reset = _declare("buddy_range_reset", _int, _handle)
_stats = _declare("buddy_range_get_stats", _int, _handle, _P(_Stats))
_check = _declare("buddy_range_check", _int, _handle)
_format = _declare("buddy_range_format", _size, _handle, ctypes.c_char_p, _size)
_seed_malloc = _declare("buddy_seed_malloc", _i64, _handle, _i64)
_seed_free = _declare("buddy_seed_free", ctypes.c_bool, _handle, _i64)
_seed_size = _declare("buddy_seed_size", _i64, _handle, _i64)


class _HeapConfig(ctypes.Structure):
    _fields_ = [("min_block_size", _size), ("max_alignment", _size), ("policy", _int),
                ("flags", ctypes.c_uint), ("lock", _handle), ("unlock", _handle),
                ("lock_context", _handle)]


class _HeapFailure(ctypes.Structure):
    _fields_ = [("reason", _int), ("requested", _size), ("free_bytes", _size),
                ("largest_free_block", _size)]


_HEAP_VISITOR = ctypes.CFUNCTYPE(_int, _handle, _size, ctypes.c_bool, _handle)
_heap_metadata_size = _declare("buddy_heap_metadata_size", _size, _size, _P(_HeapConfig))
_heap_init = _declare("buddy_heap_init_external", _int, _P(_handle), _handle, _size, _handle,
                      _size, _P(_HeapConfig))
_heap_fini = _declare("buddy_heap_fini", _int, _handle)
_heap_malloc = _declare("buddy_heap_malloc", _handle, _handle, _size)
_heap_calloc = _declare("buddy_heap_calloc", _handle, _handle, _size, _size)
_heap_realloc = _declare("buddy_heap_realloc", _handle, _handle, _handle, _size)
_heap_aligned = _declare("buddy_heap_aligned_alloc", _handle, _handle, _size, _size)
_heap_free = _declare("buddy_heap_free", _int, _handle, _handle)
_heap_usable = _declare("buddy_heap_usable_size", _size, _handle, _handle)
_heap_reset = _declare("buddy_heap_reset", _int, _handle)
_heap_walk = _declare("buddy_heap_walk", _int, _handle, _HEAP_VISITOR, _handle)
_heap_failure = _declare("buddy_heap_last_failure", _int, _handle, _P(_HeapFailure))
_heap_stats = _declare("buddy_heap_get_stats", _int, _handle, _P(_Stats))
_heap_check = _declare("buddy_heap_check", _int, _handle)
