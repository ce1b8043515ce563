"""Seconds until a dashboard page is finished, as a new user meets it (Playwright, Debian's Chromium).

Each round starts a fresh server as ``make run`` does (``python -m dashboard.serve``) on a port of its own with an empty team store and
a new browser (a new user: a browser of its own, nothing cached, nothing compiled; a new context of a
running browser would share processes that compiled the app's scripts already). The user first opens
the app (the Glossary, which runs nothing: the seconds it takes are mostly the browser loading and
compiling Streamlit's scripts, about 8 MB for a first page), then visits every page below in that
browser, each by its address (a new session on the server, and the page's scripts set up again), timed
from the address being entered to the page being finished: script done, no progress bar, the page's
last section shown, no element still waiting for its script, and every chart and diagram drawn:

* the Overview of every bundled scenario (each the first visit of that scenario on this server; the
  first one also loads the chart libraries); and, at the end, the baseline's Overview as the very first
  page of another new browser (the app's scripts and the chart libraries load with it);
* the first visit of Cost and of Compare (baseline);
* "How sure are these numbers?" switched on (baseline's Overview);
* a knob change (baseline, model servers 100 % -> 125 %, on a seed nobody ran before): the seconds
  until the instant estimate shows, and until the simulated page is finished;
* a capacity-planner search: 3 precisions x 8 replica counts, 4 replications each (baseline);
* for reference, at the start of each round, a one-line Streamlit page (``bench/reference_page.py``, plain
  ``streamlit run``) as a new browser's first page: what Streamlit itself costs here, before any page of ours.

Two kinds of server, interleaved round by round:

* ``cold``: an empty run cache (``PIPELINE_TWIN_RUN_CACHE_DIR`` in a new folder): every run is
  simulated while the server's background warm-up fills the cache at the same time;
* ``warm``: a run cache that a previous server warmed (the bench primes it once, waiting for the
  warm-up to finish): what a restarted server answers (it reads the kept runs into memory, the
  default scenario first, before it reports healthy).

    python bench/dashboard.py [--rounds 2] [--modes cold,warm] [--scenarios baseline,mmc]

Prints one line per measurement and a table of medians; the load average is printed before and
after, since the machine may be shared.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the launcher's helpers (run as `python bench/dashboard.py`)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 240_000
PRIME_TIMEOUT_S = 1800


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(cache_dir: Path, log_path: Path):
    """A fresh server (own port, empty store) on ``cache_dir``; yields its URL once healthy."""
    from dashboard.serve import local_server

    drop = ("PIPELINE_TWIN_INPROCESS", "PIPELINE_TWIN_SCENARIOS", "PIPELINE_TWIN_DATABASE_URL", "PIPELINE_TWIN_ROLES",
            "PIPELINE_TWIN_USER", "PIPELINE_TWIN_WARM_UP")
    with tempfile.TemporaryDirectory(prefix="pipeline-twin-bench-") as store, open(log_path, "w") as log:
        env = {**{k: v for k, v in os.environ.items() if k not in drop}, "PIPELINE_TWIN_DATA_DIR": store,
               "PIPELINE_TWIN_RUN_CACHE_DIR": str(cache_dir)}
        with local_server(_free_port(), env, log) as url:
            yield url


@contextlib.contextmanager
def reference_server(log_path: Path):
    """A one-line Streamlit page on a server of its own (plain ``streamlit run``, the same settings)."""
    from dashboard.serve import local_server

    with open(log_path, "w") as log, local_server(_free_port(), dict(os.environ), log,
                                                  script=str(ROOT / "bench" / "reference_page.py")) as url:
        yield url


# every element's script loaded (no placeholder left) and every chart and diagram drawn: the browser
# loads the tiles', charts' and diagrams' libraries when the first of each arrives
DRAWN_JS = """() => {
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  return all('[data-testid="stSkeleton"]').length === 0
      && all('[data-testid="stPlotlyChart"], .stBidiComponent').every(c => c.querySelector('.main-svg, .pt-diagram svg'))
      && all('[data-testid="stGraphVizChart"]').every(c => c.querySelector('svg'));
}"""


def finished(page, marker: str | None = None) -> None:
    """Script done, no status widget or progress bar, (when given) the page's last section shown, and
    every chart and diagram drawn."""
    if marker is not None:
        page.get_by_text(marker, exact=False).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stProgress"]', state="detached", timeout=TIMEOUT_MS)
    page.wait_for_function(DRAWN_JS, timeout=TIMEOUT_MS)


def _check(page, what: str) -> None:
    if page.get_by_test_id("stException").count() or page.get_by_text("Something went wrong").count():
        raise RuntimeError(f"{what}: the page shows an error")


def open_page(page, url: str, marker: str, what: str) -> float:
    """The user's browser opens ``url`` (a new session); seconds until the page is finished."""
    t0 = time.perf_counter()
    page.goto(url)
    finished(page, marker)
    seconds = time.perf_counter() - t0
    _check(page, what)
    return seconds


def new_user(pw):
    """A new browser (its own processes, nothing cached, nothing compiled) with one tab. A new context of
    a running browser would share its processes, which have compiled the app's scripts already."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def leave(page) -> None:
    """The user closes their browser."""
    page.context.browser.close()


def overview(page, url: str, name: str) -> float:
    return open_page(page, f"{url}/?scenario={name}", "How sure are these numbers?", f"overview {name}")


def how_sure(page, url: str) -> tuple[float, str]:
    open_page(page, f"{url}/?scenario=baseline", "How sure are these numbers?", "overview")
    t0 = time.perf_counter()
    page.get_by_text("Check with other equally likely runs").click()
    caption = page.get_by_text(re.compile(r"^Ran \d+ equally likely runs")).first
    caption.wait_for(state="visible", timeout=TIMEOUT_MS)
    finished(page)
    seconds = time.perf_counter() - t0
    _check(page, "how sure")
    return seconds, caption.inner_text().split(";")[0]


def knob_change(page, url: str, shots: Path | None) -> tuple[float, float]:
    """Model servers 100 % -> 125 % on a seed nobody ran: (seconds to the instant estimate, to finished)."""
    seed = secrets.randbelow(10**9)
    open_page(page, f"{url}/?scenario=baseline&seed={seed}", "How sure are these numbers?", "knob")
    thumb = page.get_by_role("slider", name="Model servers (% of the plan)")
    thumb.focus()
    t0 = time.perf_counter()
    thumb.press("ArrowRight")
    page.locator(".st-key-instant_estimate").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    estimate_s = time.perf_counter() - t0
    if shots is not None:
        page.screenshot(path=str(shots / "knob-change-estimate.png"), full_page=True)
    page.locator(".pt-diagram, [data-testid=stGraphVizChart]").get_by_text("5 model servers", exact=False).first.wait_for(
        state="visible", timeout=TIMEOUT_MS)
    finished(page, "How sure are these numbers?")
    done_s = time.perf_counter() - t0
    _check(page, "knob change")
    if shots is not None:
        page.screenshot(path=str(shots / "knob-change-done.png"), full_page=True)
    return estimate_s, done_s


def planner(page, url: str) -> tuple[float, str]:
    """3 precisions x 8 replica counts (1..8, the form's default for baseline), 4 replications each."""
    open_page(page, f"{url}/planner?scenario=baseline", "Find the cheapest configuration", "planner")
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Model precisions to try")
    for _ in range(2):  # the two precisions not picked yet (fp32 is the scenario's own)
        box.locator("input").first.click()
        page.get_by_role("option").filter(has_not_text="Select all").first.click()
        page.keyboard.press("Escape")
    picked = box.inner_text()
    t0 = time.perf_counter()
    page.get_by_role("button", name="Find the cheapest plan").click()
    page.get_by_text("Search finished").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    finished(page)
    seconds = time.perf_counter() - t0
    _check(page, "planner")
    return seconds, " ".join(picked.split())


def prime(cache_dir: Path, pw, log_dir: Path) -> float:
    """Let a server's warm-up fill ``cache_dir`` (the bundled runs and their replications); seconds taken."""
    t0 = time.perf_counter()
    with server(cache_dir, log_dir / "bench-dashboard-prime.log") as url:
        page = new_user(pw)
        overview(page, url, "baseline")  # the first session starts the warm-up
        leave(page)
        deadline = time.monotonic() + PRIME_TIMEOUT_S
        while not list(cache_dir.glob("warm-*.json")):
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up did not finish in time")
            time.sleep(2)
    return time.perf_counter() - t0


def one_round(pw, url: str, scenarios: list[str], shots: Path | None, reference_url: str) -> dict[str, float]:
    out: dict[str, float] = {}

    def note(name: str, seconds: float, extra: str = "") -> None:
        out[name] = seconds
        print(f"  {name:<40} {seconds:6.2f} s {extra}", flush=True)

    page = new_user(pw)  # what Streamlit itself costs a new browser here, before any page of ours
    note("reference: one-line page, new browser", open_page(page, reference_url, "A one-line Streamlit page.",
                                                            "reference"))
    leave(page)

    page = new_user(pw)
    note("app opens in a new browser", open_page(page, f"{url}/glossary", "Glossary", "glossary"))
    for name in scenarios:
        note(f"overview {name}", overview(page, url, name))
    for label, path, marker in (("cost (first visit)", "cost", "How sure are these numbers?"),
                                ("compare (first visit)", "compare", "Side by side")):
        note(label, open_page(page, f"{url}/{path}?scenario=baseline", marker, label))
    seconds, said = how_sure(page, url)
    note("how sure", seconds, f"({said})")
    estimate_s, done_s = knob_change(page, url, shots)
    note("knob change: instant estimate", estimate_s)
    note("knob change: simulated page", done_s)
    seconds, picked = planner(page, url)
    note("planner search (3 x 8 x 4)", seconds, f"({picked})")
    leave(page)
    page = new_user(pw)  # another new user, who lands on the Overview itself
    note("overview as a new browser's first page", overview(page, url, "baseline"))
    leave(page)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds per mode, interleaved")
    parser.add_argument("--modes", default="cold,warm", help="cold, warm or both (comma-separated)")
    parser.add_argument("--scenarios", default="", help="comma-separated bundled scenarios (default: all)")
    parser.add_argument("--cache-dir", default="", help="the warm run cache (default: a new folder, primed first)")
    parser.add_argument("--screenshots", default=str(ROOT / "test-artifacts" / "screenshots"),
                        help="folder for the knob change's screenshots ('' for none)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out
    from playwright.sync_api import sync_playwright

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    scenarios = [s for s in args.scenarios.split(",") if s] or sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    logs = ROOT / "test-artifacts"
    logs.mkdir(exist_ok=True)
    shots = Path(args.screenshots) if args.screenshots else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    print(f"cores {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    results: dict[str, dict[str, list[float]]] = {m: {} for m in modes}
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="pipeline-twin-bench-cache-") as scratch, \
            reference_server(logs / "bench-dashboard-reference.log") as reference_url:
        warm_dir = Path(args.cache_dir) if args.cache_dir else Path(scratch) / "warm"
        if "warm" in modes and not list(warm_dir.glob("warm-*.json")):
            print(f"priming the warm cache in {warm_dir} ...", flush=True)
            print(f"primed in {prime(warm_dir, pw, logs):.0f} s", flush=True)
        for r in range(args.rounds):
            for mode in modes:
                cache = warm_dir if mode == "warm" else Path(tempfile.mkdtemp(prefix="cold-", dir=scratch))
                print(f"round {r + 1}, {mode} server:", flush=True)
                with server(cache, logs / f"bench-dashboard-{mode}.log") as url:
                    for name, seconds in one_round(pw, url, scenarios, shots, reference_url).items():
                        results[mode].setdefault(name, []).append(seconds)
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(f"{'median seconds':<42}" + "".join(f"{m:>9}" for m in modes))
    for name in results[modes[0]]:
        print(f"{name:<42}" + "".join(f"{statistics.median(results[m][name]):9.2f}" for m in modes))


if __name__ == "__main__":
    main()
