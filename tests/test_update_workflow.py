"""The scheduled update workflow (.github/workflows/template-update.yml): a valid GitHub
workflow whose steps check for an update and open a pull request, and (slow) its shell
steps, run as a runner would against a bare `origin` with a stub `gh`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, host_python, render
from gates import base_env, find_uv
from updating import (
    ANSWERS_FILE,
    WORKFLOW,
    answers,
    files_with_markers,
    uv,
)
from versions import (
    TemplateHistory,
)

# --- the scheduled update workflow -----------------------------------------------------------


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, paths)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The workflow runs uvx on the service's Python (UV_PYTHON): one this machine has.
    project = render(tmp_path_factory.mktemp("workflow") / "service", python_version=host_python())
    return project / ".github/workflows"


def test_update_workflow_matches_the_github_schema(workflows: Path) -> None:
    result = check_jsonschema(*sorted(workflows.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(workflows: Path, tmp_path: Path) -> None:
    broken = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    broken["jobs"]["update"]["runs_on"] = broken["jobs"]["update"].pop("runs-on")
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(path).returncode != 0


def test_update_workflow_checks_updates_and_opens_a_pull_request(workflows: Path) -> None:
    text = (workflows / Path(WORKFLOW).name).read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"][0]["cron"]
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = "\n".join(
        step.get("run", "") for step in workflow["jobs"]["update"]["steps"] if "run" in step
    )
    assert "copier check-update --output-format json" in runs
    assert "copier update --trust --defaults --conflict inline" in runs
    assert "gh pr create" in runs
    assert workflow["env"]["ANSWERS_FILE"] == ANSWERS_FILE


def test_update_workflow_scripts_are_valid_bash(workflows: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    for step in workflow["jobs"]["update"]["steps"]:
        if "run" not in step:
            continue
        script = re.sub(r"\$\{\{.*?\}\}", "placeholder", step["run"])
        path = tmp_path / "step.sh"
        path.write_text(script)
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True,
                                check=False)  # fmt: skip
        assert result.returncode == 0, f"step {step.get('name')!r}: {result.stderr}"


# --- the scheduled update workflow, run step by step -----------------------------------------

GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_CONDITION = re.compile(r"^steps\.(\w+)\.outputs\.(\w+) == '(\w*)'$")


class WorkflowRun:
    """Runs the `run` steps of one job as GitHub's ubuntu runner would (`bash -eo pipefail`,
    GITHUB_OUTPUT, step outputs, the env levels), in a local checkout whose `origin` is a
    bare repository. `uses` steps (checkout, setup-uv) are what the checkout and PATH
    already provide; `gh` is a stub that records its arguments."""

    def __init__(self, workflow: dict[str, Any], project: Path, tmp: Path) -> None:
        self.workflow, self.project, self.tmp = workflow, project, tmp
        self.outputs: dict[str, dict[str, str]] = {}
        bin_dir = tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$GH_LOG"\n')
        (bin_dir / "gh").chmod(0o755)
        gitconfig = tmp / "gitconfig"  # `git config --global` in a step stays in this run
        gitconfig.write_text("[init]\n\tdefaultBranch = main\n")
        env = base_env()
        env["PATH"] = f"{bin_dir}:{find_uv().parent}:{env['PATH']}"
        env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GH_LOG=str(tmp / "gh.log"),
                   RUNNER_TEMP=str(tmp))  # fmt: skip
        self.env = env

    def expression(self, expr: str) -> str:
        if expr.startswith("steps."):
            _, step, _, name = expr.split(".")
            return self.outputs.get(step, {}).get(name, "")
        known = {
            "secrets.TEMPLATE_UPDATE_TOKEN || github.token": "token-for-the-gh-stub",
            "secrets.TEMPLATE_UPDATE_TOKEN": "",
            "github.event.repository.default_branch": "main",
        }
        return known[expr]

    def expand(self, value: object) -> str:
        return GITHUB_EXPRESSION.sub(lambda match: self.expression(match[1]), str(value))

    def run(self, job: str, stop_after: str | None = None) -> dict[str, dict[str, str]]:
        spec = self.workflow["jobs"][job]
        env = {**self.env}
        for level in (self.workflow.get("env", {}), spec.get("env", {})):
            env.update({key: self.expand(value) for key, value in level.items()})
        for step in spec["steps"]:
            if "run" not in step:
                continue
            if "if" in step and not self.condition(step["if"]):
                continue
            output = self.tmp / "github_output"
            output.write_text("")
            step_env = {key: self.expand(value) for key, value in step.get("env", {}).items()}
            script = self.tmp / "step.sh"
            script.write_text(self.expand(step["run"]))
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.project, env={**env, **step_env, "GITHUB_OUTPUT": str(output)},
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            if result.returncode:
                pytest.fail(
                    f"step {step['name']!r} failed:\n{result.stdout}\n{result.stderr}",
                    pytrace=False,
                )
            if "id" in step:
                self.outputs[step["id"]] = parse_github_output(output.read_text())
            if step.get("name") == stop_after:
                break
        return self.outputs

    def condition(self, expr: str) -> bool:
        match = STEP_CONDITION.match(expr.strip())
        assert match, f"the simulation cannot evaluate `if: {expr}`"
        return self.outputs.get(match[1], {}).get(match[2], "") == match[3]


def parse_github_output(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            for item in lines:
                if item == delimiter:
                    break
                value.append(item)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def test_workflow_refuses_a_template_path_ci_cannot_clone(workflows: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    project = workflows.parent.parent
    run = WorkflowRun(workflow, project, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="which CI cannot clone"):
        run.run("update", stop_after="Reach the template")  # _src_path is a local path here


@pytest.mark.slow
@pytest.mark.parametrize("team_change", ["none", "lock only", "a dependency"])
def test_scheduled_workflow_opens_a_pull_request(
    team_change: str, history: TemplateHistory, workflows: Path, tmp_path: Path
) -> None:
    """The workflow's own shell steps, on a service generated at the earliest release from
    a git URL: it updates on a new branch, resolves a conflict in uv.lock alone, pushes,
    and opens a pull request (a draft, listing the files, when conflicts remain); a second
    run leaves an open update alone."""
    first = history.releases[0]
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    project = tmp_path / "service"
    from copier import run_copy

    run_copy(f"git+file://{history.repo}", str(project), defaults=True, unsafe=True,
             quiet=True, vcs_ref=first.tag)  # fmt: skip
    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--no-verify", "-m", "Generate", cwd=project)
    if team_change == "lock only":
        uv(project, "lock", "--upgrade-package", "faker==40.0.0")
    elif team_change == "a dependency":
        uv(project, "add", "--no-sync", "httpx>=0.28")
    git("commit", "--quiet", "--all", "--allow-empty", "--no-verify", "-m", team_change,
        cwd=project)  # fmt: skip
    git("remote", "add", "origin", str(origin), cwd=project)
    git("push", "--quiet", "origin", "main", cwd=project)

    # The workflow under test is the newest one, whatever the service's release shipped.
    newest = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    outputs = WorkflowRun(newest, project, tmp_path).run("update")

    branch = f"template-update/v{history.newest.version}"
    assert outputs["check"]["available"] == "true"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=project).strip() == branch
    assert git("ls-remote", "--heads", str(origin), branch, cwd=project).strip()
    assert git("status", "--porcelain", cwd=project) == "", "the update was not all committed"
    assert answers(project)["_commit"] == history.newest.tag
    conflicts = outputs["update"]["conflicts"].split()
    gh_args = (tmp_path / "gh.log").read_text().splitlines()
    body = (tmp_path / "body.md").read_text()
    with_markers = files_with_markers(project)
    if team_change == "a dependency":
        assert conflicts == with_markers == ["pyproject.toml", "uv.lock"]
        assert "--draft" in gh_args
        assert all(f"`{name}`" in body for name in conflicts)
    else:
        assert conflicts == with_markers == [], "uv.lock alone must be resolved by relocking"
        assert "--draft" not in gh_args
        assert "No conflicts." in body
        uv(project, "lock", "--check")
    assert gh_args[:2] == ["pr", "create"]
    assert gh_args[gh_args.index("--head") + 1] == branch

    (tmp_path / "gh.log").unlink()
    git("switch", "--quiet", "main", cwd=project)
    again = WorkflowRun(newest, project, tmp_path).run("update")
    assert again["check"]["available"] == "false", "a second run must leave the open update"
    assert not (tmp_path / "gh.log").exists()
