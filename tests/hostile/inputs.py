"""Pieces of the hostile-input suite: the hostile files, a CLI runner under limits, a listener.

The files are what an attacker or a careless user hands in. The CLI runs in a child process
with a memory limit and a timeout, so a regression shows up as a failed test (exit code,
traceback, timeout) instead of taking the test machine down.
"""
from __future__ import annotations

import contextlib
import http.server
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI_MEMORY_BYTES = 3 * 2**30
CLI_TIMEOUT_S = 60


def alias_bomb(levels: int = 9) -> str:
    """'a billion laughs': under 0.5 KB of text, 9**levels values once expanded."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def hostile_files(listener_url: str) -> dict[str, tuple[bytes, str]]:
    """name -> (file content, the field or word its refusal must name)."""
    bomb = alias_bomb()
    return {
        "alias_bomb.yaml": (bomb.encode(), "aliases"),
        "alias_in_field.yaml": (b"x: &x [1, 1, 1, 1, 1, 1, 1, 1]\ncompare_overrides: {inference.replicas: *x}\n",
                                "aliases"),
        "deep_flow.yaml": (("traffic: " + "[" * 20_000 + "]" * 20_000 + "\n").encode(), "YAML"),
        "deep_block.yaml": ("".join("  " * i + f"k{i}:\n" for i in range(40)).encode() + b"  " * 40 + b"v\n",
                            "nested"),
        "python_tag.yaml": (b"name: !!python/object/apply:os.system ['touch PWNED']\n", "tag"),
        "python_name.yaml": (b"traffic: !!python/name:os.system\n", "tag"),
        "binary.yaml": (bytes(range(256)) * 8, "not a text file"),
        "latin1.yaml": ("name: caf\xe9\n".encode("latin-1"), "not a text file"),
        "huge.yaml": (b"description: '" + b"x" * (3 * 2**20) + b"'\n", "bytes"),
        "duplicate_keys.yaml": (b"duration_s: 600\ninference:\n  replicas: 4\n  replicas: 400\n", "twice"),
        "tiny_sync_period.yaml": (b"autoscaler: {enabled: true, sync_period_s: 1.0e-9}\n", "autoscaler.sync_period_s"),
        "tiny_batch_interval.yaml": (b"ingestion: {mode: batch, batch: {interval_s: 1.0e-9}}\n",
                                     "ingestion.batch.interval_s"),
        "tiny_fairness_window.yaml": (b"fairness: {enabled: true, window_s: 1.0e-9}\n", "fairness.window_s"),
        "tiny_psi_window.yaml": (b"retraining: {enabled: true, psi_window_s: 1.0e-9}\n", "retraining.psi_window_s"),
        "tiny_flapping.yaml": (b"faults: {external_api_flapping: {enabled: true, mtbf_s: 1.0e-9, mttr_s: 1.0e-9}}\n",
                               "faults.external_api_flapping.mtbf_s"),
        "billion_replicas.yaml": (b"autoscaler: {enabled: true, min_replicas: 1000000000, max_replicas: 1000000000}\n",
                                  "autoscaler.min_replicas"),
        "infinite_rate.yaml": (b"traffic: {rate_per_s: .inf}\n", "traffic.rate_per_s"),
        "replay_url.yaml": (f"traffic: {{kind: replay, replay_csv: '{listener_url}/arrivals.csv'}}\n".encode(),
                            "traffic.replay_csv"),
        "replay_file_url.yaml": (b"traffic: {kind: replay, replay_csv: 'file:///etc/hosts'}\n", "traffic.replay_csv"),
        "replay_dev_zero.yaml": (b"traffic: {kind: replay, replay_csv: /dev/zero}\n", "traffic.replay_csv"),
        "replay_dev_urandom.yaml": (b"traffic: {kind: replay, replay_csv: /dev/urandom}\n", "traffic.replay_csv"),
        "replay_etc_hosts.yaml": (b"traffic: {kind: replay, replay_csv: /etc/hosts}\n", "traffic.replay_csv"),
        "replay_proc_environ.yaml": (b"traffic: {kind: replay, replay_csv: /proc/self/environ}\n", "traffic.replay_csv"),
    }


class Listener:
    """A local HTTP server that records every request it gets (it must get none)."""

    def __init__(self):
        self.requests: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                listener.requests.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"t_s\n1\n2\n")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_BYTES, CLI_MEMORY_BYTES))


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    """``python -m simulator ARGS`` under a memory limit and a timeout (TimeoutExpired fails the test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_TWIN_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, preexec_fn=_limits, env=env)


@contextlib.contextmanager
def watching_file_access(paths: list[str]):
    """Record every audited file-system access whose arguments mention one of ``paths``."""
    seen: list[tuple[str, tuple]] = []
    state = {"on": True}

    def hook(event: str, args: tuple) -> None:
        if state["on"] and (event == "open" or event.startswith(("os.", "shutil.", "socket."))):
            text = " ".join(str(a) for a in args)
            if any(p in text for p in paths):
                seen.append((event, args))

    sys.addaudithook(hook)  # hooks cannot be removed; this one switches itself off
    try:
        yield seen
    finally:
        state["on"] = False
