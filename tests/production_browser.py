"""Headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol commands from file
descriptor 3 and writes replies and events to descriptor 4, each message one JSON object
ended by a NUL byte. No WebDriver, no websocket client, no browser download: Debian's
``chromium`` package (/usr/bin/chromium) is all it needs. A missing Chromium is an error,
never a skip.

:func:`chromium` yields a :class:`Page`: one tab, attached with a flat session, with the
Page, Runtime, Log, Network and Audits domains on, so every console message, log entry and
DevTools issue (Content Security Policy violations among them) is recorded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # the harness runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-pipe",
]
COMMAND_TIMEOUT = 30  # seconds

# Installed in every document before its own scripts run: records each
# `securitypolicyviolation` event the page sees, with the directive and the blocked resource.
VIOLATION_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    effectiveDirective: event.effectiveDirective,
    violatedDirective: event.violatedDirective,
    blockedURI: event.blockedURI,
    sourceFile: event.sourceFile,
    lineNumber: event.lineNumber,
    sample: event.sample,
    disposition: event.disposition,
  });
});
"""


class ChromiumMissing(RuntimeError):
    pass


def chromium_binary() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return Path(found)
    raise ChromiumMissing(
        "Chromium not found at /usr/bin/chromium: install Debian's package "
        "(apt-get install -y chromium); .ci/run installs it for CI."
    )


class Page:
    """One tab. ``send`` runs a command in the tab's session; events are kept in order."""

    def __init__(self, browser: _Browser, session_id: str) -> None:
        self._browser = browser
        self.session_id = session_id

    def send(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._browser.send(method, params, session_id=self.session_id)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for e in self._browser.events if e.get("sessionId") == self.session_id]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        reply = self.send("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {reply['errorText']}")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Evaluate ``expression`` until it is truthy; return its value or fail."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{expression!r} still {value!r} after {timeout}s")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    # ---- what the page reported

    def csp_problems(self) -> list[str]:
        """Every CSP violation seen: DOM events, DevTools issues, console and log entries."""
        problems: list[str] = []
        recorded = self.evaluate("JSON.stringify(window.__cspViolations || [])")
        problems += [f"securitypolicyviolation event: {v}" for v in json.loads(recorded)]
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Audits.issueAdded":
                issue = params.get("issue", {})
                if issue.get("code") == "ContentSecurityPolicyIssue":
                    details = issue.get("details", {}).get("contentSecurityPolicyIssueDetails")
                    problems.append(f"DevTools issue: {details}")
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                if "Content Security Policy" in entry.get("text", ""):
                    problems.append(f"log ({entry.get('source')}): {entry.get('text')}")
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", "")) for a in params.get("args", []))
                if "Content Security Policy" in text:
                    problems.append(f"console: {text}")
        return problems

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors, and failed or >= 400 responses."""
        found: list[str] = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(f"console.error: {params.get('args')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"log error: {params['entry'].get('text')}")
            elif method == "Network.responseReceived":
                response = params.get("response", {})
                if response.get("status", 0) >= 400:
                    found.append(f"HTTP {response.get('status')}: {response.get('url')}")
            elif method == "Network.loadingFailed":
                found.append(f"loading failed: {params}")
        return found

    def responses(self) -> list[dict[str, Any]]:
        return [
            event["params"]["response"]
            for event in self.events
            if event.get("method") == "Network.responseReceived"
        ]


class _Browser:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self.process = process
        self._to_browser = to_browser
        self._from_browser = from_browser
        self._next_id = 0
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        waiting = self._replies.get(message["id"])
                    if waiting is not None:
                        waiting.put(message)
                else:
                    self.events.append(message)

    def send(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            reply: queue.Queue[dict[str, Any]] = queue.Queue(1)
            self._replies[message_id] = reply
        message: dict[str, Any] = {"id": message_id, "method": method, "params": dict(params or {})}
        if session_id:
            message["sessionId"] = session_id
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            answer = reply.get(timeout=COMMAND_TIMEOUT)
        except queue.Empty:
            raise TimeoutError(f"Chromium did not answer {method} in {COMMAND_TIMEOUT}s") from None
        finally:
            with self._lock:
                self._replies.pop(message_id, None)
        if "error" in answer:
            raise RuntimeError(f"{method} failed: {answer['error']}")
        return answer.get("result", {})


@contextlib.contextmanager
def chromium(
    extra_headers: Mapping[str, str] | None = None, log_dir: Path | None = None
) -> Iterator[Page]:
    """A fresh headless Chromium (new profile directory) with one recorded tab.

    ``extra_headers`` are sent with every request the tab makes (Network.setExtraHTTPHeaders).
    The browser is closed through the protocol and then ended by its process group.
    """
    binary = chromium_binary()
    profile = Path(tempfile.mkdtemp(prefix="harness-chromium-", dir=log_dir))
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    # Chromium expects the pipe on fds 3 (commands in) and 4 (messages out): a tiny Python
    # trampoline moves them there and execs Chromium in its place (same pid).
    trampoline = (
        "import os, sys\n"
        f"os.dup2({to_browser_r}, 3); os.dup2({from_browser_w}, 4)\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    argv = [
        sys.executable, "-c", trampoline, str(binary), *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}", "about:blank",
    ]  # fmt: skip
    log_file = (log_dir or profile) / "chromium.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            pass_fds=(to_browser_r, from_browser_w), start_new_session=True,
        )  # fmt: skip
    os.close(to_browser_r)
    os.close(from_browser_w)
    browser = _Browser(process, to_browser_w, from_browser_r)
    try:
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
        except (TimeoutError, RuntimeError, OSError) as error:
            raise RuntimeError(
                f"Chromium did not start: {error}\n{log_file.read_text(errors='replace')}"
            ) from error
        page = Page(browser, session)
        for domain in ("Page", "Runtime", "Log", "Network", "Audits"):
            page.send(f"{domain}.enable")
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER})
        if extra_headers:
            page.send("Network.setExtraHTTPHeaders", {"headers": dict(extra_headers)})
        yield page
    finally:
        with contextlib.suppress(Exception):
            browser.send("Browser.close")
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, 9)  # helpers (zygote, renderers) of this browser only
        for fd in (to_browser_w, from_browser_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(profile, ignore_errors=True)
