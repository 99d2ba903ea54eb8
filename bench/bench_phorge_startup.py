"""How long the real-Phorge test fixture takes from nothing to ready (tests/servers/phorge.py).

    .venv/bin/python bench/bench_phorge_startup.py [RUNS] [--on-disk]

Starts and stops a fresh Phorge RUNS times (default 3) and prints each run's total and step times
(steps overlap: MariaDB starts while the sources unpack, php -S while the schema loads).
``--on-disk`` keeps the site in the temp dir instead of /dev/shm.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.phorge import running_phorge  # noqa: E402


def main(argv: list[str]) -> int:
    runs = int(next((a for a in argv[1:] if a.isdigit()), "3"))
    in_memory = "--on-disk" not in argv
    totals = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-phorge-") as tmp:
            with running_phorge(Path(tmp) / "site", in_memory=in_memory) as phorge:
                stop_began = time.monotonic()
                totals.append(phorge.startup_seconds)
                steps = ", ".join(f"{name} {seconds:.2f}" for name, seconds in phorge.timings.items())
            print(
                f"run {run + 1}: ready in {phorge.startup_seconds:.2f} s ({steps}); stop {time.monotonic() - stop_began:.2f} s"
            )
    print(
        f"median {statistics.median(totals):.2f} s, min {min(totals):.2f} s, max {max(totals):.2f} s over {runs} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
