"""Benchmark of the firmware download (firmware/firmware_management/transfer.py) on a large file.

Serves a generated file of --mb MB (default 200, written to a temporary folder one MB at a time, never held in
memory) on 127.0.0.1 over HTTP (http.server) and FTP (pyftpdlib), each from a thread of this process, and
downloads it with `download()` in a fresh Python process per protocol. Prints the rate (fsync included) and how
far the downloader's resident memory grew: its peak during the download (VmHWM, reset just before) minus its
VmRSS before; the goal is under 5 MB whatever the file's size.

    .venv/bin/python -m bench.firmware_download [--mb 200]
"""

import argparse
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from firmware.firmware_management.transfer import download

MB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MB):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: Path) -> None:
    """The downloader's side, in its own process: one JSON line of figures on stdout."""
    rss_before_kb = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux 4.0+)
    updates: list[int] = []
    started = time.perf_counter()
    size = download(url, dest, progress=updates.append)
    took_s = time.perf_counter() - started
    print(json.dumps({"bytes": size, "took_s": took_s, "rss_before_kb": rss_before_kb,
                      "hwm_kb": status_kb("VmHWM"), "progress_calls": len(updates), "sha256": sha256_of(dest)}))


def generate(path: Path, mb: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(mb):
            block = os.urandom(MB)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def http_server(root: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def ftp_server(root: Path) -> Iterator[str]:
    authorizer = DummyAuthorizer()
    authorizer.add_anonymous(str(root))
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    server = FTPServer(("127.0.0.1", 0), handler)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.ioloop.loop(timeout=0.1, blocking=False)  # serve_forever() would log a line per turn
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"ftp://127.0.0.1:{server.address[1]}"
    finally:
        stop.set()
        thread.join(5)


def measure(name: str, url: str, dest: Path, expected_sha256: str) -> None:
    result = subprocess.run([sys.executable, "-m", "bench.firmware_download", "--fetch", url, str(dest)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    dest.unlink(missing_ok=True)
    if result.returncode:
        print(f"{name}: the downloader failed:\n{result.stderr[-2000:]}")
        return
    figures = json.loads(result.stdout.splitlines()[-1])
    print(f"{name:4s}: {figures['bytes'] / MB:.0f} MB in {figures['took_s']:.2f} s = "
          f"{figures['bytes'] / MB / figures['took_s']:.0f} MB/s; downloader RSS before "
          f"{figures['rss_before_kb'] / 1024:.1f} MB, peak growth during "
          f"{(figures['hwm_kb'] - figures['rss_before_kb']) / 1024:.2f} MB (goal < 5 MB); "
          f"{figures['progress_calls']} progress calls; content "
          f"{'identical' if figures['sha256'] == expected_sha256 else 'DIFFERENT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the file to download (MB)")
    parser.add_argument("--fetch", nargs=2, metavar=("URL", "DEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fetch:
        fetch(args.fetch[0], Path(args.fetch[1]))
        return
    logging.basicConfig(level=logging.WARNING)  # configured: pyftpdlib adds no INFO handler of its own
    with tempfile.TemporaryDirectory() as tmp:
        (served := Path(tmp) / "served").mkdir()
        expected = generate(served / "firmware.bin", args.mb)
        with http_server(served) as base:
            measure("http", f"{base}/firmware.bin", Path(tmp) / "downloaded.bin", expected)
        with ftp_server(served) as base:
            measure("ftp", f"{base}/firmware.bin", Path(tmp) / "downloaded.bin", expected)


if __name__ == "__main__":
    main()
