"""The fuzz trial: atheris (libFuzzer for Python) on the line classifier for a bounded time,
starting from the corpus kept in ``reliability/corpus`` (what it finds new goes to scratch)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from reliability.trials import Trial

CORPUS = Path(__file__).resolve().parent / "corpus"


def fuzz_trial(work: Path, seconds: int) -> Trial:
    found = work / "found"
    found.mkdir(parents=True, exist_ok=True)
    log = work / "fuzz.log"
    args = [
        sys.executable,
        "-m",
        "reliability.fuzz_target",
        f"-max_total_time={seconds}",
        "-print_final_stats=1",
        "-rss_limit_mb=4096",
        f"-artifact_prefix={work}/",
        str(found),
        str(CORPUS),
    ]
    with log.open("wb") as out:
        code = subprocess.run(
            args, cwd=CORPUS.parents[1], stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    text = log.read_text(errors="replace")
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
    runs = int(execs.group(1)) if execs else 0
    crashes = sorted(str(p) for p in work.glob("crash-*"))
    name = f"atheris on the line classifier, {seconds}s from {len(list(CORPUS.iterdir()))} corpus inputs"
    if code == 0 and runs:
        return Trial("fuzz", name, True, detail=f"{runs:,} inputs, none raised or lost a line")
    tail = " | ".join(text.splitlines()[-8:])
    return Trial(
        "fuzz",
        name,
        False,
        detail=f"exit {code} after {runs:,} inputs",
        evidence=f"{', '.join(crashes) or log}: {tail}",
    )
