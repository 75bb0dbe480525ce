"""Figure 6: through a private Tor network on 127.0.0.1 (dropbox.testnet, dropbox.onion_host).

Cold start: the 1-authority + 4-relay network with client and onion host up,
then the reporter app and responder API under gunicorn, both onions
published, then the first page of the reporter onion fetched through the
client's SocksPort. Then JS-on sealed submissions and plain page loads
through the onion, one after another: p50 and p95 latency, compared with the
same requests on loopback without Tor.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench.measure import Figure, Options, not_measured
from tests.reporter_client import submit_js_on

TITLE = "Tor: cold start to first page, latency through the onion"
REQUESTS = 20
KEY_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "drop-bench-tor-keys"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def first_page(url: str, proxies: dict[str, str], timeout: float = 60.0) -> None:
    """GET `url` through tor; retries while the descriptor is not yet on every HSDir."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, proxies=proxies, timeout=30).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def latencies(url: str, proxies: dict[str, str] | None, responder: object) -> tuple[
        list[float], list[float]]:
    pages, submits = [], []
    with requests.Session() as session:
        session.trust_env = False
        if proxies:
            session.proxies.update(proxies)
        for _ in range(REQUESTS):
            start = time.perf_counter()
            session.get(f"{url}/", timeout=60).raise_for_status()
            pages.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            outcome = submit_js_on(session, url, [responder], "bench through tor")  # type: ignore[list-item]
            submits.append((time.perf_counter() - start) * 1000)
            assert outcome.acknowledged, outcome.text[:300]
    return pages, submits


def measure(options: Options) -> Figure:
    try:
        from dropbox.onion import TorControl
        from dropbox.onion_host import OnionPublisher
        from dropbox.testnet import TestNetwork
        from tests.tor.conftest import make_instance, start_apps
    except ImportError as error:
        return not_measured("tor", TITLE, f"the private Tor network code is missing ({error})")
    figure = Figure("tor", TITLE)
    KEY_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-tor-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        network = TestNetwork(root / "testnet", key_cache=KEY_CACHE)
        try:
            info = network.start(timeout=150)
            network_ready = time.perf_counter() - began
            env, responder, _client_auth = make_instance(root / "drop")
            servers = start_apps(root / "drop", env)
            control = TorControl.connect(info.host_control)
            publisher = OnionPublisher(control, Path(env["DROPBOX_INSTANCE"]),
                                       servers[0].port, servers[1].port)
            try:
                onions = publisher.publish(timeout=90)
                published = time.perf_counter() - began
                proxy = f"socks5h://127.0.0.1:{info.socks_port}"
                proxies = {"http": proxy, "https": proxy}
                onion_url = f"http://{onions.reporter.address}"
                first_page(f"{onion_url}/", proxies)
                first = time.perf_counter() - began
                tor_pages, tor_submits = latencies(onion_url, proxies, responder.public)
                direct_pages, direct_submits = latencies(servers[0].url, None, responder.public)
            finally:
                publisher.close()
                control.close()
                for server in servers:
                    server.stop()
        finally:
            network.stop()
    figure.add("cold start: network bootstrapped", [network_ready], "s")
    figure.add("cold start: both onions published", [published], "s")
    figure.add("cold start: first page through the onion", [first], "s")
    for label, values in (("page load via onion", tor_pages), ("page load direct", direct_pages),
                          ("JS-on submit via onion", tor_submits),
                          ("JS-on submit direct", direct_submits)):
        figure.add(f"{label}, p50", [statistics.median(values)], "ms")
        figure.add(f"{label}, p95", [percentile(values, 0.95)], "ms")
    by_label = {row.label: row for row in figure.rows}
    figure.ratio("submit p50 via onion / direct", by_label["JS-on submit via onion, p50"],
                 by_label["JS-on submit direct, p50"])
    figure.notes.append(f"{REQUESTS} sequential requests each; a submit includes GET /submit "
                        "for the CSRF token; one cold start per bench run (not a median)")
    return figure
