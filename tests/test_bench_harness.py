"""bench/harness.py: the per-thread CPU reading and the longest pause bench/e2e_smpp.py prints."""

from __future__ import annotations

import os
import threading
import time

from harness import longest_pause, thread_cpu

BURN = 0.2  # seconds of CPU time: /proc counts in ticks of 10 ms


def burn() -> None:
    """Spend BURN seconds of this thread's CPU time (bounded by work, not by the clock)."""
    until = time.thread_time() + BURN
    while time.thread_time() < until:
        pass


def test_the_main_threads_cpu_is_told_apart_from_the_others() -> None:
    before = thread_cpu(os.getpid())
    burn()
    on_main = thread_cpu(os.getpid()) - before

    worker = threading.Thread(target=burn)
    worker.start()
    worker.join()
    after_worker = thread_cpu(os.getpid()) - before - on_main

    assert on_main.main >= BURN * 0.75
    assert on_main.others < BURN / 2
    # The worker has ended: its time still counts, in the process's total.
    assert after_worker.others >= BURN * 0.75
    assert after_worker.main < BURN / 2


def test_the_longest_pause_is_found_in_any_order() -> None:
    assert longest_pause([3.0, 0.0, 0.5, 1.0, 3.1]) == (2.0, 1.0)
    assert longest_pause([0.25]) == (0.0, 0.0)
    assert longest_pause([]) == (0.0, 0.0)
