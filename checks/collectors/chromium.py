"""One Chromium per scan, driven by Playwright, and what one visit of one page records.

Playwright's objects belong to the event loop that made them, while the runner calls collectors
from many threads. So the browser lives in one thread of its own running an asyncio loop; a
collector thread hands it a visit and waits for the record. Each visit gets a fresh browser
context (no cookies or storage carried between visits) and a semaphore bounds how many run at
once. Nothing here judges what was seen: ``checks/collectors/browser.py`` turns the raw records
into facts, and the checks judge them.

The system Chromium is used (``--browser PATH`` or found on PATH); nothing downloads a browser.
Debian's ``chromium-headless-shell`` (the same engine without the desktop browser around it, what
Playwright itself runs headless) is preferred to ``chromium``: half the memory and time per page.
Memory is kept down on each side: Chromium's GPU work in its browser process, Playwright's Node
driver with a small young generation, and posture's own freed memory returned after every visit.
``--resolve`` pins become Chromium's ``--host-resolver-rules``; ``--ca-bundle`` certificates are
added as trust anchors to a throwaway NSS database that only this browser reads (Chromium on
Linux trusts roots in ``$HOME/.pki/nssdb``), so verification stays on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from posture.checks.collectors.memory import return_freed_memory
from posture.errors import CollectError
from posture.plugin import ScanOptions

CANDIDATES = (
    "chromium-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
INSTALL_HINT = "apt-get install chromium-headless-shell"
# Playwright's driver (Node): a 1 MB young generation instead of 16 (16 MB less, no slower).
DRIVER_NODE_OPTIONS = "--max-semi-space-size=1"
MARKER = "__posture__"  # in every script posture itself runs in a page, so it is never recorded
MAX_REQUESTS = 2000
MAX_SCRIPTS = 500
MAX_SCRIPT_BYTES = 20_000_000  # larger scripts are named by Chromium's hash, not fetched
SETTLE_SECONDS = 2.0  # after load: tag managers inject their trackers in this window
QUIET_SECONDS = 0.3  # ... and the page counts as settled once no request ran for this long
SECURITY_HEADERS = (
    "content-security-policy",
    "content-security-policy-report-only",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
)
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--mute-audio",
    "--in-process-gpu",  # the compositor in the browser process: one process (~30 MB) fewer
    # No --enable-features/--disable-features here: the last one given wins, and Playwright's own
    # lists (ThirdPartyStoragePartitioning, HttpsUpgrades, PaintHolding ...) must stay in force.
)

_GPC_SCRIPT = (
    "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
    "{get: () => true, configurable: true, enumerable: true});\n"
    f"//# sourceURL={MARKER}gpc.js"
)
_DOM_SCRIPT = """() => {
  const MARK = '__posture__';
  const text = (e) => [e.getAttribute('autocomplete') || '', e.name || '', e.id || ''].join(' ');
  const card = /(^|\\s)cc-(number|csc|exp)|card.?num|cc.?num|cvv|cvc|card.?code|security.?code|pan\\b/i;
  const forms = Array.from(document.forms).slice(0, 50).map((f) => {
    const els = Array.from(f.elements);
    return {
      action: f.action || location.href,
      method: (f.getAttribute('method') || 'get').toLowerCase(),
      card_fields: els.filter((e) => card.test(text(e))).map((e) => e.name || e.id || 'card').slice(0, 10),
      login: els.some((e) => (e.type || '') === 'password'),
    };
  });
  const sri = Array.from(document.scripts).filter((s) => s.src)
    .slice(0, 500).map((s) => [s.src, s.integrity || null]);
  const keys = (store) => { try { return Object.keys(store).slice(0, 200); } catch (e) { return []; } };
  return {origin: location.origin, url: location.href, forms, sri,
          local: keys(window.localStorage), session: keys(window.sessionStorage), mark: MARK};
}"""


def find_browser(explicit: str | None) -> tuple[str | None, str]:
    """(path, why-not): ``--browser PATH`` if given, else the first Chromium on PATH."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit, ""
        return None, f"--browser {explicit}: not an executable file"
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found, ""
    return None, f"no Chromium found on PATH ({', '.join(CANDIDATES)}): {INSTALL_HINT}"


def sandbox_state() -> str:
    """ "on" when Chromium's sandbox can be asked for, else "off: why". Pages come from the
    scanned configuration, which a pull request can point anywhere: the sandbox is what keeps a
    renderer exploit inside the renderer. Chromium refuses to sandbox as root."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "off: running as root (Chromium's sandbox refuses root; run posture as another user)"
    return "on"


def resolver_rules(options: ScanOptions) -> str:
    """``--resolve host:port:addr`` as Chromium's host resolver rules (ports are not matched:
    Chromium maps names, so a pin applies to every port of that host)."""
    rules = []
    for (host, _port), address in sorted(options.resolve.items()):
        target = f"[{address}]" if ":" in address else address
        rules.append(f"MAP {host} {target}")
    return ", ".join(rules)


def _split_pem(text: str) -> list[str]:
    return re.findall(
        r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----", text
    )


def trust_home(ca_bundle: str, timeout: float) -> str:
    """A fresh HOME whose NSS database trusts the certificates of ``ca_bundle``."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise CollectError(
            f"--ca-bundle {ca_bundle}: Chromium reads extra trust anchors from an NSS database "
            "and certutil is missing: apt-get install libnss3-tools"
        )
    try:
        pems = _split_pem(Path(ca_bundle).read_text(encoding="ascii", errors="replace")[:5_000_000])
    except OSError as exc:
        raise CollectError(f"--ca-bundle {ca_bundle}: {exc.strerror or exc}") from None
    if not pems:
        raise CollectError(f"--ca-bundle {ca_bundle}: no PEM certificate in it")
    home = tempfile.mkdtemp(prefix="posture-chromium-")
    db = Path(home) / ".pki" / "nssdb"
    db.mkdir(parents=True)
    run = [certutil, "-d", f"sql:{db}"]
    subprocess.run(
        [*run, "-N", "--empty-password"], check=True, timeout=timeout, capture_output=True
    )
    for index, pem in enumerate(pems):
        path = Path(home) / f"ca{index}.pem"
        path.write_text(pem + "\n", encoding="ascii")
        subprocess.run(
            [*run, "-A", "-n", f"posture-ca-{index}", "-t", "C,,", "-i", str(path)],
            check=True,
            timeout=timeout,
            capture_output=True,
        )
    return home


_UNTRUSTED = ("ERR_CERT_DATE_INVALID", "ERR_CERT_AUTHORITY_INVALID", "ERR_CERT_INVALID")


def _untrusted(error: str | None) -> bool:
    """A verification failure that still reaches the shop itself. A name mismatch is not one:
    the answer may come from another site (as the static collector judges it)."""
    return bool(error) and any(code in str(error) for code in _UNTRUSTED)


async def _quiet(pending: set[Any], limit: float) -> bool:
    """Wait until no request has been in flight for ``QUIET_SECONDS`` (tag managers inject
    trackers just after load), at most ``limit`` seconds; False if it never went quiet."""
    deadline = time.monotonic() + limit
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if pending:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_SECONDS:
            return True
    return not pending


class _Clock:
    """Where a visit's time went (setup, load, settle, ...): in the record, for tuning."""

    def __init__(self, box: dict[str, Any]) -> None:
        self.box = box
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.box.setdefault("timings", {})[name] = round(now - self.last, 3)
        self.last = now


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _driver_environment() -> Iterator[None]:
    """``NODE_OPTIONS`` for Playwright's driver, which takes its environment from ``os.environ``
    when it starts; put back as it was right after."""
    with _ENV_LOCK:
        saved = os.environ.get("NODE_OPTIONS")
        os.environ["NODE_OPTIONS"] = " ".join(filter(None, (saved, DRIVER_NODE_OPTIONS)))
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("NODE_OPTIONS", None)
            else:
                os.environ["NODE_OPTIONS"] = saved


def _sandbox_error(exc: BaseException) -> str:
    """Chromium's own words on why the sandbox failed, from the launch's browser log."""
    for line in str(exc).splitlines():
        if "sandbox" in line.lower() and "ERROR:" in line:
            return line.split("] ", 2)[-1].strip()[:200]
    return _first_line(exc)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else exc.__class__.__name__
    return line.removeprefix("Page.goto: ").removeprefix("Error: ")[:300]


class Chromium:
    """The scan's browser: started on first use, closed by the scan's resources."""

    def __init__(self, executable: str, options: ScanOptions) -> None:
        self.executable = executable
        self.options = options
        # Each visit is a renderer or more: four at a time keeps memory near 500 MB.
        self.concurrency = max(1, min(options.concurrency, 4))
        self.version = ""
        self.sandbox = "off"  # "on", or "off: why" once started
        # A page load is many operations; like one HTTP fetch's body deadline: 3 x --timeout.
        self.load_limit = options.timeout * 3
        self._home: str | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chromium", daemon=True)
        self._thread.start()
        try:
            self._call(self._start(), timeout=max(30.0, options.timeout * 3))
        except BaseException:
            self.close()
            raise

    def _call(self, coro: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        env: dict[str, str | float | bool] = dict(os.environ)
        if self.options.ca_bundle:
            self._home = trust_home(self.options.ca_bundle, self.options.timeout * 3)
            env["HOME"] = self._home
        args = list(LAUNCH_ARGS)
        rules = resolver_rules(self.options)
        if rules:
            args.append(f"--host-resolver-rules={rules}")
        with _driver_environment():
            self._pw = await async_playwright().start()
        self.sandbox = sandbox_state()
        try:
            if self.sandbox == "on":
                try:
                    self._browser = await self._launch(args, env, sandbox=True)
                except Exception as exc:  # noqa: BLE001 - then without, saying why
                    self.sandbox = f"off: Chromium's sandbox did not start ({_sandbox_error(exc)})"
            if self.sandbox != "on":
                self._browser = await self._launch([*args, "--no-sandbox"], env, sandbox=False)
        except Exception as exc:  # noqa: BLE001 - any launch failure is one line for the user
            await self._pw.stop()
            raise CollectError(f"could not start {self.executable}: {_first_line(exc)}") from None
        self.version = self._browser.version
        self._semaphore = asyncio.Semaphore(self.concurrency)

    async def _launch(
        self, args: list[str], env: dict[str, str | float | bool], sandbox: bool
    ) -> Any:
        return await self._pw.chromium.launch(
            executable_path=self.executable,
            headless=True,
            args=args,
            env=env,
            chromium_sandbox=sandbox,
            timeout=max(30_000, self.options.timeout * 3000),
        )

    def close(self) -> None:
        if self._loop.is_running():
            try:
                self._call(self._stop(), timeout=15)
            except Exception:  # noqa: BLE001, S110 - the process is killed with the loop anyway
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if self._home:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    async def _stop(self) -> None:
        browser = getattr(self, "_browser", None)
        if browser is not None:
            await browser.close()
        pw = getattr(self, "_pw", None)
        if pw is not None:
            await pw.stop()

    def pages(self, wanted: list[tuple[str, str | None, str | None]]) -> list[dict[str, Any]]:
        """Visit each page (url, screenshot path, screenshot path with GPC) twice: a fresh visitor,
        then a fresh visitor with Global Privacy Control. All pages at once, at most
        ``concurrency`` visits at a time; each page's second visit follows its first.

        Returns per page ``{"plain": record, "gpc": record or None, "unverified": error or
        None}``. The second visit is not made when the first failed (one cause, one error). A
        page whose certificate failed verification but still comes from the shop (expired,
        unknown issuer, incomplete chain) is visited again without verifying it, as the static
        collector reads it, and ``unverified`` says why: the TLS checks report the certificate.

        Each visit ends within the time limit: loading the page gets the HTTP collector's
        deadline for one fetch (three times ``--timeout``), the settling after load a little
        more, and the whole visit a hard cap beyond that."""
        cap = self.load_limit + self.options.timeout + SETTLE_SECONDS + 10
        rounds = 3 * max(1, -(-len(wanted) // self.concurrency))
        slow: dict[str, str] = {}

        async def one(url: str, shot: str | None, gpc_shot: str | None) -> dict[str, Any]:
            plain = await self._bounded((url, False, shot, False), cap, slow)
            unverified = None
            if _untrusted(plain.get("error")):
                retry = await self._bounded((url, False, shot, True), cap, slow)
                if not retry.get("error"):
                    unverified, plain = plain["error"], retry
            if plain.get("error"):
                return {"plain": plain, "gpc": None, "unverified": None}
            gpc = await self._bounded((url, True, gpc_shot, unverified is not None), cap, slow)
            return {"plain": plain, "gpc": gpc, "unverified": unverified}

        async def every() -> list[dict[str, Any]]:
            return list(await asyncio.gather(*(one(*w) for w in wanted)))

        return list(self._call(every(), timeout=cap * rounds + 15))

    async def _bounded(
        self, wanted: tuple[str, bool, str | None, bool], cap: float, slow: dict[str, str]
    ) -> dict[str, Any]:
        """One visit within ``cap``. ``slow``: origins that already used up the limit in this
        storefront's visits (like the HTTP client, a host that held us once is not visited
        again), and why."""
        url, gpc, shot, relaxed = wanted
        origin = _origin(url)
        async with self._semaphore:
            started = time.monotonic()
            box: dict[str, Any] = {"url": url, "gpc": gpc}
            if origin in slow:
                box["error"] = f"{url}: not visited: {slow[origin]}"
                return box
            try:
                await asyncio.wait_for(self._visit(url, gpc, shot, box, relaxed), cap)
            except TimeoutError:
                box["error"] = f"{url}: the visit did not finish within {cap:g} s"
            except Exception as exc:  # noqa: BLE001 - one page's failure is that page's error
                box.setdefault("error", f"{url}: {_first_line(exc)}")
            box["elapsed"] = round(time.monotonic() - started, 3)
            if "did not finish" in str(box.get("error", "")):
                slow.setdefault(
                    origin, f"an earlier page of {origin} took over {box['elapsed']:g} s"
                )
        return_freed_memory()
        return box

    async def _visit(
        self, url: str, gpc: bool, shot: str | None, box: dict[str, Any], relaxed: bool = False
    ) -> None:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        timeout_ms = self.options.timeout * 1000
        load_ms = self.load_limit * 1000
        clock = _Clock(box)
        context = await self._browser.new_context(
            extra_http_headers={"Sec-GPC": "1"} if gpc else None,
            viewport={"width": 1280, "height": 800},
            java_script_enabled=True,
            accept_downloads=False,  # a page cannot drop files on the scanning machine
            ignore_https_errors=relaxed,  # only for a page whose verified visit failed: see visits()
        )
        try:
            if gpc:
                await context.add_init_script(script=_GPC_SCRIPT)
            requests: list[dict[str, Any]] = box.setdefault("requests", [])
            initiators: dict[str, str] = {}
            scripts: list[dict[str, Any]] = []

            def on_request(request: Any) -> None:
                if len(requests) >= MAX_REQUESTS:
                    box["requests_truncated"] = True
                    return
                try:
                    frame_url = request.frame.url
                except Exception:  # noqa: BLE001 - service worker or detached frame
                    frame_url = None
                requests.append(
                    {
                        "url": request.url,
                        "method": request.method,
                        "type": request.resource_type,
                        "frame": frame_url,
                        "navigation": request.is_navigation_request(),
                    }
                )

            pending: set[Any] = set()
            context.on("request", on_request)
            # Playwright needs Python functions as handlers (it marks them), not builtins.
            context.on("request", lambda request: pending.add(request))
            context.on("requestfinished", lambda request: pending.discard(request))
            context.on("requestfailed", lambda request: pending.discard(request))
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)

            def on_script(params: Mapping[str, Any]) -> None:
                aux = params.get("executionContextAuxData") or {}
                if aux.get("isDefault") is False or len(scripts) >= MAX_SCRIPTS:
                    return  # isolated worlds are Playwright's, not the page's
                if MARKER in (params.get("url") or "") or MARKER in (
                    params.get("sourceMapURL") or ""
                ):
                    return
                scripts.append(dict(params))

            def on_will_send(params: Mapping[str, Any]) -> None:
                init = params.get("initiator") or {}
                source = init.get("url")
                if not source:
                    frames = ((init.get("stack") or {}).get("callFrames")) or []
                    source = frames[0].get("url") if frames else None
                request_url = (params.get("request") or {}).get("url")
                if source and request_url and request_url not in initiators:
                    initiators[request_url] = source

            cdp.on("Debugger.scriptParsed", on_script)
            cdp.on("Network.requestWillBeSent", on_will_send)
            await cdp.send("Debugger.enable")
            await cdp.send("Network.enable")
            clock.lap("setup")
            try:
                response = await page.goto(url, wait_until="load", timeout=load_ms)
            except PlaywrightTimeout:
                box["error"] = (
                    f"{url}: the page did not finish loading within {self.load_limit:g} s"
                )
                return
            except PlaywrightError as exc:
                box["error"] = f"{url}: {_first_line(exc)}"
                return
            if response is None:
                box["error"] = f"{url}: no response"
                return
            box["status"] = response.status
            box["final_url"] = page.url
            headers = await response.all_headers()
            box["headers"] = {k: v[:2000] for k, v in headers.items() if k in SECURITY_HEADERS}
            settle = min(SETTLE_SECONDS, self.options.timeout / 2)
            clock.lap("load")
            if not await _quiet(pending, settle):
                box["still_loading"] = True  # trackers that keep polling: recorded as seen so far
            clock.lap("settle")
            parsed = list(scripts)  # before posture runs anything in the page
            box["scripts"] = await self._sources(cdp, parsed)
            box["frames_tree"] = await self._frame_ids(cdp)
            box["initiators"] = dict(initiators)
            box["frames"] = [
                {"url": f.url, "parent": f.parent_frame.url if f.parent_frame else None}
                for f in page.frames[:100]
            ]
            doms = []
            for frame in page.frames[:20]:
                try:
                    doms.append(
                        await asyncio.wait_for(frame.evaluate(_DOM_SCRIPT), self.options.timeout)
                    )
                except Exception:  # noqa: BLE001, S112 - a frame that went away or refuses
                    continue
            clock.lap("scripts_and_dom")
            box["dom"] = doms
            box["cookies"] = [
                {
                    k: c.get(k)
                    for k in ("name", "domain", "path", "expires", "httpOnly", "secure", "sameSite")
                }
                for c in (await context.cookies())[:500]
            ]
            clock.lap("cookies")
            if shot:
                try:
                    png = await page.screenshot(type="png", timeout=timeout_ms)
                    box["screenshot"] = _save(png, shot)
                    box["screenshot_sha256"] = hashlib.sha256(png).hexdigest()
                except Exception as exc:  # noqa: BLE001 - a missing picture is noted, not fatal
                    box["screenshot_error"] = _first_line(exc)
        finally:
            clock.lap("screenshot")
            try:
                await asyncio.wait_for(context.close(), 10)
            except Exception:  # noqa: BLE001, S110 - the browser reaps it at the end anyway
                pass

    async def _sources(self, cdp: Any, parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for params in parsed:
            length = int(params.get("length") or 0)
            if length > MAX_SCRIPT_BYTES:  # hashed by Chromium's own hash only: bounded memory
                out.append(_script(params, "too-large:" + str(params.get("hash", "")), length))
                continue
            try:
                got = await cdp.send("Debugger.getScriptSource", {"scriptId": params["scriptId"]})
            except Exception:  # noqa: BLE001, S112 - collected with its frame
                continue
            if "bytecode" in got and not got.get("scriptSource"):
                body = base64.b64decode(got["bytecode"])
            else:
                body = str(got.get("scriptSource", "")).encode("utf-8", "surrogatepass")
            if MARKER.encode() in body[-200:]:
                continue  # posture's own init script
            out.append(_script(params, hashlib.sha256(body).hexdigest(), len(body)))
        return out

    async def _frame_ids(self, cdp: Any) -> dict[str, str]:
        try:
            tree = (await cdp.send("Page.getFrameTree"))["frameTree"]
        except Exception:  # noqa: BLE001 - frame URLs then stay unknown
            return {}
        out: dict[str, str] = {}
        stack = [tree]
        while stack:
            node = stack.pop()
            frame = node.get("frame") or {}
            out[str(frame.get("id"))] = str(frame.get("url", ""))
            stack.extend(node.get("childFrames") or [])
        return out


def _script(params: Mapping[str, Any], sha256: str, size: int) -> dict[str, Any]:
    """The record of one parsed script (Debugger.scriptParsed) with its body's hash."""
    aux = params.get("executionContextAuxData") or {}
    return {
        "url": params.get("url") or "",
        "line": params.get("startLine", 0),
        "column": params.get("startColumn", 0),
        "frame_id": aux.get("frameId"),
        "module": bool(params.get("isModule")),
        "sha256": sha256,
        "size": size,
    }


def _save(png: bytes, path: str) -> str:
    """Write a screenshot without following a symlink planted at its name."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.parent.is_symlink():
        raise OSError(f"{target.parent} is a symbolic link: not writing through it")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(png)
    return str(target)
