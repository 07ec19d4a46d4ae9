"""Import time of the configuration module, with the text fields' help built lazily.

    .venv/bin/python bench/bench_conf_import.py [--rounds 30] [--against DIR]

Each round starts fresh interpreters (no Django settings needed) and measures:

(a) `python -X importtime -c "import saleor_sms_plugin.conf"`: the module's own time (`self`)
    and with what it imports (`cumulative`), as Python reports them;
(b) the same import, then every field's help read (what the Dashboard's form asks for), timed
    in the process by the wall clock and in CPU time: reading the text fields' help renders
    every shipped text, the work an import paid for when it built the form's help eagerly.

`--against DIR` measures (a) for another copy of the package in the same rounds, e.g. an
earlier commit's: `git archive <commit> saleor_sms_plugin | tar -x -C DIR`.

It prints medians and minimums, and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

READ_EVERY_HELP = """
import time
start, start_cpu = time.perf_counter(), time.process_time()
import saleor_sms_plugin.conf as conf
imported, imported_cpu = time.perf_counter(), time.process_time()
for field in conf.FIELDS:
    str(field.help_text)
print(imported - start, time.perf_counter() - imported)
print(imported_cpu - start_cpu, time.process_time() - imported_cpu)
"""


def import_times(source: Path) -> tuple[float, float]:
    """The module's self and cumulative import time in ms, from `-X importtime`.

    Run in `source`, whose package comes first on the path (`-c` puts the working directory
    there)."""
    report = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import saleor_sms_plugin.conf"],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in report.splitlines():
        if line.endswith("| saleor_sms_plugin.conf"):
            own, cumulative = line.split(":", 1)[1].split("|")[:2]
            return int(own) / 1000, int(cumulative) / 1000
    raise RuntimeError("saleor_sms_plugin.conf is missing from the import time report")


def import_then_help() -> list[float]:
    """The import and the reading of every help text in one fresh interpreter, in ms: wall
    clock, then CPU time (less disturbed by other processes on a busy machine)."""
    output = subprocess.run(
        [sys.executable, "-c", READ_EVERY_HELP],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(value) * 1000 for value in output.split()]


def describe(name: str, values: list[float]) -> str:
    return f"{name:46} median {statistics.median(values):7.1f} ms   min {min(values):7.1f} ms"


def ratio(name: str, numerator: list[float], denominator: list[float]) -> str:
    return f"{name:46} {statistics.median(numerator) / statistics.median(denominator):7.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--against", type=Path, help="another copy of the package's parent")
    arguments = parser.parse_args()
    sources = {"this checkout": ROOT}
    if arguments.against:
        sources[str(arguments.against)] = arguments.against.resolve()
    figures: dict[str, list[float]] = {}
    for source in sources.values():
        import_times(source)  # compiles the bytecode outside the figures
    for _ in range(arguments.rounds):
        for name, source in sources.items():
            own, cumulative = import_times(source)
            figures.setdefault(f"{name}: self", []).append(own)
            figures.setdefault(f"{name}: cumulative", []).append(cumulative)
        measured = zip(
            ("import", "help", "import CPU", "help CPU"), import_then_help(), strict=True
        )
        for name, value in measured:
            figures.setdefault(name, []).append(value)
    print(f"{arguments.rounds} rounds, fresh interpreters")
    for name in sources:
        print(describe(f"(a) {name}, the module's own", figures[f"{name}: self"]))
        print(describe(f"(a) {name}, with what it imports", figures[f"{name}: cumulative"]))
    for clock in ("", " CPU"):
        print(describe(f"(b) import{clock}", figures[f"import{clock}"]))
        print(describe(f"(b) then every help text{clock}", figures[f"help{clock}"]))
        pairs = zip(figures[f"import{clock}"], figures[f"help{clock}"], strict=True)
        eager = [imported + helped for imported, helped in pairs]
        print(ratio(f"(b) import and every help / import{clock}", eager, figures[f"import{clock}"]))
    if arguments.against:
        against = str(arguments.against)
        print(
            ratio(
                "(a) self: --against / this checkout",
                figures[f"{against}: self"],
                figures["this checkout: self"],
            )
        )


if __name__ == "__main__":
    main()
