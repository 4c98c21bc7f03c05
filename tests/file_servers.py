"""Real file servers on 127.0.0.1 for the Firmware Management tests: HTTP (the standard library's server, with Range,
PUT and multipart POST) and FTP (pyftpdlib), each in a thread, stopped by its context manager. What they were asked
is recorded, so a test can see a resumed download's Range header or an uploaded file."""

import contextlib
import email.parser
import email.policy
import http.server
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class HttpFiles:
    """What the HTTP server serves and what it saw. `root`: files served by GET, and where PUT/POST store."""

    root: Path
    honour_range: bool = True
    rate_bytes_s: float | None = None
    """Throttle GET bodies to about this many bytes per second (None: as fast as it goes)."""
    refuse_put: bool = False
    """Answer PUT with 405, as a server that only takes form uploads."""
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Range header) per request."""
    port: int = 0

    def url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


_RANGE = re.compile(r"bytes=(\d+)-$")


class _Handler(http.server.BaseHTTPRequestHandler):
    files: HttpFiles

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `requests`."""

    def do_GET(self) -> None:
        self.files.requests.append(("GET", self.path, self.headers.get("Range")))
        path = self.files.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        match = _RANGE.match(self.headers.get("Range") or "") if self.files.honour_range else None
        start = int(match.group(1)) if match else 0
        if match and start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        with path.open("rb") as source:
            source.seek(start)
            while chunk := source.read(16384):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(chunk)
                if self.files.rate_bytes_s:
                    time.sleep(len(chunk) / self.files.rate_bytes_s)

    def do_PUT(self) -> None:
        self.files.requests.append(("PUT", self.path, None))
        if self.files.refuse_put:
            self.send_error(405)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        (self.files.root / Path(self.path).name).write_bytes(body)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        self.files.requests.append(("POST", self.path, None))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode() + body)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                name = Path(part.get_filename() or "upload").name
                (self.files.root / name).write_bytes(part.get_payload(decode=True))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def http_files(root: Path, **options: object) -> Iterator[HttpFiles]:
    files = HttpFiles(root, **options)  # type: ignore[arg-type]
    handler = type("Handler", (_Handler,), {"files": files})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    files.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield files
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class FtpFiles:
    root: Path
    user: str
    password: str
    port: int = 0

    def url(self, name: str = "") -> str:
        return f"ftp://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def ftp_files(root: Path, user: str = "evsed", password: str = "s3cret-pw") -> Iterator[FtpFiles]:
    """pyftpdlib's server with one user who may read and write `root`."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(root), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "passive_ports": None})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    files = FtpFiles(root, user, password, server.address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05, "blocking": True}, daemon=True)
    thread.start()
    try:
        yield files
    finally:
        server.close_all()
        thread.join(timeout=5)
