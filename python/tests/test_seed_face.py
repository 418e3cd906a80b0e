# SPDX-License-Identifier: MIT
"""Every expected output of shared/SPEC.md through the Python seed face."""
import random
import unittest

from buddy import BuddyMemoryManager


class SpecTable1024(unittest.TestCase):
    def setUp(self):
        self.m = BuddyMemoryManager(1024)

    def test_new_manager_is_one_free_block(self):
        self.assertEqual(str(self.m), "(0:1024)")

    def test_malloc_half(self):
        self.assertEqual(self.m.malloc(512), 0)
        self.assertEqual(str(self.m), "([0:512](512:512))")

    def test_oversize_malloc_fails_and_changes_nothing(self):
        self.assertEqual(self.m.malloc(10000), -1)
        self.assertEqual(str(self.m), "(0:1024)")

    def test_free_restores_the_root(self):
        self.m.malloc(512)
        self.assertTrue(self.m.free(0))
        self.assertEqual(str(self.m), "(0:1024)")

    def test_free_of_an_interior_offset_is_rejected(self):
        self.m.malloc(512)
        self.assertFalse(self.m.free(1))
        self.assertEqual(str(self.m), "([0:512](512:512))")

    def test_two_mallocs_then_fragmentation_then_coalescing(self):
        self.assertEqual(self.m.malloc(512), 0)
        self.assertEqual(self.m.malloc(120), 512)
        self.assertEqual(str(self.m), "([0:512](([512:128](640:128))(768:256)))")
        self.assertTrue(self.m.free(0))
        self.assertEqual(str(self.m), "((0:512)(([512:128](640:128))(768:256)))")
        self.assertEqual(self.m.malloc(520), -1)
        self.assertTrue(self.m.free(512))
        self.assertEqual(str(self.m), "(0:1024)")

    def test_random_churn_then_free_all_restores_the_root(self):
        # The seed's fuzz: sizes 1..largest free block, biased malloc/free.
        rng = random.Random(0)
        starts = []
        for threshold in (0.25, 0.5, 0.75):
            for _ in range(10000):
                largest = self.m._largest_free_block()
                if largest > 0 and (not starts or rng.random() <= threshold):
                    start = self.m.malloc(rng.randint(1, largest))
                    self.assertGreaterEqual(start, 0)
                    starts.append(start)
                else:
                    self.assertTrue(self.m.free(starts.pop(rng.randrange(len(starts)))))
        rng.shuffle(starts)
        for start in starts:
            self.assertTrue(self.m.free(start))
        self.assertEqual(str(self.m), "(0:1024)")


class CloudwuSequence32(unittest.TestCase):
    def test_sequence(self):
        b = BuddyMemoryManager(32)
        self.assertEqual(str(b), "(0:32)")
        steps = [
            ("malloc", 4, 0, 4, "((([0:4](4:4))(8:8))(16:16))"),
            ("malloc", 9, 16, 16, "((([0:4](4:4))(8:8))[16:16])"),
            ("malloc", 3, 4, 4, "(({[0:4][4:4]}(8:8))[16:16])"),
            ("malloc", 7, 8, 8, "{{{[0:4][4:4]}[8:8]}[16:16]}"),
            ("free", 4, True, None, "((([0:4](4:4))[8:8])[16:16])"),
            ("free", 0, True, None, "(((0:8)[8:8])[16:16])"),
            ("free", 8, True, None, "((0:16)[16:16])"),
            ("free", 16, True, None, "(0:32)"),
            ("malloc", 32, 0, 32, "[0:32]"),
            ("free", 0, True, None, "(0:32)"),
            ("malloc", 0, 0, 1, "((((([0:1](1:1))(2:2))(4:4))(8:8))(16:16))"),
            ("free", 0, True, None, "(0:32)"),
        ]
        for call, argument, result, size, tree in steps:
            with self.subTest(call=call, argument=argument):
                self.assertEqual(getattr(b, call)(argument), result)
                if size is not None:
                    self.assertEqual(b.size(result), size)
                self.assertEqual(str(b), tree)


class SeedEdges(unittest.TestCase):
    def test_size_of_an_interior_or_free_offset_is_minus_one(self):
        m = BuddyMemoryManager(32)
        m.malloc(8)
        self.assertEqual(m.size(0), 8)
        self.assertEqual(m.size(4), -1)
        self.assertEqual(m.size(8), -1)
        self.assertEqual(m.size(-1), -1)
        self.assertEqual(m.size(1 << 80), -1)

    def test_free_of_out_of_range_offsets_is_false(self):
        m = BuddyMemoryManager(32)
        self.assertFalse(m.free(-1))
        self.assertFalse(m.free(32))
        self.assertFalse(m.free(1 << 80))
        self.assertEqual(m.malloc(1 << 80), -1)

    def test_bad_arguments_raise(self):
        for size in (0, 3, -4):
            with self.assertRaises(ValueError):
                BuddyMemoryManager(size)
        with self.assertRaises(TypeError):
            BuddyMemoryManager(4.0)
        m = BuddyMemoryManager(16)
        with self.assertRaises(ValueError):
            m.malloc(-1)
        for call in (m.malloc, m.free, m.size):
            for bad in ("0", True):
                with self.assertRaises(TypeError):
                    call(bad)
        self.assertEqual(str(m), "(0:16)")


if __name__ == "__main__":
    unittest.main()
