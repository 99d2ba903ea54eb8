"""The mutation score per module, from what ``mutmut run`` left in ``mutants/`` (run by scripts/mutation).

Reads every ``mutants/incidentkit/**/*.py.meta`` (mutmut's result per mutant), leaves out the
mutants that ``tests/mutation-equivalents.toml`` lists as equivalent (no test can tell them from the
original), and prints one line per module: killed / scored, the score, and the survivors with the
line each one changed. A mutant that times out counts as killed (the tests noticed: they hung); one
no test runs counts as a survivor. An equivalent entry names the mutated line it excuses; when that
line no longer matches (the function changed and mutmut renumbered its mutants) the entry is stale,
the mutant is scored like any other, and the report says so.

    .venv/bin/python scripts/mutation_score.py [--min 80] [--pending] [MODULE_OR_PACKAGE ...]

``--pending`` lists the mutants worth running again instead: the survivors and those not run yet.

Exit status 1 when a selected module scores below ``--min`` or an equivalent entry is stale.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents.toml"

# mutmut's exit codes (mutmut/stats.py status_by_exit_code), folded into what the score needs
KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9}  # a test failed, pytest broke, timeout, crash
SURVIVED = {0, 5, 33, 35}  # tests passed, no test ran it, suspicious
NOT_RUN = {None, 2, 34}  # not checked yet, interrupted, skipped


@dataclass
class ModuleScore:
    """One module's mutants by outcome (mutant names)."""

    module: str
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return len(self.killed) + len(self.survived)

    @property
    def score(self) -> float | None:
        """Percent of scored mutants killed (None before any mutant ran)."""
        return 100.0 * len(self.killed) / self.scored if self.scored else None


@dataclass
class Report:
    modules: list[ModuleScore]
    stale: dict[str, str]  # mutant name -> why its equivalent entry no longer holds


def module_of(mutant: str) -> str:
    """``incidentkit.model.time.x_parse_utc__mutmut_2`` -> ``incidentkit.model.time``."""
    parts = mutant.partition("__mutmut_")[0].split(".")
    while parts and not parts[-1].startswith(("x_", "xǁ")):
        parts.pop()
    return ".".join(parts[:-1])


def selected(module: str, targets: Iterable[str]) -> bool:
    targets = list(targets)
    return not targets or any(module == t or module.startswith(t + ".") for t in targets)


def read_results(mutants: Path) -> dict[str, int | None]:
    """Every mutant's exit code, from the ``.meta`` files under *mutants*."""
    results: dict[str, int | None] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        results.update(json.loads(meta.read_text())["exit_code_by_key"])
    return results


def changed_line(diff: str) -> str:
    """The mutated line(s) of a unified diff, stripped and joined with `` / ``; what a deletion took
    away (more lines removed than added) as ``removed: ...``."""
    lines = [line for line in diff.splitlines() if not line.startswith(("+++", "---"))]
    added = [line[1:].strip() for line in lines if line.startswith("+")]
    removed = [line[1:].strip() for line in lines if line.startswith("-")]
    if len(removed) > len(added):
        return "removed: " + " / ".join(line for line in removed if line not in added)
    return " / ".join(added)


def score(
    results: dict[str, int | None],
    equivalents: dict[str, dict[str, str]],
    diff_of: Callable[[str], str],
    targets: Iterable[str] = (),
) -> Report:
    """Sort *results* into per-module scores; *diff_of* gives a mutant's diff, to check equivalents."""
    targets = list(targets)
    modules: dict[str, ModuleScore] = {}
    stale: dict[str, str] = {}
    for name, entry in equivalents.items():
        if name not in results:
            stale[name] = "no such mutant"
        elif changed_line(diff_of(name)) != entry.get("line", "").strip():
            stale[name] = f"the mutant now changes {changed_line(diff_of(name))!r}"
        elif results[name] in KILLED:
            stale[name] = "a test kills it: not equivalent"
    for name, code in sorted(results.items()):
        module = module_of(name)
        if not selected(module, targets):
            continue
        entry = modules.setdefault(module, ModuleScore(module))
        if code in NOT_RUN:
            entry.not_run.append(name)
        elif name in equivalents and name not in stale:
            entry.equivalent.append(name)
        elif code in KILLED:
            entry.killed.append(name)
        else:
            entry.survived.append(name)
    return Report(modules=[modules[m] for m in sorted(modules)], stale=stale)


def render(report: Report, diff_of: Callable[[str], str], minimum: float) -> str:
    lines = [f"{'module':44} {'killed':>7} / {'scored':<6} {'score':>6}  equivalent  not run"]
    for m in report.modules:
        shown = "   -  " if m.score is None else f"{m.score:5.1f}%"
        flag = " <" if m.score is not None and m.score < minimum else ""
        lines.append(
            f"{m.module:44} {len(m.killed):7} / {m.scored:<6} {shown}  {len(m.equivalent):10}  {len(m.not_run):7}{flag}"
        )
    killed = sum(len(m.killed) for m in report.modules)
    scored = sum(m.scored for m in report.modules)
    if scored:
        lines.append(f"{'all':44} {killed:7} / {scored:<6} {100.0 * killed / scored:5.1f}%")
    for m in report.modules:
        if m.survived:
            lines.append(f"\nsurvivors in {m.module}:")
            lines += [f"  {name.rpartition('.')[2]}: {changed_line(diff_of(name))}" for name in m.survived]
    if report.stale:
        lines.append("\nstale entries in tests/mutation-equivalents.toml (recheck and update them):")
        lines += [f"  {name}: {why}" for name, why in sorted(report.stale.items())]
    return "\n".join(lines)


def mutmut_diff(name: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    path = Path(*module_of(name).split("."))
    return get_diff_for_mutant(name, path=path / "__init__.py" if path.is_dir() else path.with_suffix(".py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="modules or packages, e.g. incidentkit.model")
    parser.add_argument("--min", type=float, default=80.0, help="lowest acceptable score per module (percent)")
    parser.add_argument("--pending", action="store_true", help="only list the survivors and the mutants not run yet")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # mutmut reads mutants/ relative to the checkout
    equivalents = tomllib.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}
    report = score(read_results(ROOT / "mutants"), equivalents, mutmut_diff, args.targets)
    if args.pending:
        for name in (name for m in report.modules for name in (*m.survived, *m.not_run)):
            print(name)  # nothing at all when nothing is pending: an empty line would be an empty pattern
        return 0
    print(render(report, mutmut_diff, args.min))
    low = [m for m in report.modules if m.score is not None and m.score < args.min]
    return 1 if low or report.stale else 0


if __name__ == "__main__":
    sys.exit(main())
