"""Schemathesis CLI hooks for ``python -m bench.outside_fuzz`` (loaded by SCHEMATHESIS_HOOKS).

They run inside the schemathesis process, an environment of its own: they know the service
only through the JSON file ``OUTSIDE_FUZZ_STATE`` names (written by the driver after it
seeded the database) and through HTTP.

- Credentials: an auth provider (schemathesis's own mechanism, so that its checks know the
  credential and probe without it or with a broken one) gives each request a seeded
  user's: a bearer access token, or a session cookie with its CSRF token and an https
  ``Origin``. A successful log-out ends its session: that session is not used again.
- Rows that exist: a valid request's ``id`` points, half of the time, at a row that exists
  (a product of the user it is sent as, another user's published product, a category), its
  ``category`` at a real category, its ``name`` gets a unique prefix. Without this, valid
  writes end in 400/404 and their success paths never run (what an earlier outside run saw:
  zero products created).
- Figures: each answer's status is counted per operation (the checks' own extra requests
  included); the counts go to ``OUTSIDE_FUZZ_STATE``'s ``counts`` file when the process
  exits, with the first answer body of each (operation, status) in samples.json beside it.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import threading
import uuid
from collections import Counter
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

STATE = json.loads(Path(os.environ["OUTSIDE_FUZZ_STATE"]).read_text(encoding="utf-8"))
NAME_MAX_LENGTH = 200
_lock = threading.Lock()
_random = random.Random(STATE["seed"])  # noqa: S311 - picks test data, reproducibly
_counts: Counter[str] = Counter()
_samples: dict[str, str] = {}  # the first answer body per operation and status
_dead_sessions: set[str] = set()
_sent = threading.local()  # the session of the request this thread is sending


def _label(case: Any) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


def _valid_at(case: Any, location: ParameterLocation) -> bool:
    """Whether that part of the request was generated valid (a case is negative as a whole
    when any one part is, a generated session cookie included)."""
    return case.meta is None or not case.meta.is_negative_at(location)


def _point_at_known_rows(case: Any, user: dict[str, Any]) -> None:
    path = case.path_parameters or {}
    if "id" in path and _valid_at(case, ParameterLocation.PATH) and _random.random() < 0.5:
        choices = [*user["products"], *STATE["published"], *STATE["categories"]]
        case.path_parameters = {**path, "id": _random.choice(choices)}
    if isinstance(case.body, MutableMapping) and _valid_at(case, ParameterLocation.BODY):
        if "category" in case.body:
            case.body["category"] = _random.choice(STATE["categories"])
        if isinstance(case.body.get("name"), str):
            case.body["name"] = f"{uuid.uuid4().hex} {case.body['name']}"[:NAME_MAX_LENGTH]


@schemathesis.auth(refresh_interval=None)  # asked for every request: users rotate
class SeededUser:
    """A seeded user's credential, through schemathesis's own auth mechanism: its checks
    (ignored_auth among them) know what the credential is and send requests without it or
    with a broken one themselves."""

    def get(self, case: Any, ctx: Any) -> dict[str, Any]:
        with _lock:
            users = [
                user for user in STATE["users"] if user.get("session") not in _dead_sessions
            ] or STATE["users"]
            return users[_random.randrange(len(users))]

    def set(self, case: Any, data: dict[str, Any], ctx: Any) -> None:
        case.headers = dict(case.headers or {})
        if STATE["auth"] == "jwt":
            case.headers["Authorization"] = f"Bearer {data['token']}"
        else:
            csrf = uuid.uuid4().hex  # 32 characters: a CSRF secret Django takes as the token
            case.headers.update({"X-CSRFToken": csrf, "Origin": STATE["origin"]})
            case.cookies = {**(case.cookies or {}), "sessionid": data["session"], "csrftoken": csrf}
        _sent.session = data.get("session")
        _point_at_known_rows(case, data)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    label = _label(case)
    with _lock:
        key = f"{label} {response.status_code}"
        _counts[key] += 1
        _samples.setdefault(key, response.content[:500].decode(errors="replace"))
        session = getattr(_sent, "session", None)
        if session and "logout" in label and response.status_code < 300:
            _dead_sessions.add(session)


@atexit.register
def _write_counts() -> None:
    Path(STATE["counts"]).write_text(json.dumps(dict(_counts), indent=1, sort_keys=True))
    Path(STATE["counts"]).with_name("samples.json").write_text(
        json.dumps(_samples, indent=1, sort_keys=True, ensure_ascii=False)
    )
