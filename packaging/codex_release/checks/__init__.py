"""The checks of built artifacts, from the files themselves to an installed release.

* :mod:`~codex_release.checks.verify` reads DIST (``verify``), against the index's size limits of
  :mod:`~codex_release.checks.index_limits`;
* :mod:`~codex_release.checks.smoke` installs DIST into fresh virtual environments
  (:mod:`~codex_release.checks.fresh_venv`) and runs :mod:`~codex_release.checks.smoke_program` there
  against the fake model of :mod:`~codex_release.checks.fake_responses`;
* :mod:`~codex_release.checks.resolution` runs pip's resolver for every platform;
* :mod:`~codex_release.checks.publish_rehearsal` uploads DIST to an index on loopback and installs by name;
* :mod:`~codex_release.checks.verify_index` compares what an index serves with the release record.

They read artifacts and report; what builds them lives one level up.
"""
