"""Write the ``openai-codex-cli-bin`` wheel of a staging directory: fast, small and reproducible.

``python -m build --wheel STAGING`` (hatchling) writes the reference wheel; :func:`write_wheel`
writes the same wheel (same members in the same order, same modes, METADATA, WHEEL tags and RECORD;
only the ``Generator`` line of ``WHEEL`` names codex-release instead of hatchling) in a fraction of
the time:

* what goes in is decided by hatchling's own file selection and metadata code
  (:mod:`codex_release.wheels.wheel_contents`);
* the members are compressed with libdeflate on every core (:mod:`codex_release.wheels.parallel_deflate`)
  at the fastest level whose wheel is still no larger than hatchling's zlib-6 wheel;
* the ZIP container is written by :mod:`codex_release.wheels.zip_writer`, since :mod:`zipfile` cannot
  store data that is already compressed.

Reproducible: the members come in a fixed order, all share one timestamp (``SOURCE_DATE_EPOCH``,
else hatchling's reproducible default 2020-02-02, clamped to 1980 as hatchling does), modes are
normalised to 0o644/0o755, and nothing of the host (user, umask, mtime, file system order) is
recorded. The wheel appears atomically: it is written to a partial file ``.<wheel>.<pid>-*.part`` in
``wheel_dir`` and renamed into place, while the wheel's lock is held (:func:`codex_release.core.staging.hold`:
one writer per wheel file, SIGTERM unwinds like KeyboardInterrupt); the partial file is removed on any
failure, and one left by a killed process is swept by the next write into ``wheel_dir``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import sys
import tempfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from codex_release.core.staging import deferred_signals, hold, part_prefix
from codex_release.errors import DestinationRefused, InputRefused
from codex_release.wheels.parallel_deflate import (
    LIBDEFLATE_LEVEL,
    MemberCache,
    default_workers,
    deflate_files,
    deflate_small,
)
from codex_release.wheels.wheel_contents import WheelContents, read_wheel_contents
from codex_release.wheels.zip_writer import ZIP64_LIMIT, DateTime, ZipWriter

__all__ = ["DEFAULT_SOURCE_DATE_EPOCH", "reproducible_date_time", "write_wheel"]

DEFAULT_SOURCE_DATE_EPOCH = 1580601600
"""hatchling's default for reproducible wheels (2020-02-02T00:00:00Z)."""
_MIN_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest ZIP (DOS) timestamp; hatchling clamps to it
_MAX_EPOCH = 4354819199  # 2107-12-31T23:59:59Z, the latest one
_PROGRESS_MIN_BYTES = 32 * 1024 * 1024
_METADATA_MODE = 0o644  # hatchling writes dist-info members with bare permission bits


def reproducible_date_time(source_date_epoch: int | None = None) -> DateTime:
    """The timestamp of every member: the argument, else ``$SOURCE_DATE_EPOCH``, else hatchling's default."""
    if source_date_epoch is None:
        raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        try:
            source_date_epoch = int(raw) if raw else DEFAULT_SOURCE_DATE_EPOCH
        except ValueError:
            raise InputRefused(
                f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970: set it to an integer or unset it"
            ) from None
    if source_date_epoch > _MAX_EPOCH:
        raise InputRefused(
            f"SOURCE_DATE_EPOCH {source_date_epoch} is after 2107, the last date a ZIP file can hold: use an "
            "earlier one"
        )
    moment = datetime.fromtimestamp(max(source_date_epoch, _MIN_EPOCH), timezone.utc)
    return moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second


def _record_hash(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _show_progress(progress: bool | None, total: int) -> bool:
    if progress is not None:
        return progress
    return total >= _PROGRESS_MIN_BYTES and sys.stderr.isatty()


def _write_archive(
    out: BinaryIO,
    contents: WheelContents,
    *,
    date_time: DateTime,
    workers: int,
    level: int,
    zip64_limit: int,
    progress: bool | None,
    cache: MemberCache | None,
) -> None:
    total = sum(file.size for file in contents.files)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=f"writing {contents.filename.split('-', 1)[0]} wheel",
        file=sys.stderr,
        disable=not _show_progress(progress, total),
        leave=False,
    )
    lock = threading.Lock()

    def advance(count: int) -> None:
        with lock:
            bar.update(count)

    record = io.StringIO()
    rows = csv.writer(record, delimiter=",", quotechar='"', lineterminator="\n")
    archive = ZipWriter(out, date_time=date_time, zip64_limit=zip64_limit)
    own = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wheel-deflate") if cache is None else None
    executor = own if own is not None else cache.executor  # type: ignore[union-attr]
    try:
        jobs = [(file.path, file.size) for file in contents.files]
        pending = deflate_files(executor, jobs, level=level, on_progress=advance, cache=cache)
        pending.reverse()
        for file in contents.files:
            member = pending.pop()  # popped, so written members are freed as we go (unless the cache keeps them)
            done = member.result()
            if cache is not None:
                cache.remember(member, done)
            archive.add_deflated(file.arcname, mode=file.mode, crc32=done.crc32, size=done.size, chunks=done.chunks)
            rows.writerow((file.arcname, _record_hash(done.sha256), done.size))
        record_name = f"{contents.dist_info}/RECORD"
        for name, data in contents.metadata:
            _add_small(archive, name, data)
            rows.writerow((name, _record_hash(hashlib.sha256(data).digest()), len(data)))
        for sbom in contents.sboms:  # PEP 770, after licenses/ as hatchling writes them, with a file's mode
            try:
                data = sbom.path.read_bytes()
            except OSError as exc:
                raise InputRefused(f"cannot read the SBOM {sbom.path}: {exc.strerror or exc}") from None
            _add_small(archive, sbom.arcname, data, mode=sbom.mode)
            rows.writerow((sbom.arcname, _record_hash(hashlib.sha256(data).digest()), len(data)))
        rows.writerow((record_name, "", ""))
        _add_small(archive, record_name, record.getvalue().encode("utf-8"))
        archive.finish()
    finally:
        # On success every task is done. On failure, queued tasks are dropped and the caller gets the
        # error (and the temporary file is removed) at once; a running libdeflate call cannot be
        # interrupted and ends in the background. A cache's pool is its owner's to shut down.
        if own is not None:
            own.shutdown(wait=False, cancel_futures=True)
        bar.close()


def _add_small(archive: ZipWriter, name: str, data: bytes, *, mode: int = _METADATA_MODE) -> None:
    compressed = deflate_small(data)
    archive.add_deflated(name, mode=mode, crc32=zlib.crc32(data), size=len(data), chunks=[compressed])


def _make_wheel_dir(wheel_dir: Path) -> None:
    try:
        wheel_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DestinationRefused(
            f"cannot write into wheel directory {wheel_dir}: {exc.strerror or exc}: choose a writable directory"
        ) from None


def _open_temporary(wheel_dir: Path, filename: str) -> tuple[BinaryIO, Path]:
    try:
        fd, name = tempfile.mkstemp(dir=wheel_dir, prefix=part_prefix(filename), suffix=".part")
    except OSError as exc:
        raise DestinationRefused(
            f"cannot write into wheel directory {wheel_dir}: {exc.strerror or exc}: choose a writable directory"
        ) from None
    return os.fdopen(fd, "wb"), Path(name)


def write_wheel(
    staging_dir: Path,
    wheel_dir: Path,
    *,
    progress: bool | None = None,
    source_date_epoch: int | None = None,
    workers: int | None = None,
    compresslevel: int = LIBDEFLATE_LEVEL,
    zip64_limit: int = ZIP64_LIMIT,
    cache: MemberCache | None = None,
) -> Path:
    """Write the wheel of ``staging_dir`` into ``wheel_dir`` and return its path.

    ``progress``: ``None`` shows a byte progress bar on stderr for a large wheel when stderr is a
    terminal, ``True`` always, ``False`` never. ``source_date_epoch`` overrides ``$SOURCE_DATE_EPOCH``.
    ``workers`` defaults to the usable CPUs. ``compresslevel`` (the libdeflate level of the largest
    file, 0..12) and ``zip64_limit`` are for measurements and tests; release with the defaults.
    ``cache`` (:class:`~codex_release.wheels.parallel_deflate.MemberCache`) supplies digests already taken,
    members compressed early or to reuse, and its pool (then ``workers`` is ignored); it keeps this
    wheel's members if asked to.
    """
    contents = read_wheel_contents(Path(staging_dir))
    date_time = reproducible_date_time(source_date_epoch)
    count = (cache.workers if cache is not None else default_workers()) if workers is None else workers
    if count < 1:
        raise InputRefused(f"workers must be at least 1, not {count}")
    if not 0 <= compresslevel <= 12:
        raise InputRefused(f"compresslevel must be within 0..12 (libdeflate), not {compresslevel}")
    wheel_dir = Path(wheel_dir)
    target = wheel_dir / contents.filename
    _make_wheel_dir(wheel_dir)
    with hold(wheel_dir.absolute().resolve() / contents.filename, label="wheel"):
        out, temporary = _open_temporary(wheel_dir, contents.filename)
        try:
            with out:
                _write_archive(
                    out,
                    contents,
                    date_time=date_time,
                    workers=count,
                    level=compresslevel,
                    zip64_limit=zip64_limit,
                    progress=progress,
                    cache=cache,
                )
            temporary.chmod(0o644)
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise DestinationRefused(f"cannot write {target}: {exc}") from None
        except BaseException:
            with deferred_signals():
                temporary.unlink(missing_ok=True)
            raise
    return target
