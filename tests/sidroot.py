"""Python 3.14 and 3.15 for the harness and scripts/relock.py: a Debian sid root
(scripts/sidroot.sh) entered with chroot, standing in for a `python:3.1X` container.

    with SidRoot.open() as root:
        project = root.workdir() / "svc"          # a host path inside the root
        root.run(["uv", "sync", "--locked"], cwd=project, env={...})

Entering it mounts /proc, /dev (and /dev/pts) and the host's uv cache (bind mounts, so
wheels downloaded once serve host and root), copies in the host's CA bundle, resolv.conf
and uv's binary; leaving it unmounts them all. Commands run with the root's own PATH, so
`python3.14`/`python3.15` are its interpreters; PostgreSQL is reached on 127.0.0.1 (same
network namespace). Needs root (chroot, mount). Where uv finds a real interpreter on the
host (`host_python`), callers use the host and never enter the root.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SIDROOT_SCRIPT = REPO_ROOT / "scripts" / "sidroot.sh"
ROOT_PYTHONS = ("3.14", "3.15")  # what scripts/sidroot.sh installs
UV_CACHE_IN_ROOT = "/var/cache/uv-host"
CA_BUNDLE_IN_ROOT = "/etc/ssl/certs/host-ca-certificates.crt"
HOST_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")

CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
MOUNT = shutil.which("mount") or "/usr/bin/mount"

_lock = threading.Lock()
_users = 0  # nested/concurrent SidRoot.open() share one set of mounts


def default_root() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("SIDROOT", cache / "django-service-template-ci" / "sid"))


def can_build() -> bool:
    """chroot and mount need root; the root is built with debootstrap."""
    return os.geteuid() == 0 and (
        default_root().joinpath(".complete").exists() or shutil.which("debootstrap") is not None
    )


def host_python(version: str, uv: str) -> bool:
    """A real (not downloadable) interpreter for ``version`` on the host, as uv sees it."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    found = subprocess.run(
        [uv, "python", "find", "--no-project", "--system", version],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    return found.returncode == 0 and "/.pyenv/shims" not in found.stdout


def ensure_root() -> Path:
    """The cached root, built by scripts/sidroot.sh when missing (about a minute)."""
    result = subprocess.run(
        ["bash", str(SIDROOT_SCRIPT)], capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"scripts/sidroot.sh failed:\n{result.stdout}{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def _mounted(target: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(target)], check=False).returncode == 0


class SidRoot:
    def __init__(self, path: Path, uv: Path, uv_cache: Path) -> None:
        self.path = path
        self.uv = uv
        self.uv_cache = uv_cache

    @classmethod
    @contextlib.contextmanager
    def open(cls, uv: str | Path | None = None) -> Iterator[SidRoot]:
        global _users
        uv_path = Path(uv or shutil.which("uv") or "uv").resolve()
        cache = Path(
            subprocess.run(
                [str(uv_path), "cache", "dir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        with _lock:
            root = cls(ensure_root(), uv_path, cache)
            if _users == 0:
                root._enter()
            _users += 1
        try:
            yield root
        finally:
            with _lock:
                _users -= 1
                if _users == 0:
                    root._exit()

    # ------------------------------------------------------------------ mounts

    def _mounts(self) -> list[tuple[list[str], Path]]:
        return [
            (["-t", "proc", "proc"], self.path / "proc"),
            (["--bind", "/dev"], self.path / "dev"),
            (["--bind", "/dev/pts"], self.path / "dev/pts"),
            (["--bind", str(self.uv_cache)], self.path / UV_CACHE_IN_ROOT.lstrip("/")),
        ]

    def _other_users(self) -> bool:
        """Another live process is using the mounts (each registers its pid)."""
        users = self.path / ".users"
        for entry in users.glob("*") if users.exists() else []:
            if entry.name == str(os.getpid()):
                continue
            try:
                os.kill(int(entry.name), 0)
            except (ProcessLookupError, ValueError):
                entry.unlink(missing_ok=True)  # left behind by a killed run
                continue
            except PermissionError:
                pass
            return True
        return False

    def _enter(self) -> None:
        if not self._other_users():
            self._leave()  # a previous run killed midway may have left mounts behind
        (self.path / ".users").mkdir(exist_ok=True)
        (self.path / ".users" / str(os.getpid())).touch()
        for bundle in HOST_CA_BUNDLES:
            if Path(bundle).exists():
                shutil.copyfile(bundle, self.path / CA_BUNDLE_IN_ROOT.lstrip("/"))
                break
        resolv = self.path / "etc/resolv.conf"
        resolv.unlink(missing_ok=True)  # may be a dangling symlink into /run
        shutil.copyfile(Path("/etc/resolv.conf").resolve(), resolv)
        target_uv = self.path / "usr/local/bin/uv"
        target_uv.parent.mkdir(parents=True, exist_ok=True)
        if not target_uv.exists() or not filecmp.cmp(self.uv, target_uv, shallow=False):
            # Replaced, not rewritten: another process may be running the old one.
            staged = target_uv.with_name(f".uv.{os.getpid()}")
            shutil.copyfile(self.uv, staged)
            staged.chmod(0o755)
            staged.replace(target_uv)
        self.uv_cache.mkdir(parents=True, exist_ok=True)
        for args, target in self._mounts():
            target.mkdir(parents=True, exist_ok=True)
            if not _mounted(target):
                subprocess.run(["mount", *args, str(target)], check=True, capture_output=True)

    def _exit(self) -> None:
        (self.path / ".users" / str(os.getpid())).unlink(missing_ok=True)
        if not self._other_users():
            self._leave()

    def _leave(self) -> None:
        for _args, target in reversed(self._mounts()):
            if _mounted(target):
                subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)

    # ------------------------------------------------------------------ use

    def workdir(self) -> Path:
        """A fresh host folder inside the root, under its /tmp."""
        return Path(tempfile.mkdtemp(prefix="sidroot-", dir=self.path / "tmp"))

    def inside(self, host_path: Path) -> str:
        """The path a folder inside the root has once chrooted."""
        return "/" + str(host_path.resolve().relative_to(self.path.resolve()))

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment inside: the root's PATH, the shared uv cache, the host's CAs."""
        env = {
            "HOME": "/root",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "UV_CACHE_DIR": UV_CACHE_IN_ROOT,
            # The cache is a bind mount: hard links across mounts fail (EXDEV), so uv copies,
            # as in the generated Dockerfile's cache mount.
            "UV_LINK_MODE": "copy",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
            "SSL_CERT_FILE": CA_BUNDLE_IN_ROOT,
            "NO_COLOR": "1",
        }
        return env | dict(extra or {})

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``argv`` in the root, from ``cwd`` (a host path inside the root)."""
        script = 'cd "$1" && shift && exec "$@"'
        return subprocess.run(
            [CHROOT, str(self.path), "/bin/sh", "-c", script, "sh", self.inside(cwd), *argv],
            env=self.env(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )


@contextlib.contextmanager
def toolchain(
    python_version: str, tmp_path: Path
) -> Iterator[tuple[Path, dict[str, str], SidRoot | None]]:
    """Where to render a service and run its gates on ``python_version``: a folder, the
    environment for tests/gates.py, and the sid root to run them in (None: on the host).

    The host when a real interpreter is found there (uv's discovery or pyenv); else, for
    3.14 and 3.15, the sid root (created when missing); else the test cannot run and fails.
    """
    from gates import base_env, find_python, find_uv

    try:
        find_python(python_version)
    except RuntimeError:
        if python_version not in ROOT_PYTHONS or not can_build():
            raise
    else:
        yield tmp_path, base_env([python_version]), None
        return
    with SidRoot.open(find_uv()) as root:
        workdir = root.workdir()
        try:
            yield workdir, {}, root
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
