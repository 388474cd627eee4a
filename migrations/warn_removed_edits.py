"""After `copier update`: name deleted files that held changes of yours, and the way back.

    python migrations/warn_removed_edits.py .copier-answers.yml

Copier deletes every file the previous version rendered that the new version or the new
answers no longer render (`--data api_auth=jwt` drops `apps/users/session_views.py`), edited
or not, with no conflict: the edits are gone from the working tree and nothing says so.
Copier runs this as an `after` migration on every update (`_migrations` in copier.yml, with
no version) in the project's root, with its own interpreter; it needs only git.

Copier refuses to update a repository with uncommitted changes, so every file the update
deleted is still in `HEAD`. A deleted file held changes of yours when its content in `HEAD`
differs from its content in the last commit that changed the answers file (the commit that
recorded the last copy or update); with no such commit, every deleted file counts as
changed. The report goes to stderr; the update itself is never failed by it.
"""

from __future__ import annotations

import subprocess
import sys


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def deleted_files() -> list[str]:
    """Tracked files (under the project root) missing from the working tree."""
    listed = git("ls-files", "--deleted", "-z", "--", ".")
    return sorted(filter(None, listed.stdout.split("\0"))) if listed.returncode == 0 else []


def last_template_commit(answers_file: str) -> str | None:
    found = git("log", "-1", "--format=%H", "--", answers_file).stdout.strip()
    return found or None


def changed_since(base: str | None, path: str) -> bool:
    if base is None:
        return True
    # Exit status 1: the file differs between the two commits (or did not exist in `base`).
    return git("diff", "--quiet", base, "HEAD", "--", path).returncode != 0


def report(answers_file: str) -> str:
    deleted = deleted_files()
    if not deleted:
        return ""
    base = last_template_commit(answers_file)
    edited = [path for path in deleted if changed_since(base, path)]
    untouched = [path for path in deleted if path not in edited]
    since = f"commit {base[:12]}" if base else "the first commit"
    lines = [
        f"This update deleted {len(deleted)} file(s) that the new version or answers no "
        "longer render."
    ]
    if edited:
        lines += [
            "",
            f"WARNING: {len(edited)} of them held changes of yours (made since the last "
            f"copy or update, {since}); Copier deletes such files all the same:",
            *(f"    {path}" for path in edited),
            "",
            "  Your version is still in git:",
            "    git show HEAD:<path>          # read it",
            "    git checkout HEAD -- <path>   # restore it, then adapt it or move its code",
        ]
    if untouched:
        lines += [
            "",
            "Deleted as the template rendered them (no changes of yours):",
            *(f"    {path}" for path in untouched),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: warn_removed_edits.py ANSWERS_FILE", file=sys.stderr)
        return 2
    if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        return 0
    sys.stderr.write(report(argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
