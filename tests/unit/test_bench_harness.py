"""bench/harness.py's per-thread CPU reading, which bench/e2e_smpp.py prints per OTP."""

from __future__ import annotations

import os
import threading
import time

from harness import thread_cpu

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
