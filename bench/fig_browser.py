"""Figure 4: the browser's crypto on the real /submit page (strict CSP, the shipped bundle).

Envelope encryption (DropCrypto.encryptBytes to the drop's responder key) in
MB/s, and codename generation + derivation (DropCrypto.deriveCodename) in ms,
in Debian's Chromium (Playwright) and firefox-esr (Marionette), normal and
with Tor Browser's "Safer" prefs (no JIT, no wasm: smaller sizes there).
Compared with PyNaCl (keys.encrypt) on the same sizes in this process.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import MB, Figure, Options
from keys import ResponderIdentity, encrypt
from tests.gunicorn_server import GunicornReporter

TITLE = "Browser crypto on the real CSP page: envelope MB/s, codename derivation"
NORMAL_BYTES = 16 * MB
SAFER_BYTES = 1 * MB
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Runs in the page; `C` is DropCrypto, `W` the page's window. Returns [encrypt ms, derive ms].
MEASURE_JS = """
  const data = new W.Uint8Array(size);
  const recipients = new W.Array();
  recipients.push(key);
  let t = performance.now();
  const sealed = C.encryptBytes(data, recipients);
  const encryptMs = performance.now() - t;
  if (sealed.length <= size) throw new Error('short envelope');
  t = performance.now();
  C.deriveCodename(C.generateCodename());
  return [encryptMs, performance.now() - t];
"""


def pynacl_mb_s(size: int) -> float:
    recipient = ResponderIdentity.generate().public
    data = bytes(size)
    start = time.perf_counter()
    encrypt(io.BytesIO(data), io.BytesIO(), [recipient])
    return size / MB / (time.perf_counter() - start)


def chromium_runs(url: str, key: str, size: int, runs: int) -> list[list[float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{url}/submit")
            script = f"([size, key]) => {{ const W = window, C = W.DropCrypto; {MEASURE_JS} }}"
            return [page.evaluate(script, [size, key]) for _ in range(runs)]
        finally:
            browser.close()


def firefox_runs(url: str, key: str, size: int, runs: int, safer: bool,
                 root: Path) -> list[list[float]]:
    from tests.browser.firefox import FirefoxSession

    with FirefoxSession(root, javascript=True, safer=safer) as client:
        client.navigate(f"{url}/submit")
        script = ("const [size, key] = arguments; const W = window.wrappedJSObject; "
                  f"const C = W.DropCrypto; {MEASURE_JS}")
        results: list[list[float]] = []
        for _ in range(runs):
            value: Any = client.execute_script(script, script_args=(size, key),
                                               script_timeout=600_000)
            results.append([float(value[0]), float(value[1])])
        return results


def measure(options: Options) -> Figure:
    figure = Figure("browser", TITLE)
    responder = ResponderIdentity.generate()
    key = str(responder.public)
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        server = GunicornReporter(root=Path(tmp) / "server", responder=responder).start()
        try:
            def chromium(s: int, r: int) -> list[list[float]]:
                return chromium_runs(server.url, key, s, r)

            cases: list[tuple[str, int, Callable[[int, int], list[list[float]]]]] = [
                ("Chromium", NORMAL_BYTES, chromium)]
            for label, safer, size in (("Firefox ESR", False, NORMAL_BYTES),
                                       ("Firefox ESR, Safer prefs", True, SAFER_BYTES)):
                def run(s: int, r: int, safer: bool = safer, label: str = label) -> list[
                        list[float]]:
                    root = Path(tmp) / label.replace(" ", "-").replace(",", "")
                    return firefox_runs(server.url, key, s, r, safer, root)
                cases.append((label, size, run))
            for label, size, runner in cases:
                try:
                    results = runner(size, options.runs)
                except Exception as error:  # one browser missing must not hide the others
                    figure.notes.append(f"{label}: not measured ({type(error).__name__}: "
                                        f"{str(error)[:200]})")
                    continue
                speed = figure.add(f"{label}: encryptBytes {size // MB} MB",
                                   [size / MB / (ms / 1000) for ms, _ in results], "MB/s")
                figure.add(f"{label}: generate + derive codename",
                           [derive for _, derive in results], "ms")
                python = figure.add(f"PyNaCl keys.encrypt {size // MB} MB (same machine)",
                                    [pynacl_mb_s(size) for _ in range(options.runs)], "MB/s")
                figure.ratio(f"{label} / PyNaCl", speed, python)
        finally:
            server.stop()
    figure.notes.append(f"CPUs: {os.cpu_count()}; timings by performance.now() in the page")
    return figure
