# The two commands of the README: `make release` (set up, then the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup release test lint lock generate-types bench-runtime bench-import bench-stage bench-stream fuzz smoke publish-rehearsal clean

setup: $(STAMP)

# Every dependency comes from the hash-locked requirements/dev.txt; the two local projects are added on top.
$(STAMP): pyproject.toml sdk/pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e . -e sdk
	touch $(STAMP)

## Re-lock requirements/*.txt (hashes, every platform and Python 3.10+) after changing pyproject.toml.
## uv runs from its own venv: the lock does not depend on the environment it locks.
LOCK := $(VENV)-lock/bin/python -m uv pip compile pyproject.toml --universal --generate-hashes \
	--python-version 3.10 --quiet --custom-compile-command "make lock"
## requirements/publish-action.txt: the twine that the pinned publish action bundles (pins copied from the
## action's own lock into publish-action.in), for verify and publish-rehearsal; it keeps the .in's header
## (action, tag, SHA) on top, so bumping the action's SHA without re-locking fails a test.
PUBLISHER := requirements/publish-action
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet 'uv>=0.9'
	$(LOCK) -o requirements/release.txt
	$(LOCK) --extra dev -o requirements/dev.txt
	$(VENV)-lock/bin/python -m uv pip compile $(PUBLISHER).in --universal --generate-hashes --python-version 3.10 \
		--quiet --custom-compile-command "make lock" -o $(PUBLISHER).txt
	{ awk '!/^#/ { exit } { print }' $(PUBLISHER).in; cat $(PUBLISHER).txt; } > $(PUBLISHER).txt.new
	mv $(PUBLISHER).txt.new $(PUBLISHER).txt

## The main job: a local release of the pinned Codex version into dist/. Sizes are verified against the
## project's raised per-file upload limit (INDEX_FILE_LIMIT in codex_release.checks.index_limits): the runtime
## wheels are above the index's default 100 MiB.
release: setup
	$(PY) -m codex_release release --dist-dir dist --max-file-size project

## The whole test suite, then the SDK tests again without os.waitid (as macOS has it before Python 3.13).
test: setup
	$(PY) -m pytest
	OPENAI_CODEX_TEST_WITHOUT_WAITID=1 $(PY) -m pytest tests/sdk

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m codex_release generate-types --check
	$(PY) -m codex_release lint-workflows .github/workflows

## Regenerate the SDK's protocol models from the pinned runtime's JSON Schema.
generate-types: setup
	$(PY) -m codex_release generate-types

## Our wheel writer vs `python -m build --wheel` on the real linux-x64 package, side by side.
bench-runtime: setup
	$(PY) scripts/bench_runtime_wheel.py

## Six stage-runtime --wheel-dir runs + verify: BASELINE (default c0ef306) vs this tree, side by side.
bench-stage: setup
	$(PY) scripts/bench_stage_verify.py $(if $(BASELINE),--baseline $(BASELINE))

## A long fuzzing session of the archive and wheel reader (ARCHIVE_FUZZ_EXAMPLES per property), and of verify's
## scanner against a plain read (VERIFY_SCAN_EXAMPLES).
fuzz: setup
	ARCHIVE_FUZZ_EXAMPLES=$${ARCHIVE_FUZZ_EXAMPLES:-20000} $(PY) -m pytest -q -p no:cacheprovider tests/test_archives_fuzz.py
	VERIFY_SCAN_EXAMPLES=$${VERIFY_SCAN_EXAMPLES:-2000} $(PY) -m pytest -q -p no:cacheprovider tests/test_verify_scan_property.py

## `import openai_codex` vs the published openai-codex 0.163.0, side by side.
bench-import: setup
	$(PY) scripts/bench_import.py

## Streaming a 20,000-delta turn: the SDK's Python CPU and wall time vs a raw JSON-RPC driver (median of 5).
bench-stream: setup
	$(PY) scripts/bench_stream.py

## Install dist/ into a fresh venv and run a real turn; resolver dry runs; aarch64 under qemu.
smoke: setup
	$(PY) -m codex_release smoke dist

## Upload dist/ to a package index on loopback (runtime first, then SDK), install by name, smoke.
publish-rehearsal: setup
	$(PY) -m codex_release publish-rehearsal dist

clean:
	rm -rf dist build .pytest_cache .ruff_cache .mypy_cache
