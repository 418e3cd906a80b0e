# SPDX-License-Identifier: MIT
"""What Python users expect of the package: the version, Stats as a dataclass,
context managers, repr, copies that are independent, the Heap over a bytearray
or an mmap, and errors that leave the state as it was."""
import copy
import dataclasses
import mmap
import unittest

import buddy
from buddy import BuddyError, BuddyMemoryManager, Heap, InvalidOffsetError, OutOfSpaceError, Range


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

    def test_read_only_regions_are_refused(self):
        with self.assertRaisesRegex(TypeError, "region must be writable"):
            Heap(bytes(4096))
        with self.assertRaises(BuddyError):
            Heap(bytearray(8))


if __name__ == "__main__":
    unittest.main()
