"""A trial's outcome and the suite's report: the table of trials and the JSON summary.

A trial passes when nothing was lost, nothing duplicated, no reader saw a torn snapshot and
every other expectation held; one that fails keeps its evidence (command, counts, log tail).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from platform_resources.core.markdown_table import markdown_table
from reliability.evidence import Contents


@dataclass(frozen=True)
class Trial:
    kind: str  # crash, concurrency, fuzz, property
    name: str
    passed: bool
    lost: int = 0
    duplicated: int = 0
    torn_reads: int = 0
    detail: str = ""
    evidence: str = ""  # for a failed trial: what to look at


def compare(expected: Mapping[str, Contents], got: Mapping[str, Contents]) -> tuple[int, int, list[str]]:
    """(rows lost, rows duplicated, tables whose contents differ) of ``got`` against ``expected``."""
    lost = duplicated = 0
    differ = []
    for name in sorted(set(expected) | set(got)):
        want, have = expected.get(name, Contents(0, 0)), got.get(name, Contents(0, 0))
        lost += max(0, want.rows - have.rows)
        duplicated += max(0, have.rows - want.rows)
        if want != have:
            differ.append(f"{name}: {have} where a clean run has {want}")
    return lost, duplicated, differ


def summary(trials: Sequence[Trial]) -> dict:
    def totals(group: Sequence[Trial]) -> dict:
        return {
            "trials": len(group),
            "passed": sum(t.passed for t in group),
            "lost": sum(t.lost for t in group),
            "duplicated": sum(t.duplicated for t in group),
            "torn_reads": sum(t.torn_reads for t in group),
        }

    kinds = sorted({t.kind for t in trials})
    return {**totals(trials), "per_kind": {k: totals([t for t in trials if t.kind == k]) for k in kinds}}


@dataclass
class Report:
    trials: list[Trial] = field(default_factory=list)

    def add(self, trial: Trial) -> None:
        self.trials.append(trial)
        mark = "pass" if trial.passed else "FAIL"
        print(f"  [{mark}] {trial.kind} {trial.name}: {trial.detail}", flush=True)
        if not trial.passed:
            print(f"    evidence: {trial.evidence}", flush=True)

    def table(self) -> str:
        rows = [
            [t.kind, t.name, "pass" if t.passed else "FAIL", t.lost, t.duplicated, t.torn_reads, t.detail]
            for t in self.trials
        ]
        return markdown_table(["kind", "trial", "result", "lost", "duplicated", "torn reads", "detail"], rows)

    def summary_json(self) -> str:
        return json.dumps(summary(self.trials))
