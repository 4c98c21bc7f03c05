"""The file transfers of Firmware Management (GetDiagnostics upload, UpdateFirmware download), against real servers
on 127.0.0.1: an http.server peer written here (Range, PUT, multipart POST, errors, a cut connection), the same
peer behind TLS with a CA made here, and pyftpdlib. No mocks: every byte crosses a socket.
"""

import datetime
import hashlib
import ipaddress
import logging
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from base64 import b64decode
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

from firmware.firmware_management import transfer
from firmware.firmware_management.transfer import CHUNK, TransferError, download, upload
from firmware.logs import masked_url

SIZE = 3 * 1024 * 1024 + 123  # a few MB, not a whole number of chunks
CONTENT = random.Random(1).randbytes(SIZE)
PARTIAL = 1_000_000
USER, PASSWORD = "evse", "s3cr:t@p/w#?"  # URL-reserved characters: a URL carries it percent-encoded
CREDENTIALS = f"{USER}:{quote(PASSWORD, safe='')}"
STOP_S = 5.0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- an HTTP peer ---

class Peer(ThreadingHTTPServer):
    """Serves CONTENT at /firmware.bin; records what it was asked and what it sent and stored."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        if tls:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.files = {"/firmware.bin": CONTENT}
        self.ignore_range = False
        self.cut_after: int | None = None
        """Announce the whole body, send this many bytes of it, close the connection."""
        self.trickle_s: float | None = None
        """Send the body a chunk at a time, sleeping this long between chunks."""
        self.accept_put = True
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.body_bytes_sent = 0
        self.stored: dict[str, bytes] = {}

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client gone mid-body (killed, or its test over): nothing to report

    def url(self, path: str, credentials: str = "") -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{credentials + '@' if credentials else ''}127.0.0.1:{self.server_address[1]}{path}"

    def ranges(self) -> list[str | None]:
        return [headers.get("Range") for method, _, headers in self.requests if method == "GET"]


class Handler(BaseHTTPRequestHandler):
    server: Peer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), CHUNK):
            self.wfile.write(piece := body[start:start + CHUNK])
            self.server.body_bytes_sent += len(piece)
            if self.server.trickle_s:
                time.sleep(self.server.trickle_s)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers["Content-Length"]))

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, dict(self.headers)))
        if self.path == "/redirect":
            return self.reply(302, Location="/firmware.bin")
        if (data := self.server.files.get(self.path)) is None:
            return self.send_error(404)
        asked = self.headers.get("Range", "")
        if not asked.startswith("bytes=") or self.server.ignore_range:
            start = 0
        elif (start := int(asked.removeprefix("bytes=").removesuffix("-"))) >= len(data):
            return self.reply(416, Content_Range=f"bytes */{len(data)}")
        if self.server.cut_after is not None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:self.server.cut_after])
            self.close_connection = True
            return None
        if start:
            return self.reply(206, data[start:], Content_Range=f"bytes {start}-{len(data) - 1}/{len(data)}")
        return self.reply(200, data)

    def do_PUT(self) -> None:
        self.server.requests.append(("PUT", self.path, dict(self.headers)))
        body = self.body()
        if self.path.startswith("/readonly/"):
            return self.reply(403)
        if not self.server.accept_put:
            return self.reply(405, Allow="GET, POST")
        self.server.stored[self.path] = body
        return self.reply(201)

    def do_POST(self) -> None:
        self.server.requests.append(("POST", self.path, dict(self.headers)))
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        form = BytesParser(policy=policy.HTTP).parsebytes(head + self.body())
        for part in form.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                self.server.stored[f"{self.path} {part.get_filename()}"] = part.get_payload(decode=True)
        return self.reply(200)


def serving(peer: Peer) -> Iterator[Peer]:
    thread = threading.Thread(target=peer.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield peer
    peer.shutdown()
    peer.server_close()
    thread.join(STOP_S)
    assert not thread.is_alive()


@pytest.fixture
def http_peer() -> Iterator[Peer]:
    yield from serving(Peer())


# --- TLS: a CA and a certificate for 127.0.0.1 made here ---

def certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
                issuer_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if issuer is None:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                  critical=True))
    else:
        builder = (builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The server's context, and a client's that trusts the CA which signed the server's certificate."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("evsed test CA", ca_key, None, ca_key)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(certificate("127.0.0.1", key, ca, ca_key).public_bytes(
        serialization.Encoding.PEM) + key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "server.pem")
    return server, ssl.create_default_context(cafile=tmp_path / "ca.pem")


@pytest.fixture
def https_peer(tls) -> Iterator[Peer]:
    yield from serving(Peer(tls[0]))


# --- an FTP peer (pyftpdlib) ---

class FtpPeer:
    """pyftpdlib serving `root` to USER (PASSWORD, may write); CONTENT at /pub/firmware.bin."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "pub").mkdir()
        (root / "pub" / "firmware.bin").write_bytes(CONTENT)
        (root / "diagnostics").mkdir()
        self.commands: list[str] = []
        self.bytes_sent: list[int] = []
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmw")
        peer = self

        class Dtp(DTPHandler):
            def close(self) -> None:
                if self.tot_bytes_sent:
                    peer.bytes_sent.append(self.tot_bytes_sent)
                super().close()

        class Control(FTPHandler):
            dtp_handler = Dtp
            auth_failed_timeout = 0.05  # not 3 s before "530 Authentication failed"

            def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
                peer.commands.append(line if cmd != "PASS" else "PASS")
                super().pre_process_command(line, cmd, arg)

        Control.authorizer = authorizer
        self.server = FTPServer(("127.0.0.1", 0), Control)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while not self.stop.is_set():
            self.server.ioloop.loop(timeout=0.05, blocking=False)  # serve_forever() would log a line per turn
        self.server.close_all()

    def url(self, path: str, credentials: str = CREDENTIALS) -> str:
        return f"ftp://{credentials}@127.0.0.1:{self.server.address[1]}{path}"


@pytest.fixture
def ftp_peer(tmp_path) -> Iterator[FtpPeer]:
    (root := tmp_path / "ftp").mkdir()
    peer = FtpPeer(root)
    peer.thread.start()
    yield peer
    peer.stop.set()
    peer.thread.join(STOP_S)
    assert not peer.thread.is_alive()


def free_port() -> int:
    """A port nothing listens on (connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- downloads ---

def test_http_download_streams_the_whole_file(http_peer, tmp_path):
    seen: list[int] = []
    dest = tmp_path / "firmware.bin"
    assert download(http_peer.url("/firmware.bin"), dest, progress=seen.append) == SIZE
    assert sha256(dest.read_bytes()) == sha256(CONTENT)
    assert seen[-1] == SIZE and seen == sorted(seen)
    assert http_peer.ranges() == [None]


def test_resume_after_a_partial_file_asks_only_for_the_rest(http_peer, tmp_path):
    """What a download killed earlier (even by SIGKILL) leaves: its first bytes on disk."""
    dest = tmp_path / "firmware.bin"
    dest.write_bytes(CONTENT[:PARTIAL])
    assert download(http_peer.url("/firmware.bin"), dest) == SIZE
    assert http_peer.ranges() == [f"bytes={PARTIAL}-"]
    assert http_peer.body_bytes_sent == SIZE - PARTIAL
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_resume_after_the_downloader_was_killed(http_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    http_peer.trickle_s = 0.02  # the whole file would take about a second
    code = "import sys; from pathlib import Path; from firmware.firmware_management.transfer import download; " \
           "download(sys.argv[1], Path(sys.argv[2]))"
    downloader = subprocess.Popen([sys.executable, "-c", code, http_peer.url("/firmware.bin"), str(dest)],
                                  cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 10
        while not (dest.exists() and dest.stat().st_size >= PARTIAL):
            assert time.monotonic() < deadline and downloader.poll() is None
            time.sleep(0.005)
    finally:
        downloader.send_signal(signal.SIGKILL)
        downloader.wait(STOP_S)
    had = dest.stat().st_size
    assert PARTIAL <= had < SIZE
    http_peer.trickle_s = None
    assert download(http_peer.url("/firmware.bin"), dest) == SIZE
    assert http_peer.ranges() == [None, f"bytes={had}-"]
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_a_cut_connection_fails_and_the_next_download_resumes(http_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    http_peer.cut_after = PARTIAL
    with pytest.raises(TransferError, match=f"closed at byte {PARTIAL} of {SIZE}"):
        download(http_peer.url("/firmware.bin"), dest)
    assert dest.stat().st_size == PARTIAL
    http_peer.cut_after = None
    assert download(http_peer.url("/firmware.bin"), dest) == SIZE
    assert http_peer.ranges() == [None, f"bytes={PARTIAL}-"]
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_a_server_ignoring_range_means_starting_over(http_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    dest.write_bytes(b"\xff" * PARTIAL)  # not even the right bytes: they must all be replaced
    http_peer.ignore_range = True
    assert download(http_peer.url("/firmware.bin"), dest) == SIZE
    assert http_peer.ranges() == [f"bytes={PARTIAL}-"] and http_peer.body_bytes_sent == SIZE
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_a_file_already_complete_is_done_without_a_body(http_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    dest.write_bytes(CONTENT)
    assert download(http_peer.url("/firmware.bin"), dest) == SIZE  # 416, Content-Range: bytes */SIZE
    assert http_peer.body_bytes_sent == 0


def test_a_partial_file_longer_than_the_servers_starts_over(http_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    dest.write_bytes(CONTENT + b"stale tail")
    assert download(http_peer.url("/firmware.bin"), dest) == SIZE
    assert http_peer.ranges() == [f"bytes={SIZE + 10}-", None]
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_a_redirect_is_followed(http_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    assert download(http_peer.url("/redirect"), dest) == SIZE
    assert [path for _, path, _ in http_peer.requests] == ["/redirect", "/firmware.bin"]
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_http_error_status_is_named(http_peer, tmp_path):
    with pytest.raises(TransferError, match="HTTP 404"):
        download(http_peer.url("/missing.bin"), tmp_path / "firmware.bin")


def test_connection_refused(tmp_path):
    with pytest.raises(TransferError, match="ConnectionRefusedError"):
        download(f"http://127.0.0.1:{free_port()}/firmware.bin", tmp_path / "firmware.bin", timeout_s=2)


def test_a_silent_server_times_out(tmp_path):
    with socket.socket() as listener:  # accepts connections (the kernel's backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/firmware.bin"
        with pytest.raises(TransferError, match="timed out"):
            download(url, tmp_path / "firmware.bin", timeout_s=0.3)


def test_https_with_the_ca_trusted(https_peer, tls, tmp_path):
    dest = tmp_path / "firmware.bin"
    assert download(https_peer.url("/firmware.bin"), dest, ssl_context=tls[1]) == SIZE
    assert sha256(dest.read_bytes()) == sha256(CONTENT)


def test_https_with_an_untrusted_certificate_fails(https_peer, tmp_path):
    with pytest.raises(TransferError, match="CERTIFICATE_VERIFY_FAILED"):
        download(https_peer.url("/firmware.bin"), tmp_path / "firmware.bin", ssl_context=ssl.create_default_context())


def test_ftp_download_and_resume_with_rest(ftp_peer, tmp_path):
    dest = tmp_path / "firmware.bin"
    assert download(ftp_peer.url("/pub/firmware.bin"), dest) == SIZE
    assert sha256(dest.read_bytes()) == sha256(CONTENT)
    dest.write_bytes(CONTENT[:PARTIAL])
    assert download(ftp_peer.url("/pub/firmware.bin"), dest) == SIZE
    assert sha256(dest.read_bytes()) == sha256(CONTENT)
    assert [c for c in ftp_peer.commands if c.startswith(("REST", "RETR"))] == [
        "RETR firmware.bin", f"REST {PARTIAL}", "RETR firmware.bin"]
    assert ftp_peer.bytes_sent == [SIZE, SIZE - PARTIAL]


# --- uploads ---

@pytest.fixture
def diagnostics(tmp_path) -> Path:
    path = tmp_path / "diagnostics-CP1 2024.zip"  # a space, quoted in the URL
    path.write_bytes(CONTENT[:200_000])
    return path


@pytest.mark.parametrize("location", ["/diag", "/diag/"])
def test_upload_by_put(http_peer, diagnostics, location):
    went = upload(http_peer.url(location), diagnostics)
    assert went == http_peer.url("/diag/diagnostics-CP1%202024.zip")
    assert http_peer.stored == {"/diag/diagnostics-CP1%202024.zip": diagnostics.read_bytes()}


def test_upload_falls_back_to_multipart_post_when_put_is_refused(http_peer, diagnostics):
    http_peer.accept_put = False
    assert upload(http_peer.url("/diag"), diagnostics) == http_peer.url("/diag")
    assert [(method, path) for method, path, _ in http_peer.requests] == [
        ("PUT", "/diag/diagnostics-CP1%202024.zip"), ("POST", "/diag")]
    assert http_peer.stored == {f"/diag {diagnostics.name}": diagnostics.read_bytes()}


def test_upload_error_status_is_named(http_peer, diagnostics):
    with pytest.raises(TransferError, match=r"PUT .*/readonly/.* HTTP 403"):
        upload(http_peer.url("/readonly"), diagnostics)


def test_ftp_upload_into_the_locations_directory(ftp_peer, diagnostics):
    went = upload(ftp_peer.url("/diagnostics/"), diagnostics)
    assert went == ftp_peer.url("/diagnostics/diagnostics-CP1%202024.zip", f"{USER}:***")
    assert (ftp_peer.root / "diagnostics" / diagnostics.name).read_bytes() == diagnostics.read_bytes()
    assert "CWD diagnostics/" in ftp_peer.commands


# --- credentials and schemes ---

def test_http_credentials_are_sent_as_basic_authentication(http_peer, tmp_path):
    download(http_peer.url("/firmware.bin", CREDENTIALS), tmp_path / "firmware.bin")
    assert b64decode(http_peer.requests[0][2]["Authorization"].removeprefix("Basic ")).decode() == \
        f"{USER}:{PASSWORD}"


def test_no_password_in_errors_or_logs(http_peer, ftp_peer, diagnostics, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=transfer.__name__)
    wrong, raw = "wr:ng@pw", "p#ss?w"
    failing = [
        lambda: download(http_peer.url("/missing.bin", CREDENTIALS), tmp_path / "a"),
        lambda: download(f"http://{CREDENTIALS}@127.0.0.1:{free_port()}/f.bin", tmp_path / "b"),
        lambda: download(f"http://{CREDENTIALS}@127.0.0.1:port/f.bin", tmp_path / "c"),
        lambda: download(ftp_peer.url("/pub/missing.bin"), tmp_path / "d"),
        lambda: download(ftp_peer.url("/pub/firmware.bin", f"{USER}:{quote(wrong, safe='')}"), tmp_path / "e"),
        lambda: upload(ftp_peer.url("/no/such/dir"), diagnostics),
        lambda: upload(f"ftp://{USER}:{raw}@127.0.0.1/diagnostics", diagnostics),  # not encoded: a bad port
    ]
    for attempt in failing:
        with pytest.raises(TransferError) as failed:
            attempt()
        text = str(failed.value)
        assert "\n" not in text and "***" in text, text
        for secret in (PASSWORD, quote(PASSWORD, safe=""), wrong, quote(wrong, safe=""), raw):
            assert secret not in text, text
            assert secret not in caplog.text
    assert caplog.records  # the logs were looked at, not silent


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/1", "ftps://127.0.0.1/f.bin", "f.bin"])
def test_unsupported_scheme(url, tmp_path, diagnostics):
    with pytest.raises(TransferError, match="unsupported scheme"):
        download(url, tmp_path / "firmware.bin")
    with pytest.raises(TransferError, match="unsupported scheme"):
        upload(url, diagnostics)


@pytest.mark.parametrize(("url", "shown"), [
    ("ftp://u:p%40ss@host:21/a/b.bin", "ftp://u:***@host:21/a/b.bin"),
    ("https://u:p@ss@host/x", "https://u:***@host/x"),
    ("http://u:@host/", "http://u:***@host/"),
    ("http://user@host/x", "http://user@host/x"),
    ("http://host/x?a=b:c@d", "http://host/x?a=b:c@d"),
    ("http://host?a=b:c@d", "http://host?a=b:***@d"),  # ambiguous: masked
    ("ftp://u:p#w@host/", "ftp://u:***@host/"),
    ("not a url", "not a url"),
])
def test_masked_url(url, shown):
    assert masked_url(url) == shown
