"""QR stickers: each PNG (and each SVG, rendered with rsvg-convert) decodes with zbarimg to exactly the URL
the CSMS's driver page expects, and the charge point id and connector are printed under the code."""

import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from firmware.cli.qr import PX_PER_MM, StickerError, sticker_url, write_stickers
from tests.prerequisites import require

SVG_NS = "{http://www.w3.org/2000/svg}"




def decode(image: Path) -> list[str]:
    result = subprocess.run([require("zbarimg", "zbar-tools"), "--raw", "--quiet", str(image)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def png_header(path: Path) -> tuple[int, int, int]:
    """Width, height and pixels per metre of a PNG written by firmware.qr."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    phys = data.index(b"pHYs")
    per_metre_x, per_metre_y, unit = struct.unpack(">IIB", data[phys + 4:phys + 13])
    assert per_metre_x == per_metre_y and unit == 1
    return width, height, per_metre_x


def png_pixels(path: Path) -> list[bytes]:
    """Rows of the 8-bit greyscale, filter-0 PNG firmware.qr writes."""
    data = path.read_bytes()
    width, height, _ = png_header(path)
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4:idat])[0]
    raw = zlib.decompress(data[idat + 4:idat + 4 + length])
    rows = [raw[y * (width + 1):(y + 1) * (width + 1)] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return [row[1:] for row in rows]


def test_two_connectors_decode_to_the_exact_urls(tmp_path):
    paths = write_stickers("CP_014", 2, "https://csms.example.com/qr", tmp_path / "stickers")
    names = [p.name for p in paths]
    assert names == ["CP_014-connector-1.svg", "CP_014-connector-1.png", "CP_014-connector-2.svg",
                     "CP_014-connector-2.png"]
    for n in (1, 2):
        expected = f"https://csms.example.com/qr?cp=CP_014&connector={n}"
        assert decode(tmp_path / "stickers" / f"CP_014-connector-{n}.png") == [expected]


def test_id_needing_url_encoding_and_an_existing_query(tmp_path):
    charge_point = "Hof&Süd+1=A"  # allowed by the config: no '/', '?', '#', '%' or spaces
    paths = write_stickers(charge_point, 1, "http://portal.example.org/start?lang=de", tmp_path)
    expected = "http://portal.example.org/start?lang=de&cp=Hof%26S%C3%BCd%2B1%3DA&connector=1"
    png = next(p for p in paths if p.suffix == ".png")
    assert decode(png) == [expected]
    assert png.name == "Hof_S_d_1_A-connector-1.png"


def test_svg_renders_to_the_same_url_and_has_real_text(tmp_path):
    rsvg = require("rsvg-convert", "librsvg2-bin")
    charge_point = "CP&<7>"
    svg = write_stickers(charge_point, 2, "https://csms.example.com/qr/", tmp_path)[2]
    root = ET.parse(svg).getroot()  # well-formed XML, with the id escaped
    texts = [el.text for el in root.iter(f"{SVG_NS}text")]
    assert texts == [charge_point, "Connector 2"]
    assert root.get("width", "").endswith("mm") and root.get("height", "").endswith("mm")
    rendered = tmp_path / "rendered.png"
    subprocess.run([rsvg, "--zoom", "4", "-o", str(rendered), str(svg)], check=True, timeout=30)
    assert decode(rendered) == ["https://csms.example.com/qr/?cp=CP%26%3C7%3E&connector=2"]


def test_png_is_print_ready_with_text_under_the_code(tmp_path):
    svg, png = write_stickers("CP_014", 1, "https://csms.example.com/qr", tmp_path)
    width, height, per_metre = png_header(png)
    assert per_metre == round(PX_PER_MM * 1000)  # about 317 dpi: the code prints about 3 cm wide
    rows = png_pixels(png)
    assert set(b"".join(rows)) == {0, 255}
    # Below the code's quiet zone (which is as wide as the code's part of the sticker) there is ink:
    # the two text lines. And both files have the same physical size.
    dark_rows = [y for y, row in enumerate(rows) if 0 in row]
    code_bottom = max(y for y in dark_rows if y < width)
    assert any(y > code_bottom + 20 for y in dark_rows)
    root = ET.parse(svg).getroot()
    assert float(root.get("width", "").removesuffix("mm")) == pytest.approx(width / PX_PER_MM, abs=0.01)
    assert float(root.get("height", "").removesuffix("mm")) == pytest.approx(height / PX_PER_MM, abs=0.01)


def test_long_id_widens_the_sticker_and_still_decodes(tmp_path):
    charge_point = "A" * 48
    png = write_stickers(charge_point, 1, "https://c.io", tmp_path)[1]
    assert decode(png) == [f"https://c.io?cp={charge_point}&connector=1"]
    rows = png_pixels(png)
    text_rows = rows[-60:]
    inked = [x for row in text_rows for x, value in enumerate(row) if value == 0]
    assert min(inked) > 0 and max(inked) < len(rows[0]) - 1  # the text fits inside the sticker


@pytest.mark.parametrize("url", ["ftp://csms.example.com/qr", "csms.example.com/qr", "https://", "javascript:x",
                                 "https://csms.example.com/a b", "https://csms.example.com/\n"])
def test_bad_base_url_is_refused_before_writing(tmp_path, url):
    with pytest.raises(StickerError, match=re.escape(f"base URL {url!r}: must")):
        write_stickers("CP_014", 2, url, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_url_rules():
    assert sticker_url("https://x.io/p?", "CP_1", 3) == "https://x.io/p?cp=CP_1&connector=3"
    assert sticker_url("https://x.io/p?a=1&b=2", "CP_1", 1) == "https://x.io/p?a=1&b=2&cp=CP_1&connector=1"
    assert sticker_url("https://x.io/p#top", "CP_1", 1) == "https://x.io/p?cp=CP_1&connector=1#top"
    assert sticker_url("HTTPS://X.io:8443", "CP:1", 2) == "https://X.io:8443?cp=CP%3A1&connector=2"


def test_bad_counts_are_refused(tmp_path):
    with pytest.raises(StickerError, match="connectors"):
        write_stickers("CP_014", 0, "https://x.io", tmp_path)
    with pytest.raises(StickerError, match="charge point id"):
        write_stickers("", 1, "https://x.io", tmp_path)


def test_evsed_qr_command_writes_the_stickers_of_the_configured_charge_point(tmp_path):
    config = tmp_path / "evsed.toml"
    config.write_text(f'[charge_point]\nid = "CP&7=A"\nconnectors = 2\n[csms]\nurl = "ws://127.0.0.1:9/ocpp"\n'
                      f'[hardware]\nbackend = "sim"\n[storage]\npath = "{tmp_path / "evsed.db"}"\n')
    out = tmp_path / "stickers"
    result = subprocess.run([sys.executable, "-m", "firmware", "qr", "-c", str(config), "--base-url",
                             "https://csms.example/start", "-o", str(out)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2 and len(list(out.glob("*.svg"))) == 2
    assert decode(pngs[1]) == ["https://csms.example/start?cp=CP%267%3DA&connector=2"]
    bad = subprocess.run([sys.executable, "-m", "firmware", "qr", "-c", str(config), "--base-url", "ftp://x",
                          "-o", str(out)], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "http" in bad.stderr
