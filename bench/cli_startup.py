"""Start-up time of the ``aitbc`` command, against the interpreter's own start-up.

    .venv/bin/python bench/cli_startup.py [--runs 15]

Runs, alternating so machine load hits each alike, ``python -c pass`` (the baseline),
``aitbc --help``, ``aitbc jobs --help`` (one command module loaded) and ``import aitbc``
plus its client (what an SDK script pays), each as a fresh process after one warm-up
run of each (bytecode cached, files in the page cache). Prints the median wall time and
the median CPU time (user + system, from the OS) of each and the ratio of wall times
against the baseline. The target is ``aitbc --help`` under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "aitbc --help": [str(BIN / "aitbc"), "--help"],
    "aitbc jobs --help": [str(BIN / "aitbc"), "jobs", "--help"],
    "import aitbc.AITBCClient": [sys.executable, "-c", "from aitbc import AITBCClient"],
}
TARGET_SECONDS = 0.5


def run_once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run of ``argv``, output discarded."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: silence it, then become the measured program
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each case")
    args = parser.parse_args()
    for argv in CASES.values():  # warm-up: bytecode written, files cached
        run_once(argv)
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    cpus: dict[str, list[float]] = {name: [] for name in CASES}
    names = list(CASES)
    for i in range(args.runs):
        # rotate the order each round so no case always runs first or last
        for name in names[i % len(names) :] + names[: i % len(names)]:
            wall, cpu = run_once(CASES[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
    baseline = statistics.median(walls["python -c pass"])
    print(f"{'case':<26}{'median wall':>13}{'median cpu':>12}{'x baseline':>12}")
    for name in CASES:
        wall = statistics.median(walls[name])
        cpu = statistics.median(cpus[name])
        print(f"{name:<26}{wall * 1000:>10.0f} ms{cpu * 1000:>9.0f} ms{wall / baseline:>11.1f}x")
    helped = statistics.median(walls["aitbc --help"])
    verdict = "under" if helped < TARGET_SECONDS else "OVER"
    print(f"aitbc --help: {helped:.3f} s median, {verdict} the {TARGET_SECONDS} s target")


if __name__ == "__main__":
    main()
