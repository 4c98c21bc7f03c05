"""The file transfers of OCPP 1.6 Firmware Management: the diagnostics upload and the firmware download.

GetDiagnostics (OCPP 1.6 §5.9) names "the location (directory) where the diagnostics file shall be uploaded
to"; UpdateFirmware (§5.19) names the URI of the firmware to fetch. Their progress is what
DiagnosticsStatusNotification (§4.4) and FirmwareStatusNotification (§4.5) report: a TransferError here is an
UploadFailed or a DownloadFailed there.

http://, https:// (credentials in the URL are sent as Basic authentication) and ftp:// (binary, passive mode),
with the standard library only. The functions block: the daemon runs them in a thread. Files stream through a
fixed buffer, so memory stays bounded whatever their size; a download cut off earlier (even by a SIGKILL or a
power cut) resumes from the bytes already on disk where the server allows it. `timeout_s` bounds connecting and
each read or write, not the whole transfer: a slow link may take as long as it needs while bytes keep coming.
No password from a URL reaches a log line or an error's text: both show `firmware.logs.masked_url()`.
"""

import base64
import ftplib
import http.client
import logging
import os
import re
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import BinaryIO
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit, urlunsplit

from firmware.logs import masked_url, url_password

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
"""Bytes per read and write: the buffer that bounds memory."""
PROGRESS_EVERY_S = 0.5
MAX_REQUESTS = 8
"""HTTP requests for one download: redirects and at most one restart from byte 0."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})
NO_PUT = frozenset({405, 501})
"""Answers to a PUT that mean the server takes no PUT at all: the upload falls back to a multipart POST."""
SCHEMES = ("http", "https", "ftp")
CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")
UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


class TransferError(Exception):
    """A transfer failed; str() is one line safe to log (never a password from the URL)."""


class _Failed(Exception):
    """Why a transfer failed, in words (the public functions add which transfer it was)."""


def download(url: str, dest: Path, *, timeout_s: float = 30.0, ssl_context: ssl.SSLContext | None = None,
             progress: Callable[[int], None] | None = None) -> int:
    """Fetch `url` (http://, https://, ftp://, credentials in the URL allowed) into `dest`, streaming in chunks
    (bounded memory whatever the size), fsync at the end. If `dest` exists (a download cut off earlier, even by a
    SIGKILL), resume from its size where the server allows (HTTP Range: 206 appends; 200 means start over; 416 with
    the full size already there is done; FTP REST); otherwise start over. Returns the file's total size.
    `progress(bytes_so_far)` is called now and then (at most a few times per second). Raises TransferError for
    an unsupported scheme, a HTTP status >= 400 (say which), a connection error, a timeout, an FTP error."""
    started = time.monotonic()
    with _reported(f"download of {masked_url(url)}", url):
        parts = _split(url)
        if parts.scheme == "ftp":
            size = _ftp_download(parts, url, dest, timeout_s, progress)
        else:
            size = _http_download(url, dest, timeout_s, ssl_context, progress)
    took_s = time.monotonic() - started
    log.info("download done url=%s bytes=%d took_s=%.1f", masked_url(url), size, took_s)
    return size


def upload(location: str, source: Path, *, timeout_s: float = 30.0, ssl_context: ssl.SSLContext | None = None) -> str:
    """Upload `source` to `location`, the directory URI of OCPP 1.6 GetDiagnostics ("the location (directory) where
    the diagnostics file shall be uploaded to"): the target is location + '/' + source.name (no double slash).
    http(s): HTTP PUT of the file (streamed from disk, Content-Length set); when the server answers 405 or 501
    (no PUT), POST multipart/form-data with field "file" to the location itself (streamed too, not read
    into memory whole). ftp: binary STOR of source.name into the location's directory (cwd to the path, passive
    mode). Returns the URL it went to (password masked). Raises TransferError."""
    started = time.monotonic()
    with _reported(f"upload of {source.name} to {masked_url(location)}", location):
        parts = _split(location)
        size = source.stat().st_size
        if parts.scheme == "ftp":
            went = _ftp_upload(parts, location, source, timeout_s)
        else:
            went = _http_upload(location, source, size, timeout_s, ssl_context)
    log.info("upload done url=%s bytes=%d took_s=%.1f", masked_url(went), size, time.monotonic() - started)
    return masked_url(went)


@contextmanager
def _reported(what: str, url: str) -> Iterator[None]:
    """Any failure inside becomes one TransferError line, `<what> failed: <reason>`, with no password in it."""
    try:
        yield
    except _Failed as e:
        raise TransferError(f"{what} failed: {e}") from None
    except (OSError, EOFError, ValueError, http.client.HTTPException, ftplib.Error) as e:
        raise TransferError(f"{what} failed: {_reason(e, url)}") from e


def _split(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise _Failed(f"unsupported scheme {parts.scheme or 'none'!r}")
    try:
        port = parts.port
    except ValueError:  # not a number: so where a '#' or '?' in a password is not percent-encoded
        port = -1
    if not parts.hostname or port == -1:
        raise _Failed("malformed URL (no host, or a port that is not a number)")
    return parts._replace(scheme=parts.scheme.lower())


def _reason(e: BaseException, url: str) -> str:
    """One line about `e`, with the URL's password (as written and decoded) blotted out, should it be there."""
    text = " ".join(f"{type(e).__name__}: {e}".split())
    password = url_password(url)
    for secret in (password, unquote(password or "")):
        if secret:
            text = text.replace(secret, "***")
    return text


def _into(location: str, name: str) -> str:
    """The URL of file `name` in directory `location`."""
    parts = urlsplit(location)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + quote(name)))


def _copy(read_into: Callable[[memoryview], int], dest: Path, offset: int,
          progress: Callable[[int], None] | None) -> int:
    """Stream into `dest`, appended after its first `offset` bytes (or truncated when `offset` is 0), then fsync.
    Returns the file's size."""
    buffer = memoryview(bytearray(CHUNK))
    done, reported = offset, time.monotonic()
    with dest.open("ab" if offset else "wb") as f:
        while n := read_into(buffer):
            f.write(buffer[:n])
            done += n
            if progress and time.monotonic() - reported >= PROGRESS_EVERY_S:
                progress(done)
                reported = time.monotonic()
        f.flush()
        os.fsync(f.fileno())
    if progress:
        progress(done)
    return done


def _complete(got: int, total: int | None) -> int:
    if total is not None and got != total:
        raise _Failed(f"connection closed at byte {got} of {total}")
    return got


def _fsync(path: Path) -> None:
    with path.open("ab") as f:
        os.fsync(f.fileno())


def _already_have(dest: Path, url: str) -> int:
    """The bytes of an earlier, cut-off download of `url` in `dest`: where to resume."""
    offset = dest.stat().st_size if dest.exists() else 0
    log.info("download started url=%s have_bytes=%d", masked_url(url), offset)
    return offset


# --- http(s) ---

@contextmanager
def _request(method: str, url: str, timeout_s: float, ssl_context: ssl.SSLContext | None,
             headers: dict[str, str], body: Iterator[bytes] | None = None) -> Iterator[http.client.HTTPResponse]:
    """Send one request (the body streamed as it comes, Content-Length in `headers`): the answer, its body
    unread, the connection open until the block ends."""
    parts = _split(url)
    if parts.scheme == "ftp":  # a redirect may lead anywhere
        raise _Failed(f"redirected to {masked_url(url)}, not http(s)")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout_s, context=ssl_context or ssl.create_default_context(),
            blocksize=CHUNK)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s, blocksize=CHUNK)
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers = {**headers, "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}
    try:
        conn.request(method, urlunsplit(("", "", parts.path or "/", parts.query, "")), body=body, headers=headers)
        yield conn.getresponse()
    finally:
        conn.close()


def _http_download(url: str, dest: Path, timeout_s: float, ssl_context: ssl.SSLContext | None,
                   progress: Callable[[int], None] | None) -> int:
    offset, asked = _already_have(dest, url), url
    for _ in range(MAX_REQUESTS):
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with _request("GET", url, timeout_s, ssl_context, headers) as resp:
            if resp.status in REDIRECTS and resp.getheader("Location"):
                target = urljoin(url, resp.getheader("Location", ""))
                log.info("download redirected url=%s status=%d to=%s", masked_url(url), resp.status,
                         masked_url(target))
                url = target
                continue
            if resp.status == 416 and offset:
                m = UNSATISFIED_RANGE.fullmatch(resp.getheader("Content-Range", ""))
                if m and int(m[1]) == offset:
                    _fsync(dest)
                    return offset
                log.info("download restarted url=%s reason=range_not_satisfiable had_bytes=%d server_size=%s",
                         masked_url(url), offset, m[1] if m else "unknown")
                offset = 0
                continue
            redirected = "" if url == asked else f" (redirected to {masked_url(url)})"
            if resp.status >= 300:
                raise _Failed(f"HTTP {resp.status} {resp.reason}{redirected}")
            if resp.status == 206:
                m = CONTENT_RANGE.match(resp.getheader("Content-Range", ""))
                if not m or int(m[1]) != offset:
                    raise _Failed(f"asked for bytes from {offset}, got Content-Range "
                                  f"{resp.getheader('Content-Range')!r}")
                total = int(m[2]) if m[2] != "*" else _length(resp, offset)
                log.info("download resumed url=%s from_byte=%d", masked_url(url), offset)
            elif resp.status == 200:
                if offset:
                    log.info("download restarted url=%s reason=range_ignored had_bytes=%d", masked_url(url), offset)
                offset, total = 0, _length(resp, 0)
            else:
                raise _Failed(f"unexpected HTTP {resp.status} {resp.reason}{redirected}")
            return _complete(_copy(resp.readinto, dest, offset, progress), total)
    raise _Failed(f"more than {MAX_REQUESTS} redirects or restarts")


def _length(resp: http.client.HTTPResponse, offset: int) -> int | None:
    """The file's total size from the answer's Content-Length (None when the body is chunked)."""
    length = resp.getheader("Content-Length")
    return offset + int(length) if length is not None else None


def _chunks(f: BinaryIO, size: int) -> Iterator[bytes]:
    """`size` bytes of `f` (what Content-Length announced, should the file grow meanwhile), CHUNK at a time."""
    while size > 0 and (data := f.read(min(CHUNK, size))):
        size -= len(data)
        yield data


def _http_upload(location: str, source: Path, size: int, timeout_s: float,
                 ssl_context: ssl.SSLContext | None) -> str:
    target = _into(location, source.name)
    with source.open("rb") as f, _request("PUT", target, timeout_s, ssl_context, {
            "Content-Type": "application/octet-stream", "Content-Length": str(size)}, _chunks(f, size)) as resp:
        status, reason = resp.status, resp.reason
    method, went = "PUT", target
    if status in NO_PUT:
        log.info("upload PUT refused url=%s status=%d; trying POST multipart", masked_url(target), status)
        boundary = "evsed-" + secrets.token_hex(16)
        filename = quote(source.name, safe=" !#$%&'()*+,-./:;<=>?@[]^_`{|}~")  # no '"', CR or LF
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        with source.open("rb") as f, _request("POST", location, timeout_s, ssl_context, {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + size + len(tail))}, chain([head], _chunks(f, size), [tail])) as resp:
            status, reason = resp.status, resp.reason
        method, went = "POST", location
    if not 200 <= status < 300:
        raise _Failed(f"{method} {masked_url(went)} answered HTTP {status} {reason}")
    return went


# --- ftp ---

def _ftp_login(ftp: ftplib.FTP, parts: SplitResult, directory: str) -> None:
    """Connect, log in (anonymous without a user in the URL), binary mode, and cwd to `directory` (relative to
    the login directory, as RFC 1738 reads an ftp URL's path; a leading %2F makes it absolute)."""
    ftp.connect(parts.hostname or "", parts.port or ftplib.FTP_PORT)
    ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
    ftp.voidcmd("TYPE I")
    if directory:
        ftp.cwd(directory)


def _ftp_download(parts: SplitResult, url: str, dest: Path, timeout_s: float,
                  progress: Callable[[int], None] | None) -> int:
    directory, _, name = unquote(parts.path.removeprefix("/")).rpartition("/")
    if not name:
        raise _Failed("no file name in the URL")
    offset = _already_have(dest, url)
    with ftplib.FTP(timeout=timeout_s) as ftp:
        _ftp_login(ftp, parts, directory)
        try:
            total: int | None = ftp.size(name)
        except ftplib.error_perm:  # SIZE is an extension (RFC 3659)
            total = None
        if offset and offset == total:
            _fsync(dest)
            return offset
        if offset and total is not None and offset > total:
            log.info("download restarted url=%s reason=longer_than_server_file had_bytes=%d server_size=%d",
                     masked_url(url), offset, total)
            offset = 0
        try:
            conn = ftp.transfercmd(f"RETR {name}", rest=offset or None)
            if offset:
                log.info("download resumed url=%s from_byte=%d", masked_url(url), offset)
        except ftplib.error_perm:
            if not offset:
                raise
            log.info("download restarted url=%s reason=rest_refused had_bytes=%d", masked_url(url), offset)
            offset = 0
            conn = ftp.transfercmd(f"RETR {name}")
        with conn:
            got = _copy(conn.recv_into, dest, offset, progress)
        ftp.voidresp()
    return _complete(got, total)


def _ftp_upload(parts: SplitResult, location: str, source: Path, timeout_s: float) -> str:
    with ftplib.FTP(timeout=timeout_s) as ftp, source.open("rb") as f:
        _ftp_login(ftp, parts, unquote(parts.path.removeprefix("/")))
        ftp.storbinary(f"STOR {source.name}", f, blocksize=CHUNK)
    return _into(location, source.name)
