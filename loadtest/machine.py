"""How fast this machine is right now, printed with every bench figure: on a
shared virtual machine the figures move with it."""

import os
import time


def cpu_probe_ms() -> float:
    """Milliseconds of CPU a fixed piece of Python takes, best of three: how
    fast this machine's cores are right now. On a shared virtual machine it
    moves by a third from one hour to the next, and every figure with it."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        sum(i * i for i in range(2_000_000))
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def load_average() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}
