"""Run a GitHub Actions workflow's jobs on this machine, step by step, exactly as the YAML writes them.

This is the smallest runner that executes the ``run:`` scripts of a workflow unchanged, so a test can
prove that each step works where GitHub runs it: each job gets a fresh checkout (a ``git clone``), its
own ``RUNNER_TEMP``, ``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH`` and ``GITHUB_STEP_SUMMARY`` files
and ``GITHUB_WORKSPACE``; every ``run:`` goes through ``bash --noprofile --norc -eo pipefail`` (the
workflow's ``defaults.run.shell: bash``) in the workspace, with the workflow, job and step ``env``.

``${{ ... }}`` expressions are evaluated by :class:`Expressions`, which knows only the subset the
workflows use (context lookups, ``||``, ``&&``, ``==``, ``!=``, ``!``, parentheses, string and number
literals, ``fromJSON``/``toJSON``); anything else, and a lookup of a name that the context does not hold,
raises :class:`WorkflowError` instead of quietly becoming an empty string.

``uses:`` steps are simulated. A ``uses:`` that is not in ``pinned`` (the actions table's
``action@sha`` values) is an error, as GitHub fails a job whose action does not resolve; an action the
runner does not know is an error too:

* ``actions/checkout``: the job's workspace is a fresh ``git clone`` of ``source`` (done before the step);
* ``actions/setup-python``: puts ``python_bin`` (a prepared virtual environment's ``bin``) first on
  ``PATH``, so the job's own ``python -m pip install ...`` steps run unchanged into it;
* ``actions/upload-artifact`` / ``actions/download-artifact``: one directory per artifact name
  (``name``, ``path`` globs, ``if-no-files-found``; ``name`` or ``pattern``, ``path``,
  ``merge-multiple``); uploading a name that exists is an error, as on GitHub, unless ``overwrite``
  is true (which is what lets a job be re-run: :meth:`WorkflowRunner.rerun`);
* ``pypa/gh-action-pypi-publish``: *not* run; the files it would upload from ``packages-dir`` are
  recorded in :attr:`JobRun.published` for the test to check;
* ``actions/attest``: *not* run (it needs GitHub's OIDC token); the files its ``subject-path``
  matches (at least one, else an error) are recorded in :attr:`JobRun.attested`.

The ``GITHUB_REF``, ``GITHUB_REF_NAME``, ``GITHUB_REF_TYPE``, ``GITHUB_RUN_ATTEMPT`` and
``GITHUB_REPOSITORY`` variables of each step come from the ``github`` context, as on a runner.
"""

from __future__ import annotations

import fnmatch
import glob
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

__all__ = ["Expressions", "JobRun", "WorkflowError", "WorkflowRunner", "load_workflow"]


class WorkflowError(Exception):
    """The workflow uses something this runner cannot honour, or one of its steps failed."""


def load_workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise WorkflowError(f"{path} is not a workflow mapping")
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


# ----------------------------------------------------------------------------------------- expressions
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>\|\||&&|==|!=|!|\(|\)|,|\.)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def _truthy(value: object) -> bool:
    return value not in (None, False, 0, "", 0.0)


def _to_string(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class Expressions:
    """Evaluate ``${{ }}`` expressions against a fixed set of contexts (nested dicts).

    A name the contexts do not hold raises; GitHub would yield null, which is how a typo or a missing
    ``needs`` entry silently becomes an empty string there.
    """

    FUNCTIONS: Mapping[str, Callable[[object], object]] = {
        "fromJSON": lambda text: json.loads(str(text)),
        "toJSON": json.dumps,
    }

    def __init__(self, contexts: Mapping[str, object]) -> None:
        self.contexts = contexts

    def substitute(self, value: object) -> Any:
        """``value`` with every ``${{ }}`` evaluated (recursively through lists and dicts).

        A string that is exactly one expression keeps the expression's type (``fromJSON`` gives a dict).
        """
        if isinstance(value, dict):
            return {key: self.substitute(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.substitute(item) for item in value]
        if not isinstance(value, str) or "${{" not in value:
            return value
        whole = _EMBEDDED.fullmatch(value.strip())
        if whole:
            return self.evaluate(whole.group(1))
        return _EMBEDDED.sub(lambda m: _to_string(self.evaluate(m.group(1))), value)

    def evaluate(self, text: str) -> object:
        tokens = self._tokenize(text)
        parser = _Parser(tokens, self, text)
        result = parser.expression()
        if parser.position != len(tokens):
            raise WorkflowError(f"cannot evaluate ${{{{ {text.strip()} }}}}: unexpected {tokens[parser.position][1]!r}")
        return result

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        position = 0
        stripped = text.rstrip()
        while position < len(stripped):
            match = _TOKEN.match(stripped, position)
            if match is None or match.end() == position:
                raise WorkflowError(f"cannot evaluate ${{{{ {text.strip()} }}}}: unsupported syntax at {position}")
            kind = match.lastgroup
            assert kind is not None
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens


class _Parser:
    """Recursive descent over: or := and ('||' and)*; and := cmp ('&&' cmp)*; cmp := unary (('=='|'!=') unary)?"""

    def __init__(self, tokens: list[tuple[str, str]], owner: Expressions, text: str) -> None:
        self.tokens = tokens
        self.owner = owner
        self.text = text.strip()
        self.position = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1] != value):
            raise WorkflowError(f"cannot evaluate ${{{{ {self.text} }}}}: expected {value or 'more'}")
        self.position += 1
        return token

    def expression(self) -> object:
        left = self._and()
        while self._peek() == ("op", "||"):
            self._take()
            right = self._and()
            left = left if _truthy(left) else right
        return left

    def _and(self) -> object:
        left = self._comparison()
        while self._peek() == ("op", "&&"):
            self._take()
            right = self._comparison()
            left = right if _truthy(left) else left
        return left

    def _comparison(self) -> object:
        left = self._unary()
        token = self._peek()
        if token in (("op", "=="), ("op", "!=")):
            self._take()
            right = self._unary()
            equal = _loose(left) == _loose(right)
            return equal if token == ("op", "==") else not equal
        return left

    def _unary(self) -> object:
        if self._peek() == ("op", "!"):
            self._take()
            return not _truthy(self._unary())
        return self._primary()

    def _primary(self) -> object:
        kind, value = self._take()
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return float(value) if "." in value else int(value)
        if (kind, value) == ("op", "("):
            inner = self.expression()
            self._take(")")
            return inner
        if kind != "name":
            raise WorkflowError(f"cannot evaluate ${{{{ {self.text} }}}}: unexpected {value!r}")
        if value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[value]
        if self._peek() == ("op", "("):
            return self._call(value)
        return self._lookup(value)

    def _call(self, name: str) -> object:
        function = self.owner.FUNCTIONS.get(name)
        if function is None:
            raise WorkflowError(f"cannot evaluate ${{{{ {self.text} }}}}: the runner knows no function {name}()")
        self._take("(")
        argument = self.expression()
        self._take(")")
        return function(argument)

    def _lookup(self, root: str) -> object:
        if root not in self.owner.contexts:
            raise WorkflowError(f"cannot evaluate ${{{{ {self.text} }}}}: no context {root!r} in this job")
        current: object = self.owner.contexts[root]
        path = root
        while self._peek() == ("op", "."):
            self._take()
            _, key = self._take()
            path = f"{path}.{key}"
            if not isinstance(current, dict) or key not in current:
                raise WorkflowError(f"cannot evaluate ${{{{ {self.text} }}}}: {path} is not defined here")
            current = current[key]
        return current


def _loose(value: object) -> object:
    # GitHub compares strings case-insensitively; numbers and booleans as they are.
    return value.lower() if isinstance(value, str) else value


# ---------------------------------------------------------------------------------------------- running
@dataclass
class JobRun:
    """What one job (one matrix entry) did."""

    job: str
    matrix: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)
    published: list[list[str]] = field(default_factory=list)
    """For each simulated ``pypa/gh-action-pypi-publish`` step: the file names it would upload."""
    attested: list[str] = field(default_factory=list)
    """The file names each simulated ``actions/attest`` step would attest."""
    summary: str = ""
    steps: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why the job was not run on this machine (None when it ran)."""


def _parse_github_file(path: Path) -> dict[str, str]:
    """``key=value`` lines and ``key<<DELIM`` ... ``DELIM`` blocks, as ``$GITHUB_OUTPUT`` and ``$GITHUB_ENV``."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    iterator = iter(lines)
    for line in iterator:
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block: list[str] = []
            for item in iterator:
                if item == delimiter:
                    break
                block.append(item)
            else:
                raise WorkflowError(f"{path.name}: {key}<<{delimiter} is never closed")
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        else:
            raise WorkflowError(f"{path.name}: malformed line {line!r}")
    return values


_STEP_KEYS = {"name", "id", "uses", "with", "run", "env"}
_JOB_KEYS = {
    "name",
    "needs",
    "runs-on",
    "timeout-minutes",
    "permissions",
    "outputs",
    "strategy",
    "steps",
    "environment",
    "env",
}


class WorkflowRunner:
    """Run the jobs of one workflow in dependency order on this machine.

    ``source``: the git repository (a clone holding the code under test) each job checks out.
    ``root``: a scratch directory; each job gets ``root/<job>-<n>/{work/repo, temp}``.
    ``python_bin``: the ``bin`` directory that ``actions/setup-python`` puts first on ``PATH``.
    ``runner_label``: ``(os, arch)`` of a ``runs-on`` label, or None when the label is unknown.
    ``host``: ``(os, arch)`` of this machine; jobs whose runner differs are skipped and say so.
    ``github``: the ``github`` context (event, ref, ...); ``inputs``: the ``inputs`` context.
    ``base_env``: the environment every step starts from (before the workflow's own ``env``).
    ``pinned``: the ``uses:`` values (``action@sha``) a step may name; any other fails its job.
    """

    def __init__(
        self,
        workflow: Path,
        *,
        source: Path,
        root: Path,
        python_bin: Path,
        runner_label: Callable[[str], tuple[str, str] | None],
        host: tuple[str, str],
        github: dict[str, Any],
        inputs: dict[str, Any],
        base_env: Mapping[str, str],
        pinned: Collection[str],
        skip_jobs: Mapping[str, str] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.path = workflow
        self.workflow = load_workflow(workflow)
        self.source = source
        self.root = root
        self.python_bin = python_bin
        self.runner_label = runner_label
        self.host = host
        self.github = {"workflow": self.workflow.get("name", workflow.name), "run_attempt": "1", **github}
        self.pinned = frozenset(pinned)
        self.inputs = inputs
        self.base_env = dict(base_env)
        self.skip_jobs = dict(skip_jobs or {})
        self.log = log
        self.artifacts = root / "artifacts"
        self.results: dict[str, list[JobRun]] = {}
        self._counter = itertools.count()
        workflow_level = Expressions({"github": self.github, "inputs": self.inputs})
        self.workflow_env = {
            k: _to_string(v) for k, v in workflow_level.substitute(self.workflow.get("env", {})).items()
        }
        workflow_level.substitute(self.workflow.get("concurrency", {}))  # an unknown expression fails here too
        shell = self.workflow.get("defaults", {}).get("run", {}).get("shell", "bash")
        if shell != "bash":
            raise WorkflowError(f"{workflow.name}: defaults.run.shell {shell!r} is not simulated (only bash)")

    # ------------------------------------------------------------------------------------ scheduling
    def order(self) -> list[str]:
        jobs: dict[str, Any] = self.workflow["jobs"]
        done: list[str] = []
        pending = list(jobs)
        while pending:
            ready = [name for name in pending if _needs(jobs[name]) <= set(done)]
            if not ready:
                raise WorkflowError(f"{self.path.name}: jobs {pending} wait on each other or on missing jobs")
            done.extend(ready)
            pending = [name for name in pending if name not in ready]
        return done

    def run_all(self) -> dict[str, list[JobRun]]:
        for name in self.order():
            started = time.monotonic()
            self.results[name] = self.run_job(name)
            self.log(f"=== {name}: {time.monotonic() - started:.1f} s")
        return self.results

    def rerun(self, name: str) -> list[JobRun]:
        """Re-run job ``name`` (all its matrix legs) as GitHub's "Re-run jobs" does: a new attempt of the
        same run, with the artifacts every earlier attempt uploaded still there."""
        if name not in self.results:
            raise WorkflowError(f"job {name} has not run: nothing to re-run")
        self.github["run_attempt"] = str(int(self.github["run_attempt"]) + 1)
        self.results[name] = self.run_job(name)
        return self.results[name]

    def run_job(self, name: str) -> list[JobRun]:
        job: dict[str, Any] = self.workflow["jobs"][name]
        unknown = set(job) - _JOB_KEYS
        if unknown:
            raise WorkflowError(f"job {name}: keys {sorted(unknown)} are not simulated")
        needs = {need: {"outputs": self._needs_outputs(need), "result": "success"} for need in sorted(_needs(job))}
        base = {"github": self.github, "inputs": self.inputs, "needs": needs}
        matrix_spec = Expressions(base).substitute(job.get("strategy", {}).get("matrix"))
        runs: list[JobRun] = []
        for matrix in _expand_matrix(name, matrix_spec):
            runs.append(self._run_one(name, job, dict(base), matrix))
        return runs

    def _needs_outputs(self, need: str) -> dict[str, str]:
        runs = self.results.get(need)
        if runs is None:
            raise WorkflowError(f"job {need} has not run")
        outputs: dict[str, str] = {}
        for run in runs:
            outputs.update(run.outputs)
        return outputs

    # ------------------------------------------------------------------------------------ one job
    def _run_one(self, name: str, job: dict[str, Any], base: dict[str, Any], matrix: dict[str, Any]) -> JobRun:
        contexts: dict[str, Any] = {**base, "matrix": matrix}
        expressions = Expressions(contexts)
        display = _to_string(expressions.substitute(job.get("name", name)))
        label = expressions.substitute(job["runs-on"])
        if not isinstance(label, str):
            raise WorkflowError(f"job {display}: runs-on {label!r} is not one label")
        machine = self.runner_label(label)
        if machine is None:
            raise WorkflowError(f"job {display}: runs-on {label!r} is not a known GitHub-hosted runner")
        result = JobRun(name, matrix)
        if machine[0] != "linux":
            result.skipped = f"runs on {label} ({machine[0]}), not Linux"
        elif machine != self.host:
            result.skipped = f"runs on {label} ({machine[1]}), not this machine's CPU ({self.host[1]})"
        elif name in self.skip_jobs:
            result.skipped = self.skip_jobs[name]
        if result.skipped:
            self.log(f"--- job {display}: skipped, {result.skipped}")
            return result

        scratch = self.root / f"{name}-{next(self._counter)}"
        workspace = scratch / "work" / "repo" / "repo"
        temp = scratch / "work" / "_temp"
        temp.mkdir(parents=True)
        workspace.mkdir(parents=True)  # the runner creates it; actions/checkout fills it
        timeout = float(job.get("timeout-minutes", 360)) * 60
        contexts["runner"] = {"temp": str(temp), "os": "Linux", "arch": "X64" if self.host[1] == "x86_64" else "ARM64"}
        contexts["steps"] = {}
        env = {**self.workflow_env, **{k: _to_string(v) for k, v in expressions.substitute(job.get("env", {})).items()}}
        extra_path: list[str] = []
        self.log(f"--- job {display} on {label}")
        for index, step in enumerate(job.get("steps", [])):
            unknown = set(step) - _STEP_KEYS
            if unknown:
                raise WorkflowError(f"job {display} step {index}: keys {sorted(unknown)} are not simulated")
            step_name = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
            result.steps.append(step_name)
            step_env = {
                **env,
                **{k: _to_string(v) for k, v in expressions.substitute(step.get("env", {})).items()},
            }
            files = {
                key: temp / f"_runner_file_commands/{key.lower()}_{index}"
                for key in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
            }
            for path in files.values():
                path.parent.mkdir(exist_ok=True)
                path.touch()
            if "uses" in step:
                with_ = {k: expressions.substitute(v) for k, v in step.get("with", {}).items()}
                self.log(f"    uses {step['uses'].split('@')[0]} {with_}")
                self._uses(step["uses"], with_, workspace, temp, extra_path, result)
            else:
                self.log(f"    run: {step_name}")
                process_env = {
                    **self.base_env,
                    **step_env,
                    **{key: str(path) for key, path in files.items()},
                    "RUNNER_TEMP": str(temp),
                    "GITHUB_WORKSPACE": str(workspace),
                    "GITHUB_ACTIONS": "true",
                    "CI": "true",
                    "RUNNER_OS": "Linux",
                    **self._github_variables(),
                }
                process_env["PATH"] = os.pathsep.join([*reversed(extra_path), self.base_env["PATH"]])
                self._run_script(display, step_name, step["run"], workspace, temp, process_env, timeout)
            if step.get("id"):
                contexts["steps"][step["id"]] = {"outputs": _parse_github_file(files["GITHUB_OUTPUT"])}
            env.update(_parse_github_file(files["GITHUB_ENV"]))
            extra_path.extend(line for line in files["GITHUB_PATH"].read_text().splitlines() if line.strip())
            result.summary += files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        result.outputs = {k: _to_string(v) for k, v in expressions.substitute(job.get("outputs", {})).items()}
        shutil.rmtree(scratch, ignore_errors=True)  # a runner is discarded after its job
        return result

    def _github_variables(self) -> dict[str, str]:
        names = {"ref": "GITHUB_REF", "ref_name": "GITHUB_REF_NAME", "ref_type": "GITHUB_REF_TYPE"}
        names |= {"run_attempt": "GITHUB_RUN_ATTEMPT", "repository": "GITHUB_REPOSITORY"}
        return {variable: str(self.github[key]) for key, variable in names.items() if key in self.github}

    def _run_script(
        self, job: str, step: str, script: str, cwd: Path, temp: Path, env: dict[str, str], timeout: float
    ) -> None:
        path = temp / f"step-{abs(hash((job, step)))}.sh"
        path.write_text(script, encoding="utf-8")
        try:
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise WorkflowError(f"job {job!r} step {step!r} timed out after {timeout:.0f} s:\n{exc.output}") from None
        if completed.returncode != 0:
            raise WorkflowError(
                f"job {job!r} step {step!r} failed (exit {completed.returncode}):\n"
                f"$ {script.strip()}\n{completed.stdout}"
            )

    # ------------------------------------------------------------------------------------ actions
    def _uses(
        self, uses: str, with_: dict[str, Any], workspace: Path, temp: Path, extra_path: list[str], result: JobRun
    ) -> None:
        if uses not in self.pinned:
            raise WorkflowError(f"{uses}: not in the actions table, so not known to resolve on GitHub")
        action = uses.split("@", 1)[0]
        handlers: dict[str, Callable[[dict[str, Any], Path, Path, list[str], JobRun], None]] = {
            "actions/checkout": self._checkout,
            "actions/setup-python": self._setup_python,
            "actions/upload-artifact": self._upload,
            "actions/download-artifact": self._download,
            "pypa/gh-action-pypi-publish": self._publish,
            "actions/attest": self._attest,
        }
        handler = handlers.get(action)
        if handler is None:
            raise WorkflowError(f"{uses}: this action is not simulated")
        handler(with_, workspace, temp, extra_path, result)

    @staticmethod
    def _only(action: str, with_: Mapping[str, Any], allowed: set[str]) -> None:
        unknown = set(with_) - allowed
        if unknown:
            raise WorkflowError(f"{action}: inputs {sorted(unknown)} are not simulated")

    def _checkout(self, with_: dict[str, Any], workspace: Path, *_: object) -> None:
        self._only("actions/checkout", with_, {"persist-credentials"})
        workspace.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", str(self.source), str(workspace)], check=True, timeout=300)

    def _setup_python(self, with_: dict[str, Any], _w: Path, _t: Path, extra_path: list[str], _r: JobRun) -> None:
        self._only("actions/setup-python", with_, {"python-version", "architecture"})
        expected = {"x86_64": "x64", "aarch64": "arm64"}[self.host[1]]
        if with_.get("architecture", expected) != expected:
            raise WorkflowError(f"setup-python architecture {with_['architecture']!r} on a {expected} runner")
        extra_path.append(str(self.python_bin))

    def _resolve(self, workspace: Path, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else workspace / candidate

    def _upload(self, with_: dict[str, Any], workspace: Path, *_: object) -> None:
        self._only("actions/upload-artifact", with_, {"name", "path", "if-no-files-found", "overwrite"})
        name = str(with_.get("name", "artifact"))
        store = self.artifacts / name
        if store.exists():
            if with_.get("overwrite") not in (True, "true"):
                raise WorkflowError(
                    f"upload-artifact: an artifact named {name!r} was already uploaded in this run (a re-run "
                    "conflicts with its own first attempt unless overwrite: true)"
                )
            shutil.rmtree(store)
        files: list[Path] = []
        patterns = [line.strip() for line in str(with_["path"]).splitlines() if line.strip()]
        for pattern in patterns:
            for match in sorted(glob.glob(str(self._resolve(workspace, pattern)), recursive=True)):
                found = Path(match)
                files.extend(sorted(p for p in found.rglob("*") if p.is_file()) if found.is_dir() else [found])
        if not files:
            if with_.get("if-no-files-found", "warn") == "error":
                raise WorkflowError(f"upload-artifact {name}: no files match {patterns}")
            return
        common = Path(os.path.commonpath([str(f.parent) for f in files]))
        store.mkdir(parents=True)
        for file in files:
            target = store / file.relative_to(common)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)

    def _download(self, with_: dict[str, Any], workspace: Path, *_: object) -> None:
        self._only("actions/download-artifact", with_, {"name", "pattern", "path", "merge-multiple"})
        destination = self._resolve(workspace, str(with_.get("path", ".")))
        stored = sorted(p.name for p in self.artifacts.iterdir()) if self.artifacts.is_dir() else []
        if "name" in with_:
            if with_["name"] not in stored:
                raise WorkflowError(f"download-artifact: no artifact named {with_['name']!r} (have {stored})")
            sources = {str(with_["name"]): destination}
        else:
            chosen = [n for n in stored if fnmatch.fnmatchcase(n, str(with_.get("pattern", "*")))]
            merge = with_.get("merge-multiple") in (True, "true")
            sources = {n: destination if merge else destination / n for n in chosen}
        for artifact, target in sources.items():
            shutil.copytree(self.artifacts / artifact, target, dirs_exist_ok=True)

    def _publish(self, with_: dict[str, Any], workspace: Path, _t: Path, _p: list[str], result: JobRun) -> None:
        self._only("pypa/gh-action-pypi-publish", with_, {"packages-dir"})
        directory = self._resolve(workspace, str(with_.get("packages-dir", "dist/")))
        files = sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
        if not files:
            raise WorkflowError(f"pypi-publish: nothing to upload in {with_.get('packages-dir', 'dist/')}")
        result.published.append(files)

    def _attest(self, with_: dict[str, Any], workspace: Path, _t: Path, _p: list[str], result: JobRun) -> None:
        self._only("actions/attest", with_, {"subject-path"})
        patterns = [line.strip() for line in str(with_["subject-path"]).splitlines() if line.strip()]
        files = [
            Path(match).name
            for pattern in patterns
            for match in sorted(glob.glob(str(self._resolve(workspace, pattern))))
            if Path(match).is_file()
        ]
        if not files:
            raise WorkflowError(f"attest: no file matches {patterns}")
        result.attested.extend(files)


def _needs(job: Mapping[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def _expand_matrix(job: str, spec: object) -> Iterator[dict[str, Any]]:
    if spec is None:
        yield {}
        return
    if not isinstance(spec, dict):
        raise WorkflowError(f"job {job}: matrix {spec!r} is not a mapping")
    if "exclude" in spec:
        raise WorkflowError(f"job {job}: matrix exclude is not simulated")
    include = list(spec.get("include", []))
    axes = {key: value for key, value in spec.items() if key != "include"}
    if axes and include:
        raise WorkflowError(f"job {job}: matrix axes together with include are not simulated")
    if include:
        yield from (dict(entry) for entry in include)
        return
    keys = list(axes)
    for values in itertools.product(*(axes[key] for key in keys)):
        yield dict(zip(keys, values, strict=True))
