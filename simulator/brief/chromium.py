"""Printing HTML with Debian's Chromium, headless and offline: PDF pages and PNG pictures.

Why Chromium: it lays out HTML and SVG exactly as the dashboard's browsers do and is already on
every machine that runs the browser tests. The page is a local file; every host name is mapped to
nowhere (``--host-resolver-rules``) and background networking is off, so nothing is fetched.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 120
OFFLINE_ARGS = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-dev-shm-usage"]


class RendererMissing(RuntimeError):
    """Chromium is not installed (``make`` installs Debian's chromium)."""


def chromium_path() -> str:
    """$PIPELINE_TWIN_CHROMIUM, else ``chromium`` on the PATH."""
    found = os.environ.get("PIPELINE_TWIN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RendererMissing("the brief needs Debian's chromium to print; install it (make installs it) and retry")
    return found


def _run(html: str, extra: list[str], out_name: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pipeline-twin-brief-") as tmp:
        page, out = Path(tmp) / "page.html", Path(tmp) / out_name
        page.write_text(html, encoding="utf-8")
        args = [chromium_path(), *OFFLINE_ARGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                *(a.replace("{out}", str(out)) for a in extra), page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to start its sandbox as root
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        if not out.is_file() or out.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"chromium could not print the brief: {last[:200]}")
        return out.read_bytes()


def html_to_pdf(html: str) -> bytes:
    """The page printed to PDF (page size and margins from the page's CSS ``@page``), no header or footer."""
    return _run(html, ["--no-pdf-header-footer", "--print-to-pdf-no-header", "--print-to-pdf={out}"], "out.pdf")


def html_to_png(html: str, width_px: int, height_px: int, scale: float = 2.0) -> bytes:
    """A screenshot of the page's top ``width_px`` x ``height_px`` CSS pixels at ``scale`` device pixels each."""
    return _run(html, [f"--window-size={width_px},{height_px}", f"--force-device-scale-factor={scale}",
                       "--screenshot={out}"], "out.png")
