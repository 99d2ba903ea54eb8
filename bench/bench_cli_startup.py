"""Start-up of the command line: ``incidentkit --help``, every ``COMMAND --help`` and ``draft --replay``
of the bundled example, against two floors measured in the same run: ``python -c pass`` (the
interpreter) and ``python -c "import typer"`` (the CLI library). Goals: every ``--help`` <= 0.15 s,
``draft --replay`` <= 0.35 s.

    .venv/bin/python bench/bench_cli_startup.py [RUNS] [--tree DIR]

Each command runs RUNS times (default 15), interleaved so that a busy machine slows every figure
alike. Printed per command: the best CPU time (user + system, of the child process: steadier than
wall time on a shared machine) with its ratios to the floors, and the best wall time. ``--tree``
measures another copy of incidentkit (e.g. ``git archive COMMIT | tar -x -C /tmp/before``) with
the interpreter running this script, so a venv with other package versions gives "before" figures.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELP_GOAL, REPLAY_GOAL = 0.15, 0.35


def commands(tree: Path) -> list[list[str]]:
    """Every command path of the CLI in *tree*, as arguments (walked in a child process)."""
    walk = (
        "import typer.main\n"
        "from incidentkit.cli import app\n"
        "def walk(path, command):\n"
        "    print(' '.join(path))\n"
        "    if hasattr(command, 'list_commands'):\n"
        "        for name in command.list_commands(None):\n"
        "            walk([*path, name], command.get_command(None, name))\n"
        "walk([], typer.main.get_command(app))\n"
    )
    done = subprocess.run([sys.executable, "-c", walk], env=_env(tree), cwd=tree, capture_output=True, text=True, check=True)
    return [line.split() for line in done.stdout.splitlines()]


def _env(tree: Path, home: str | None = None) -> dict[str, str]:
    """As an installed tool runs: compiled modules cached (in the temp home, not the tree)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTKIT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    if home:
        env["INCIDENTKIT_HOME"] = home
        env["PYTHONPYCACHEPREFIX"] = str(Path(home) / "pycache")
    return env


def main(argv: list[str]) -> int:
    runs = int(next((a for a in argv[1:] if a.isdigit()), "15"))
    tree = Path(argv[argv.index("--tree") + 1]).resolve() if "--tree" in argv else ROOT
    example = ROOT / "data" / "examples" / "backport-crash"
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        cases: dict[str, list[str]] = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "import typer (floor)": [sys.executable, "-c", "import typer"],
        }
        for path in commands(tree):
            cases[" ".join(["incidentkit", *path, "--help"])] = [sys.executable, "-m", "incidentkit", *path, "--help"]
        replay = ["draft", "--replay", str(example), "--no-store"]
        cases["incidentkit draft --replay EXAMPLE"] = [sys.executable, "-m", "incidentkit", *replay]
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        wall: dict[str, list[float]] = {name: [] for name in cases}
        for argv_ in cases.values():  # warm-up: compiled modules and templates cached, as after install
            subprocess.run(argv_, env=_env(tree, home), cwd=tree, capture_output=True, check=True)
        for _ in range(runs):
            for name, argv_ in cases.items():
                before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
                subprocess.run(argv_, env=_env(tree, home), cwd=tree, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=True)  # fmt: skip
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    floor, typer_floor = min(cpu["python -c pass (floor)"]), min(cpu["import typer (floor)"])
    print(f"{tree}, {sys.executable}: best of {runs} runs")
    print(f"  {'command':<48} {'CPU s':>6}  {'/pass':>6} {'/typer':>6}  {'wall s':>6}")
    worst_help = 0.0
    for name, values in cpu.items():
        best = min(values)
        if name.endswith("--help"):
            worst_help = max(worst_help, best)
        print(f"  {name:<48} {best:6.3f}  {best / floor:5.1f}x {best / typer_floor:5.1f}x  {min(wall[name]):6.3f}")
    replay_best = min(cpu["incidentkit draft --replay EXAMPLE"])
    print(f"slowest --help: {worst_help:.3f} s CPU (goal <= {HELP_GOAL} s: {'met' if worst_help <= HELP_GOAL else 'MISSED'})")
    print(f"draft --replay: {replay_best:.3f} s CPU (goal <= {REPLAY_GOAL} s: {'met' if replay_best <= REPLAY_GOAL else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
