"""Print-ready QR stickers for the driver's page: one per connector, as SVG and as PNG.

Each code encodes `<base_url>?cp=<charge point id>&connector=<n>` (with `&` when the base URL already
has a query), the static URL the CSMS's driver page turns into a RemoteStartTransaction. The charge
point id and "Connector <n>" are printed under the code, so a person can read what a phone will open.

segno makes the QR matrix; both files are drawn here from that matrix, so they have the same layout
and the same printed size (`PX_PER_MM`): the SVG with real `<text>` elements, the PNG written with
zlib and a built-in 5x7 bitmap font (printable ASCII; any other character prints as `?` in the PNG
only). No imaging library is needed.
"""

import logging
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit
from xml.sax.saxutils import escape

import segno

log = logging.getLogger(__name__)

MODULE_PX = 10
"""Pixels per QR module in the PNG (and units per module in the SVG's viewBox)."""
PX_PER_MM = 12.5
"""Print resolution of both files (317.5 dpi): a module is 0.8 mm, a version-5 code about 36 mm wide."""
QUIET_ZONE = 4
"""White modules around the code, as ISO/IEC 18004 asks."""
ERROR_LEVEL = "q"
"""QR error correction: Q recovers about 25 % of the code, for stickers that get scratched or dirty."""

_GLYPH_W, _GLYPH_H, _ADVANCE = 5, 7, 6
_FIRST_GLYPH = 0x20
_FONT_HEX = (
    "00000000000000040404040400040a0a0a000000000a0a1f0a1f0a0a040f140e051e04181902040813030c12140815120d04040800000000"
    "02040808080402080402020204080004150e1504000004041f040400000000000c04080000001f00000000000000000c0c00010204081000"
    "0e11131519110e040c040404040e0e11010204081f1f02040201110e02060a121f02021f101e0101110e0608101e11110e1f010204080808"
    "0e11110e11110e0e11110f01020c000c0c000c0c00000c0c000c04080204081008040200001f001f0000080402010204080e110102040004"
    "0e11010d15150e0e11111f1111111e11111e11111e0e11101010110e1c12111111121c1f10101e10101f1f10101e1010100e11101711110f"
    "1111111f1111110e04040404040e0702020202120c111214181412111010101010101f111b1515111111111119151311110e11111111110e"
    "1e11111e1010100e11111115120d1e11111e1412110f10100e01011e1f0404040404041111111111110e11111111110a041111111515150a"
    "11110a040a11111111110a0404041f01020408101f0e08080808080e001008040201000e02020202020e040a11000000000000000000001f"
    "0804020000000000000e010f110f1010161911111e00000e1010110e01010d1311110f00000e111f100e0609081c080808000f11110f010e"
    "1010161911111104000c0404040e0200060202120c101012141814120c04040404040e00001a151511110000161911111100000e1111110e"
    "00001e111e101000000d130f01010000161910101000000e100e011e08081c080809060000111111130d00001111110a040000111115150a"
    "0000110a040a11000011110f010e00001f0204081f02040408040402040404040404040804040204040800000815020000"
)
"""5x7 glyphs for U+0020..U+007E in order: 7 bytes a glyph, one byte a row from the top, bit 4 the left column."""
_FONT = bytes.fromhex(_FONT_HEX)


class StickerError(ValueError):
    """The sticker cannot be made: the message says which argument is wrong."""


@dataclass(frozen=True)
class _Layout:
    """Where things go on one sticker, in PNG pixels (= SVG user units)."""

    width: int
    height: int
    qr_left: int
    text_scale: int
    """Pixels per font pixel."""
    text_tops: tuple[int, ...]
    """Top edge of each text line."""


def sticker_url(base_url: str, charge_point_id: str, connector: int) -> str:
    """The URL a sticker encodes; raises StickerError for anything but an absolute http(s) URL."""
    if any(ch.isspace() or ord(ch) < 0x20 for ch in base_url):
        raise StickerError(f"base URL {base_url!r}: must not contain spaces or control characters")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StickerError(f"base URL {base_url!r}: must be an absolute http:// or https:// URL with a host")
    ours = f"cp={quote(charge_point_id, safe='')}&connector={connector}"
    query = f"{parts.query}&{ours}" if parts.query else ours
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def write_stickers(charge_point_id: str, connectors: int, base_url: str, out_dir: Path) -> list[Path]:
    """Write `<id>-connector-<n>.svg` and `.png` for connectors 1..`connectors` into `out_dir` (created if
    missing); return the paths written, SVG then PNG for each connector in order.

    Raises StickerError for a bad base URL, an empty id or a connector count below 1, before writing anything.
    """
    if not charge_point_id:
        raise StickerError("charge point id: must not be empty")
    if connectors < 1:
        raise StickerError(f"connectors: must be at least 1, got {connectors}")
    urls = [sticker_url(base_url, charge_point_id, n) for n in range(1, connectors + 1)]
    unprintable = sorted({ch for ch in charge_point_id if not _FIRST_GLYPH <= ord(ch) < 0x7F})
    if unprintable:
        log.warning("sticker_png_text_substituted charge_point=%r chars=%r note='printed as ? in the PNG; the SVG "
                    "has the real text'", charge_point_id, "".join(unprintable))
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", charge_point_id)
    written: list[Path] = []
    for n, url in enumerate(urls, start=1):
        matrix = [bytes(row) for row in segno.make_qr(url, error=ERROR_LEVEL).matrix]
        lines = (charge_point_id, f"Connector {n}")
        layout = _layout(len(matrix), lines)
        svg = out_dir / f"{stem}-connector-{n}.svg"
        png = out_dir / f"{stem}-connector-{n}.png"
        svg.write_text(_svg(matrix, lines, layout), encoding="utf-8")
        png.write_bytes(_png(matrix, lines, layout))
        written += [svg, png]
        log.info("sticker_written connector=%d url=%s svg=%s png=%s", n, url, svg, png)
    return written


def _layout(modules: int, lines: tuple[str, ...]) -> _Layout:
    """Size the text to the code's width (font pixels of 2 to 5 px), widening the sticker for a long id."""
    qr_width = (modules + 2 * QUIET_ZONE) * MODULE_PX
    margin = 2 * MODULE_PX
    longest = max(len(line) for line in lines)
    scale = max(2, min(5, (qr_width - 2 * margin) // (_ADVANCE * longest)))
    width = max(qr_width, _ADVANCE * scale * longest + 2 * margin)
    line_height = (_GLYPH_H + 4) * scale
    top = qr_width  # the text starts right under the code's quiet zone
    text_tops = tuple(top + i * line_height for i in range(len(lines)))
    height = top + len(lines) * line_height + margin
    return _Layout(width=width, height=height, qr_left=(width - qr_width) // 2, text_scale=scale, text_tops=text_tops)


def _svg(matrix: list[bytes], lines: tuple[str, ...], layout: _Layout) -> str:
    path = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                run = x
                while run < len(row) and row[run]:
                    run += 1
                path.append(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{run - x}v1h{x - run}z")
                x = run
            else:
                x += 1
    mm_w, mm_h = layout.width / PX_PER_MM, layout.height / PX_PER_MM
    font_size = 9 * layout.text_scale  # DejaVu Sans Mono's capitals are ~0.73 em: as tall as the PNG's 7 px
    texts = [
        f'<text x="{layout.width / 2:g}" y="{top + _GLYPH_H * layout.text_scale}" font-size="{font_size}" '
        f'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" text-anchor="middle" fill="#000">'
        f"{escape(line)}</text>"
        for line, top in zip(lines, layout.text_tops, strict=True)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{mm_w:.2f}mm" height="{mm_h:.2f}mm" '
        f'viewBox="0 0 {layout.width} {layout.height}">\n'
        f'<rect width="{layout.width}" height="{layout.height}" fill="#fff"/>\n'
        f'<g transform="translate({layout.qr_left} 0) scale({MODULE_PX})">'
        f'<path fill="#000" shape-rendering="crispEdges" d="{"".join(path)}"/></g>\n'
        + "\n".join(texts)
        + "\n</svg>\n"
    )


def _png(matrix: list[bytes], lines: tuple[str, ...], layout: _Layout) -> bytes:
    """An 8-bit greyscale PNG: white background, the code, then the text lines centred under it."""
    canvas = [bytearray(b"\xff" * layout.width) for _ in range(layout.height)]
    left = layout.qr_left + QUIET_ZONE * MODULE_PX
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                top = (y + QUIET_ZONE) * MODULE_PX
                for line in canvas[top:top + MODULE_PX]:
                    line[left + x * MODULE_PX:left + (x + 1) * MODULE_PX] = bytes(MODULE_PX)
    scale = layout.text_scale
    for text, top in zip(lines, layout.text_tops, strict=True):
        x0 = (layout.width - len(text) * _ADVANCE * scale) // 2
        for i, ch in enumerate(text):
            code = ord(ch) if _FIRST_GLYPH <= ord(ch) < 0x7F else ord("?")
            glyph = _FONT[(code - _FIRST_GLYPH) * _GLYPH_H:(code - _FIRST_GLYPH + 1) * _GLYPH_H]
            for gy, bits in enumerate(glyph):
                for gx in range(_GLYPH_W):
                    if bits & (0x10 >> gx):
                        px = x0 + (i * _ADVANCE + gx) * scale
                        for line in canvas[top + gy * scale:top + (gy + 1) * scale]:
                            line[px:px + scale] = bytes(scale)
    raw = b"".join(b"\x00" + bytes(line) for line in canvas)  # filter type 0 on every row
    per_metre = round(PX_PER_MM * 1000)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", layout.width, layout.height, 8, 0, 0, 0, 0)),
        _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        _chunk(b"IDAT", zlib.compress(raw, 9)),
        _chunk(b"IEND", b""),
    ))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
