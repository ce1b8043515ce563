"""Job functions for the worker-pool tests (module level, so spawned workers can import them)."""
import time

from simulator.scenario.config import ScenarioError


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def allocate(n_bytes: int) -> int:
    return len(bytearray(n_bytes))


def refuse(lines: list[str]):
    raise ScenarioError(lines)


def fail():
    raise RuntimeError("a bug in a job")
