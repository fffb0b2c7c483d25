"""The runtime wheel writer: what goes into a wheel, compressed on every core, in a reproducible ZIP.

* :mod:`~codex_release.wheels.wheel_contents` decides the members, their order and the metadata, as
  hatchling would;
* :mod:`~codex_release.wheels.parallel_deflate` compresses the members with libdeflate on every core;
* :mod:`~codex_release.wheels.zip_writer` writes the ZIP container from the raw DEFLATE bytes;
* :mod:`~codex_release.wheels.wheel_writer` puts the three together (``write_wheel``).

Only ``stage-runtime`` writes wheels; reading them is :mod:`codex_release.archives`.
"""
