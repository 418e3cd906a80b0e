# SPDX-License-Identifier: MIT
"""What Python users expect of the package: the version, Stats as a dataclass,
context managers, repr, copies that are independent, the Heap over a bytearray
or an mmap, errors that leave the state as it was, and the library found where
the package's docstring says."""
import copy
import ctypes
import ctypes.util
import dataclasses
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import buddy
from buddy import BuddyError, BuddyMemoryManager, Heap, InvalidOffsetError, OutOfSpaceError, Range
from buddy import _native


class Package(unittest.TestCase):
    def test_version_matches_the_library_build(self):
        self.assertRegex(buddy.__version__, r"^\d+\.\d+\.\d+$")

    def test_stats_is_a_frozen_dataclass(self):
        stats = Range(1000, 1).stats()
        self.assertTrue(dataclasses.is_dataclass(stats))
        self.assertEqual(stats.capacity, 1000)
        self.assertEqual(stats.policy, "best_fit")
        with self.assertRaises(dataclasses.FrozenInstanceError):
            stats.capacity = 1

    def test_policy_aliases_match_the_command_line(self):
        self.assertEqual(Range(64, 1, "first-fit").policy, "first_fit")
        self.assertEqual(Range(64, 1, "best").policy, "best_fit")


class Copies(unittest.TestCase):
    def test_a_copied_manager_is_independent(self):
        m = BuddyMemoryManager(32)
        m.malloc(4)
        twin = copy.copy(m)
        self.assertTrue(twin.free(0))
        self.assertEqual(str(twin), "(0:32)")
        self.assertEqual(str(m), "((([0:4](4:4))(8:8))(16:16))")
        del m  # the twin keeps working: nothing is shared
        self.assertEqual(twin.malloc(32), 0)

    def test_a_deep_copied_range_is_independent(self):
        r = Range(1024, 16)
        offset = r.alloc(100)
        twin = copy.deepcopy(r)
        twin.free(offset)
        self.assertEqual(r.size(offset), 128)
        with self.assertRaises(InvalidOffsetError):
            twin.size(offset)
        twin.check()
        r.check()

    def test_a_heap_cannot_be_copied(self):
        with Heap(bytearray(4096)) as heap, self.assertRaises(TypeError):
            copy.copy(heap)


class Sizes(unittest.TestCase):
    def test_huge_seed_sizes_raise_out_of_space(self):
        for size in (2 ** 62, 2 ** 63, 2 ** 64):
            with self.assertRaises(OutOfSpaceError, msg=size):
                BuddyMemoryManager(size)

    def test_offsets_past_64_bits_are_out_of_range_never_wrapped(self):
        with Range(1 << 20, 64) as r:
            r.alloc(64)  # live at 0, where 2^64 would wrap to
            for offset in (2 ** 64, -(2 ** 64), 2 ** 70):
                with self.assertRaises(InvalidOffsetError, msg=offset):
                    r.size(offset)
                with self.assertRaises(InvalidOffsetError, msg=offset):
                    r.free(offset)
            self.assertEqual(r.size(0), 64)

    def test_sizes_past_64_bits_are_too_big_never_wrapped(self):
        with Range(1 << 20, 64) as r:
            for size in (2 ** 64, 2 ** 64 + 64, 2 ** 100):
                for alloc in (r.alloc, r.alloc_exact, r.alloc_packed):
                    for alignment in (1, 64):
                        with self.assertRaises(OutOfSpaceError, msg=(alloc.__name__, size)):
                            alloc(size, alignment)
            self.assertIn("live_blocks=0", repr(r))

    def test_impossible_geometry_is_a_value_error(self):
        with self.assertRaises(ValueError):
            Range(1024, 3)
        with self.assertRaises(ValueError):
            Range(2 ** 64, 1)


class ContextManagers(unittest.TestCase):
    def test_range_closes(self):
        with Range(1 << 20, 64) as r:
            r.alloc(100)
            self.assertIn("live_blocks=1", repr(r))
        self.assertEqual(repr(r), "<Range closed>")
        with self.assertRaises(ValueError):
            r.alloc(1)
        with self.assertRaises(ValueError):
            with r:  # a closed range cannot be entered again
                pass  # pragma: no cover - never runs
        r.close()  # twice is fine

    def test_heap_releases_its_region(self):
        region = bytearray(1 << 16)
        with Heap(region) as heap:
            heap.malloc(10)
            with self.assertRaises(BufferError):
                region.extend(b"x")  # pinned while the heap is open
        region.extend(b"x")
        self.assertEqual(repr(heap), "<Heap closed>")


class HeapFace(unittest.TestCase):
    def test_malloc_realloc_free_keep_bytes_and_stats(self):
        region = bytearray(1 << 20)
        with Heap(region, min_block_size=16) as heap:
            a = heap.malloc(100)
            self.assertEqual(heap.usable_size(a), 128)
            heap.view(a)[:5] = b"buddy"
            self.assertEqual(bytes(region[a:a + 5]), b"buddy")
            b = heap.realloc(a, 5000)
            self.assertEqual(bytes(heap.view(b)[:5]), b"buddy")
            self.assertEqual(heap.usable_size(b), 8192)
            z = heap.calloc(10, 10)
            self.assertEqual(bytes(heap.view(z)), bytes(heap.usable_size(z)))
            p = heap.aligned_alloc(4096, 10)
            self.assertEqual(heap.usable_size(p) >= 10, True)
            stats = heap.stats()
            self.assertEqual(stats.live_blocks, 3)
            self.assertEqual(sum(blk.size for blk in heap.blocks() if blk.is_live),
                             stats.allocated_bytes)
            for offset in (b, z, p):
                heap.free(offset)
            heap.free(None)
            self.assertIsNone(heap.realloc(heap.malloc(1), 0))
            self.assertEqual(heap.stats().live_blocks, 0)
            heap.check()

    def test_bad_frees_and_failures_change_nothing(self):
        with Heap(bytearray(1 << 16)) as heap:
            a = heap.malloc(100)
            before = list(heap.blocks())
            for bad in (a + 16, a + 1, -1, 1 << 16, 1 << 20):
                with self.assertRaises(InvalidOffsetError, msg=bad):
                    heap.free(bad)
            with self.assertRaises(OutOfSpaceError) as caught:
                heap.malloc(1 << 20)
            self.assertIn("larger than the largest block", str(caught.exception))
            with self.assertRaises(InvalidOffsetError):
                heap.realloc(a + 16, 10)
            self.assertEqual(before, list(heap.blocks()))
            heap.free(a)
            with self.assertRaises(InvalidOffsetError):
                heap.free(a)  # a double free
            # The offsets outside the region never reach the library; the others are counted.
            self.assertEqual(heap.stats().rejected_frees, 3)

    def test_over_an_mmap(self):
        with mmap.mmap(-1, 1 << 16) as region:
            heap = Heap(region, policy="first_fit")
            offset = heap.malloc(64)
            heap.view(offset)[:3] = b"abc"
            self.assertEqual(region[offset:offset + 3], b"abc")
            heap.close()  # releases the mmap, which may then close

    def test_the_configuration_reaches_the_library(self):
        with Heap(bytearray(1 << 16), min_block_size=32, max_alignment=256) as heap:
            self.assertEqual(heap.usable_size(heap.malloc(1)), 32)
            heap.aligned_alloc(256, 1)
            with self.assertRaisesRegex(OutOfSpaceError, "a bad request"):
                heap.aligned_alloc(512, 1)  # past max_alignment

    def test_a_fragmented_failure_names_the_largest_free_block(self):
        with Heap(bytearray(1 << 12), min_block_size=64, max_alignment=64) as heap:
            blocks = []
            while len(blocks) < 64:
                try:
                    blocks.append(heap.malloc(64))
                except OutOfSpaceError:
                    break
            for offset in blocks[::2]:  # each one's buddy stays live: nothing merges
                heap.free(offset)
            self.assertGreaterEqual(heap.stats().free_bytes, 128)
            with self.assertRaisesRegex(OutOfSpaceError, r"fragmented: the largest free "
                                                         r"block is 64\)$"):
                heap.malloc(128)

    def test_read_only_regions_are_refused(self):
        with self.assertRaisesRegex(TypeError, "region must be writable"):
            Heap(bytes(4096))
        with self.assertRaises(BuddyError):
            Heap(bytearray(8))


class Structures(unittest.TestCase):
    def test_stats_is_as_large_as_the_library_writes(self):
        size = ctypes.sizeof(_native._Stats)
        guarded = (ctypes.c_ubyte * (size + 64))(*([0xA5] * (size + 64)))
        with Range(1 << 20, 1) as r:
            _native._stats(r._live(), ctypes.cast(guarded, ctypes.POINTER(_native._Stats)))
        self.assertEqual(bytes(guarded[size:]), b"\xa5" * 64)


class Loader(unittest.TestCase):
    """import buddy finds the library through BUDDY_LIBRARY, then beside the
    package, then in the repository's build folder, then on the system. Each
    case imports a copy of the package, in a folder with no build beside it."""

    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="buddy-loader-"))
        self.addCleanup(shutil.rmtree, self.work)
        self.package = self.work / "pkg" / "buddy"
        shutil.copytree(Path(buddy.__file__).parent, self.package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so*", "*.dylib", "*.dll"))
        self.library = Path(buddy.library_path)

    def copy_library(self, folder):
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.library, folder / "libbuddy.so")).resolve()

    def imported(self, library=None):
        env = dict(os.environ, PYTHONPATH=str(self.work / "pkg"), PYTHONDONTWRITEBYTECODE="1")
        env.pop("BUDDY_LIBRARY", None)
        if library is not None:
            env["BUDDY_LIBRARY"] = str(library)
        return subprocess.run([sys.executable, "-c", "import buddy; print(buddy.library_path)"],
                              env=env, cwd=self.work, capture_output=True, text=True, timeout=60)

    def test_beside_the_package(self):
        beside = self.copy_library(self.package)
        seen = self.imported()
        self.assertEqual(seen.returncode, 0, seen.stderr)
        self.assertEqual(Path(seen.stdout.strip()), beside)

    def test_buddy_library_comes_first(self):
        self.copy_library(self.package)
        chosen = self.copy_library(self.work / "elsewhere")
        seen = self.imported(chosen)
        self.assertEqual(seen.returncode, 0, seen.stderr)
        self.assertEqual(Path(seen.stdout.strip()), chosen)

    def test_nothing_found_is_an_import_error_naming_each_place(self):
        if ctypes.util.find_library("buddy"):
            self.skipTest("a libbuddy is installed on this system, so one is always found")
        missing = self.work / "missing" / "libbuddy.so"
        seen = self.imported(missing)
        self.assertNotEqual(seen.returncode, 0)
        self.assertIn("ImportError: libbuddy not found", seen.stderr)
        self.assertIn(f"Tried: {missing}, {self.package.resolve() / 'libbuddy.so'}", seen.stderr)

    def test_a_bare_name_from_the_system_is_loaded(self):
        bare = ctypes.util.find_library("c")
        if not bare or os.sep in bare:
            self.skipTest("this system's find_library gives no bare name to load")
        with mock.patch.object(_native, "_candidates", return_value=[Path(bare)]):
            self.assertEqual(_native._load()._name, bare)


if __name__ == "__main__":
    unittest.main()
