"""Benchmark: codex-release's wheel writer against `python -m build --wheel` on the real runtime.

Fetches (or reuses from the toolkit cache) the linux-x64 Codex platform package of the pinned
version, stages it once with `stage-runtime` (voice runtime left out, as released), then builds the
wheel of that one staged tree with both, interleaved, N times:

  hatchling   `python -m build --wheel --no-isolation --outdir OUT STAGING`
  ours        `python -c "write_wheel(STAGING, OUT)"` (a fresh interpreter too, so both pay start-up)

Both wheels must hold the same members (names, modes, sizes, CRCs). Prints a markdown table for
docs/performance.md. Exits 1 if ours takes more than a quarter of hatchling's wall time (compared on the
fastest run of each, the one least disturbed by other load on the machine; medians are printed
too) or is larger than hatchling's wheel.

    python scripts/bench_runtime_wheel.py [--repeat 3] [--package-dir DIR] [--levels 4,5,6]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from codex_release.core.locations import Checkout
from codex_release.core.pins import pinned_runtime_version
from codex_release.core.targets import get_target
from codex_release.errors import ReleaseError
from codex_release.steps.stage_runtime import stage_runtime
from codex_release.wheels.parallel_deflate import LIBDEFLATE_LEVEL

TARGET = "x86_64-unknown-linux-musl"
MAX_RATIO = 0.25
CHECKOUT = Checkout(Path(__file__).resolve().parent.parent)
"""The repository this script belongs to: its pin and its runtime template."""
OURS = (
    "import sys; from pathlib import Path; from codex_release.wheels.wheel_writer import write_wheel; "
    "write_wheel(Path(sys.argv[1]), Path(sys.argv[2]), progress=False, compresslevel=int(sys.argv[3]))"
)


CPU_SECONDS: list[float] = []  # CPU time (user + system) of each timed run, in order


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], out: Path) -> tuple[float, Path]:
    out.mkdir()
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    CPU_SECONDS.append(_cpu() - cpu)
    (wheel,) = out.glob("*.whl")
    return elapsed, wheel


def _hatchling(staging: Path, out: Path) -> tuple[float, Path]:
    return _timed([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(staging)], out)


def _ours(staging: Path, out: Path, level: int) -> tuple[float, Path]:
    return _timed([sys.executable, "-c", OURS, str(staging), str(out), str(level)], out)


def _members(wheel: Path) -> dict[str, tuple[int, int, int]]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            info.filename: (info.external_attr >> 16, info.file_size, info.CRC)
            for info in archive.infolist()
            if not info.filename.endswith((".dist-info/RECORD", ".dist-info/WHEEL"))
        }


def _stage(work: Path, package_dir: Path | None) -> tuple[Path, str]:
    version = pinned_runtime_version(CHECKOUT.sdk_pyproject)
    if package_dir is None:
        from codex_release.steps.fetch import fetched_package_dir

        package_dir = fetched_package_dir(version, get_target(TARGET), include_voice=False)
    staged = stage_runtime(
        work / "staging",
        package_dir,
        version,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
        target=TARGET,
    )
    return staged.staging_dir, version.pep440


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each builder (default 3)")
    parser.add_argument("--package-dir", type=Path, help="a linux-x64 Codex platform package directory to use")
    parser.add_argument("--levels", default="", help="also time our writer at these libdeflate levels, e.g. 4,5,6")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    levels = [int(level) for level in args.levels.split(",") if level.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-runtime-wheel-") as tmp:
        work = Path(tmp)
        try:
            staging, version = _stage(work, args.package_dir)
        except ReleaseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        payload = sum(path.stat().st_size for path in (staging / "src").rglob("*") if path.is_file())
        print(f"codex {version} {TARGET}: staged payload {_mb(payload)}; {os.cpu_count()} CPUs", file=sys.stderr)

        times: dict[str, list[float]] = {"hatchling": [], "ours": []}
        cpu: dict[str, list[float]] = {"hatchling": [], "ours": []}
        load_before = os.getloadavg()[0]
        wheels: dict[str, Path] = {}
        for run in range(args.repeat):
            for name in ("hatchling", "ours"):
                out = work / f"{name}-{run}"
                if name == "hatchling":
                    elapsed, wheels[name] = _hatchling(staging, out)
                else:
                    elapsed, wheels[name] = _ours(staging, out, LIBDEFLATE_LEVEL)
                times[name].append(elapsed)
                cpu[name].append(CPU_SECONDS[-1])
                print(
                    f"run {run + 1}/{args.repeat} {name:9} {elapsed:6.2f} s wall, {CPU_SECONDS[-1]:6.2f} s CPU, "
                    f"load {os.getloadavg()[0]:.1f}",
                    file=sys.stderr,
                )

        if _members(wheels["hatchling"]) != _members(wheels["ours"]):
            print("error: the two wheels differ in members, modes, sizes or CRCs", file=sys.stderr)
            return 1
        size_h, size_o = wheels["hatchling"].stat().st_size, wheels["ours"].stat().st_size
        best_h, best_o = min(times["hatchling"]), min(times["ours"])
        med_h, med_o = statistics.median(times["hatchling"]), statistics.median(times["ours"])
        ratio = best_o / best_h

        print(f"\nopenai-codex-cli-bin {version}, linux-x64 ({_mb(payload)} staged, voice runtime excluded), ", end="")
        print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {args.repeat} interleaved runs each:\n")
        print(
            "| | `python -m build --wheel` (hatchling, zlib 6) | `write_wheel` (libdeflate "
            f"{LIBDEFLATE_LEVEL}, parallel) | ours / hatchling |"
        )
        print("| --- | ---: | ---: | ---: |")
        print(f"| wall time, fastest run | {best_h:.2f} s | {best_o:.2f} s | {ratio:.2f} |")
        print(f"| wall time, median | {med_h:.2f} s | {med_o:.2f} s | {med_o / med_h:.2f} |")
        cpu_h, cpu_o = statistics.median(cpu["hatchling"]), statistics.median(cpu["ours"])
        print(f"| CPU time (user + system), median | {cpu_h:.2f} s | {cpu_o:.2f} s | {cpu_o / cpu_h:.2f} |")
        print(f"| wheel size | {size_h:,} B | {size_o:,} B | {size_o / size_h:.4f} |")

        if levels:
            print("\n| libdeflate level | `write_wheel` wall time | wheel size | no larger than hatchling's |")
            print("| ---: | ---: | ---: | :---: |")
            for level in levels:
                elapsed, wheel = _ours(staging, work / f"level-{level}", level)
                size = wheel.stat().st_size
                print(f"| {level} | {elapsed:.2f} s | {size:,} B | {'yes' if size <= size_h else 'no'} |")

    if load_before > 0.5:
        print(
            f"\nnote: the 1-minute load average was {load_before:.1f} before the runs: other processes shared the "
            f"{os.cpu_count()} CPUs, which slows a parallel writer more than a single-threaded build",
            file=sys.stderr,
        )
    failures = []
    if ratio > MAX_RATIO:
        failures.append(f"time ratio {ratio:.2f} > {MAX_RATIO}")
    if size_o > size_h:
        failures.append(f"our wheel is {size_o - size_h:,} bytes larger")
    if failures:
        print(f"\nTARGET MISSED: {'; '.join(failures)}", file=sys.stderr)
        return 1
    print(f"\ntarget met: ratio {ratio:.2f} <= {MAX_RATIO}, size {size_o:,} <= {size_h:,}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
