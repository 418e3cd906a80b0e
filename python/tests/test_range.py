# SPDX-License-Identifier: MIT
"""The Pythonic Range class: results, exceptions, statistics, and a seeded
differential run of both policies against a small model in Python."""
import os
import random
import unittest

import copy
import threading
import time
import json

import buddy
from buddy import BuddyError, BusyError, GeometryError, InvalidOffsetError, OutOfSpaceError, Range


class RangeBasics(unittest.TestCase):
    def test_alloc_free_size_and_stats(self):
        r = Range(1000, 1, "first_fit")
        self.assertEqual(r.alloc(100), 0)
        self.assertEqual(r.size(0), 128)
        stats = r.stats()
        self.assertEqual(stats.capacity, 1000)
        self.assertEqual(stats.allocated_bytes, 128)
        self.assertEqual(stats.free_bytes, 872)
        self.assertEqual(stats.live_blocks, 1)
        self.assertEqual(stats.policy, "first_fit")
        r.free(0)
        r.check()
        self.assertEqual(r.stats().free_blocks, (0, 0, 0, 1, 0, 1, 1, 1, 1, 1))

    def test_errors_raise_and_change_nothing(self):
        r = Range(4096, 16)
        r.alloc(64)
        before = str(r)
        with self.assertRaises(OutOfSpaceError):
            r.alloc(8192)
        with self.assertRaises(InvalidOffsetError):
            r.free(8)          # misaligned
        with self.assertRaises(InvalidOffsetError):
            r.free(32)         # interior
        with self.assertRaises(InvalidOffsetError):
            r.free(64)         # a free block
        with self.assertRaises(InvalidOffsetError):
            r.free(1 << 70)    # beyond 64 bits
        with self.assertRaises(ValueError):
            r.alloc(-1)
        with self.assertRaises(ValueError):
            r.reserve(1 << 64, 16)  # past 64 bits: never taken modulo 2^64 (as 0)
        with self.assertRaises(TypeError):
            r.free(None)
        with self.assertRaises(TypeError):
            r.alloc(True)      # a bool is not taken for an int
        self.assertEqual(str(r), before)
        self.assertEqual(r.stats().rejected_frees, 3)
        self.assertEqual(r.stats().alloc_failures, 1)

    def test_bad_geometry_and_policy(self):
        with self.assertRaises(BuddyError) as caught:
            Range(1024, 3)
        self.assertIn("BUDDY_EGEOMETRY", str(caught.exception))
        with self.assertRaises(ValueError):
            Range(1024, 1, "worst_fit")
        self.assertEqual(buddy.metadata_size(1024, 3), 0)
        self.assertGreater(buddy.metadata_size(1 << 30, 64), 0)

    def test_aligned_alloc_costs_no_memory(self):
        r = Range(8192, 16)
        self.assertEqual(r.alloc(16, alignment=4096), 0)
        self.assertEqual(r.alloc(16, alignment=4096), 4096)
        self.assertEqual(r.stats().allocated_bytes, 32)
        with self.assertRaises(ValueError):
            r.alloc(16, alignment=3)
        with self.assertRaises(OutOfSpaceError):
            r.alloc(16, alignment=4096)
        r.check()

    def test_the_smallest_alignment_is_kept(self):
        r = Range(64, 1)
        self.assertEqual((r.alloc(1), r.alloc(1, alignment=2)), (0, 2))  # not 1
        self.assertEqual((r.alloc_exact(1), r.alloc_exact(1, alignment=2)), (1, 4))  # not 3

    def test_exact_runs_take_what_they_ask(self):
        r = Range(1 << 20, 16)
        offset = r.alloc_exact(1033)           # 65 min blocks: 64 + 1
        self.assertEqual(r.size(offset), 1040)
        with self.assertRaises(InvalidOffsetError):
            r.free(offset + 1024)              # the run's later piece
        small = Range(8, 1)
        small.alloc_exact(5)                   # 4 + 1, the rest free
        self.assertEqual(str(small), "([0:4](([+4:1](5:1))(6:2)))")
        r.free(offset)
        self.assertEqual(r.stats().free_bytes, 1 << 20)
        r.check()

    def test_out_of_space_is_a_memory_error(self):
        r = Range(64, 1)
        r.alloc(64)
        with self.assertRaises(MemoryError):
            r.alloc(1)
        r.reset()
        self.assertEqual(str(r), "(0:64)")


class ForEngines(unittest.TestCase):
    """Reservations, a capacity that moves, user data, aligned runs and the dump."""

    def test_reserve_and_unreserve(self):
        r = Range(256, 16)
        r.reserve(20, 80)  # min blocks 1..6
        self.assertEqual(str(r), "(((((0:1)[#1:1])[#2:2])([#4:2]([#6:1](7:1))))(8:8))")
        stats = r.stats()
        self.assertEqual((stats.reserved_bytes, stats.reservations), (96, 1))
        with self.assertRaises(InvalidOffsetError):
            r.free(16)  # ERESERVED
        with self.assertRaises(BusyError):
            r.reserve(0, 32)
        before = str(r)
        with self.assertRaises(InvalidOffsetError):
            r.unreserve(16, 32)  # only part of it
        self.assertEqual(str(r), before)
        r.unreserve(16, 96)
        self.assertEqual(str(r), "(0:16)")
        r.check()

    def test_set_capacity(self):
        r = Range(640, 16, max_capacity=1024)
        self.assertEqual(r.stats().max_capacity, 1024)
        block = r.alloc(128)
        self.assertEqual(block, 512)
        with self.assertRaises(BusyError):
            r.set_capacity(320)
        r.free(block)
        r.set_capacity(320)
        self.assertEqual(r.stats().capacity, 320)
        with self.assertRaises(BuddyError):
            r.set_capacity(2048)  # beyond the metadata: ESMALL
        with self.assertRaises(GeometryError):
            r.set_capacity(0)  # no min block
        self.assertEqual(r.stats().capacity, 320)
        r.set_capacity(1024)
        self.assertEqual(str(r), "(0:64)")
        with self.assertRaises(GeometryError):
            Range(1024, 16, max_capacity=512)

    def test_threads_share_a_thread_safe_range(self):
        r = Range(1 << 24, 16, thread_safe=True)
        held, errors = [[] for _ in range(4)], []

        def work(mine):
            try:
                for step in range(2000):
                    if mine and step % 3 == 0:
                        r.free(mine.pop())
                    else:
                        mine.append(r.alloc_exact(16 + step % 700))
            except BuddyError as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(mine,)) for mine in held]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        offsets = [offset for mine in held for offset in mine]
        self.assertEqual(len(offsets), len(set(offsets)))  # none handed out twice
        self.assertEqual(r.stats().live_blocks, len(offsets))
        r.check()
        for offset in offsets:
            r.free(offset)
        self.assertEqual(r.stats().free_bytes, 1 << 24)

    def test_a_check_sees_no_call_half_done(self):
        # Each check walks 8 million min blocks while the other thread calls the
        # range: with the lock, those calls wait. It checks until 20 checks have
        # each met a call (within 20 s), so they meet on a busy machine too.
        r = Range(1 << 23, 1, thread_safe=True)
        done, checking, errors = threading.Event(), [False], []

        def churn():
            held = []
            while not done.is_set():
                if checking[0]:
                    checking[0] = False  # this check met a call
                held.append(r.alloc_exact(1 + len(held) % 300))
                if len(held) > 50:
                    r.free(held.pop(0))

        worker = threading.Thread(target=churn)
        worker.start()
        deadline, met = time.monotonic() + 20, 0
        try:
            while met < 20 and time.monotonic() < deadline:
                checking[0] = True
                try:
                    r.check()
                except BuddyError as error:  # pragma: no cover - reported below
                    errors.append(error)
                met += not checking[0]
        finally:
            done.set()
            worker.join()
        self.assertEqual(errors, [])
        r.check()

    def test_user_data_lives_with_the_allocation(self):
        r = Range(1024, 16, user_data=True)
        run = r.alloc_exact(80)
        self.assertEqual(r.get_user_data(run), 0)
        r.set_user_data(run, 2 ** 64 - 1)
        twin = copy.copy(r)
        self.assertEqual(twin.get_user_data(run), 2 ** 64 - 1)
        r.free(run)
        self.assertEqual(r.get_user_data(r.alloc(16)), 0)
        with self.assertRaises(BuddyError):
            Range(64, 16).set_user_data(0, 1)  # no user data: EINVAL

    def test_aligned_runs(self):
        r = Range(1024, 16)
        r.alloc(16)
        self.assertEqual(r.alloc_exact(48, alignment=256), 256)
        with self.assertRaises(ValueError):
            r.alloc_exact(48, alignment=48)

    def test_exact_heap(self):
        with buddy.Heap(bytearray(1 << 16), exact=True) as heap:
            block = heap.malloc(1033)
            self.assertEqual(heap.usable_size(block), 1040)

    def test_packed_runs_start_at_any_multiple_of_four(self):
        r = Range(32, 1)
        r.alloc(4)
        self.assertEqual(r.alloc_exact(9), 8)    # a multiple of its largest piece, 8
        r.free(8)
        self.assertEqual(r.alloc_packed(9), 4)   # pieces 4, 4 and 1
        self.assertEqual(r.size(4), 9)
        with self.assertRaises(InvalidOffsetError):
            r.free(8)                            # its second piece
        with self.assertRaises(TypeError):
            r.alloc_packed("9")
        r.check()
        aligned = Range(64, 1)
        aligned.alloc(4)
        self.assertEqual(aligned.alloc_packed(9, alignment=16), 16)  # not 4: the next multiple
        with self.assertRaises(ValueError):
            aligned.alloc_packed(9, alignment=48)
        aligned.check()
        with buddy.Heap(bytearray(1 << 16), packed=True) as heap:
            first, second = heap.malloc(64), heap.malloc(1033)
            self.assertEqual(heap.usable_size(second), 1040)
            heap.free(first)
            heap.free(second)

    def test_dump(self):
        r = Range(512, 16, max_capacity=1024, user_data=True)
        live = r.alloc(64)
        r.set_user_data(live, 7)
        r.reserve(256, 256)
        totals = json.loads(r.dump_json())
        self.assertEqual(totals["schema"], "buddy-range/1")
        self.assertEqual((totals["allocated"], totals["reserved"], totals["free"]), (64, 256, 192))
        self.assertNotIn("blocks", totals)
        blocks = json.loads(r.dump_json(blocks=True))["blocks"]
        self.assertEqual(blocks[0], {"offset": 0, "size": 64, "state": "live", "user_data": 7})
        self.assertEqual(blocks[-1], {"offset": 256, "size": 256, "state": "reserved"})


class Differential(unittest.TestCase):
    """Both policies against a list-of-blocks model written for obviousness."""

    @staticmethod
    def model_alloc(blocks, size, policy):
        order = max(size - 1, 0).bit_length()
        free = [(s, o) for s, (o, f) in blocks.items() if f and o >= order]
        if not free:
            return -1
        key = (lambda b: b[0]) if policy == "first_fit" else (lambda b: (b[1], b[0]))
        start, have = min(free, key=key)
        while have > order:
            have -= 1
            blocks[start + (1 << have)] = (have, True)
        blocks[start] = (order, False)
        return start

    @staticmethod
    def model_free(blocks, start, capacity):
        order, _ = blocks[start]
        blocks[start] = (order, True)
        while True:
            buddy_start = start ^ (1 << order)
            if blocks.get(buddy_start) != (order, True) or max(start, buddy_start) + (1 << order) > capacity:
                return
            del blocks[max(start, buddy_start)]
            start = min(start, buddy_start)
            order += 1
            blocks[start] = (order, True)

    def test_policies_match_the_model(self):
        seed = int(os.environ.get("BUDDY_SEED", "7"))
        print(f"\nDifferential: seed {seed} (set BUDDY_SEED to replay)")
        rng = random.Random(seed)
        for policy in ("best_fit", "first_fit"):
            for capacity in (1, 7, 64, 100, 1000):
                r = Range(capacity, 1, policy)
                blocks, start = {}, 0
                for order in reversed(range(capacity.bit_length())):
                    if capacity >> order & 1:
                        blocks[start] = (order, True)
                        start += 1 << order
                live = []
                for _ in range(400):
                    if live and rng.random() < 0.45:
                        offset = live.pop(rng.randrange(len(live)))
                        r.free(offset)
                        self.model_free(blocks, offset, capacity)
                    else:
                        size = rng.randint(0, capacity)
                        expected = self.model_alloc(blocks, size, policy)
                        if expected < 0:
                            with self.assertRaises(OutOfSpaceError):
                                r.alloc(size)
                        else:
                            self.assertEqual(r.alloc(size), expected)
                            live.append(expected)
                r.check()


if __name__ == "__main__":
    unittest.main()
