"""The whole QR story in a real browser: `evsed demo --serve` (the loopback CSMS with the QR backend, and a simulated
charger) driven by headless Chromium from Debian through Selenium, as a driver's phone would.

The page is opened from the URL decoded off the printed sticker (zbarimg), a budget tapped, Start; the EV is plugged in
(the simulator's control socket, as `evsed sim plug` does); the energy rises on the page without a reload; Stop ends
it and the receipt shows and downloads. A second test lets the budget stop the session; a third lets the plug time
out. Screenshots of each step are written to the test's directory (pytest's tmp_path: kept for the last three runs);
`docs/images/` holds two of them for the README. Without a browser: wrong links and taps get clear answers.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from firmware.daemon.control_socket import request
from tests.prerequisites import require, unavailable

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 20.0


@pytest.fixture
async def demo(tmp_path) -> AsyncIterator[dict[str, Any]]:
    """`evsed demo --serve` on a free port, its output read until it printed the pages: the page URLs, the charger's
    config file and control socket."""

    async def start(*options: str) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "firmware", "demo", "--serve", "--port", "0", "--state-dir", str(tmp_path / "state"),
            *options, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        procs.append(proc)
        out = ""
        async with asyncio.timeout(WAIT_S):
            while "Ctrl-C ends the demo" not in out:
                line = await proc.stdout.readline()
                assert line, out
                out += line.decode()
        config = re.search(r"evsed sim -c (\S+) plug", out).group(1)
        pages = dict((int(n), url) for n, url in re.findall(r"connector (\d): (http://\S+)", out))
        return {"pages": pages, "config": Path(config), "socket": Path(config).parent / "evsed.sock", "output": out}

    procs: list[asyncio.subprocess.Process] = []
    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
            async with asyncio.timeout(15):
                await proc.wait()


@pytest.fixture
def browser(tmp_path) -> Iterator[Any]:
    """Headless Chromium through Selenium, with Debian's chromedriver (Selenium Manager cannot download one here)."""
    chromium = require("chromium", "chromium")
    driver_path = require("chromedriver", "chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=412,915"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads")})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def shot(browser: Any, tmp_path: Path, name: str) -> None:
    browser.save_screenshot(str(tmp_path / f"{name}.png"))


def wait_text(browser: Any, element_id: str, predicate: Any, within: float = WAIT_S) -> str:
    """Poll (bounded) until the element's text satisfies `predicate`; its text."""
    deadline = time.monotonic() + within
    while True:
        element = browser.find_element("id", element_id)
        text = element.text
        if element.is_displayed() and predicate(text):
            return text
        assert time.monotonic() < deadline, (f"#{element_id} still shows {text!r}; the page shows: "
                                             f"{browser.find_element('tag name', 'main').text!r}")
        time.sleep(0.1)


def sticker_url(config: Path, base: str, tmp_path: Path) -> str:
    """`evsed qr` makes connector 1's sticker; zbarimg reads the URL back off the PNG."""
    zbarimg = require("zbarimg", "zbar-tools")
    out = tmp_path / "stickers"
    subprocess.run([sys.executable, "-m", "firmware", "qr", "-c", str(config), "--base-url", base,
                    "--out-dir", str(out)], check=True, cwd=ROOT, capture_output=True)
    png = out / "CP_DEMO-connector-1.png"
    decoded = subprocess.run([zbarimg, "--quiet", "--raw", str(png)], check=True, capture_output=True, text=True)
    return decoded.stdout.strip()


async def sim(socket: Path, **command: Any) -> dict[str, Any]:
    answer = await request(socket, command)
    assert answer.pop("ok"), answer
    return answer


async def test_scan_start_charge_stop_and_read_the_receipt(demo, browser, tmp_path):
    served = await demo()
    base = served["pages"][1].split("?")[0]
    url = sticker_url(served["config"], base, tmp_path)
    assert url == served["pages"][1], "the sticker opens the page the demo printed"
    browser.get(url)
    wait_text(browser, "status", lambda t: t == "Available")
    assert "per kWh" in wait_text(browser, "price", bool)
    shot(browser, tmp_path, "1-choose")
    browser.find_element("css selector", "#budgets button").click()
    browser.find_element("id", "start").click()
    wait_text(browser, "waiting", lambda t: "Plug in" in t)
    shot(browser, tmp_path, "2-waiting")
    await sim(served["socket"], cmd="plug", connector=1)
    first = float(wait_text(browser, "energy", lambda t: float(t) > 0))
    wait_text(browser, "energy", lambda t: float(t) > first)  # pushed, no reload
    power_kw = float(browser.find_element("id", "power").text)
    assert 0 < power_kw <= 10 * 230 * 3 / 1000, "the session's TxProfile caps it at the tariff's 10 A"
    shot(browser, tmp_path, "3-charging")
    browser.refresh()  # reopening the page finds the running session
    wait_text(browser, "energy", lambda t: float(t) > first)
    browser.find_element("id", "stop").click()
    receipt = wait_text(browser, "receipt-text", lambda t: "Cost:" in t)
    shot(browser, tmp_path, "4-receipt")
    assert "charger CP_DEMO, connector 1" in receipt and "Energy:" in receipt and "Start:" in receipt
    energy = float(re.search(r"Energy: ([0-9.]+) kWh", receipt).group(1))
    assert energy > 0
    link = browser.find_element("id", "receipt-download").get_attribute("href")
    with await asyncio.to_thread(urllib.request.urlopen, link, timeout=5) as download:
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.read().decode() == receipt + "\n", "the file is the receipt the page shows"
    id_tag = link.rsplit("=", 1)[1]
    assert re.fullmatch(r"QR[0-9A-F]{16}", id_tag), "a fresh idTag of at most 20 characters"
    state = await sim(served["socket"], cmd="state")
    assert state["connectors"][0]["tx_ref"] is None and state["connectors"][0]["contactor_closed"] is False


async def test_the_budget_stops_the_session(demo, browser, tmp_path):
    served = await demo("--price", "50")  # 0.50 at 50/kWh: 10 Wh, a few seconds of the simulated EV
    browser.get(served["pages"][2])
    wait_text(browser, "status", lambda t: t == "Available")
    browser.find_element("id", "custom").send_keys("0.5")
    browser.find_element("id", "start").click()
    wait_text(browser, "waiting", lambda t: "Plug in" in t)
    await sim(served["socket"], cmd="plug", connector=2)
    receipt = wait_text(browser, "receipt-text", lambda t: "Cost:" in t, within=40)
    shot(browser, tmp_path, "budget-receipt")
    assert "the budget was reached" in receipt
    cost = float(re.search(r"Cost: ([0-9.]+)", receipt).group(1))
    assert 0.5 <= cost < 1.0, receipt


async def test_the_plug_timeout_ends_the_wait_with_a_message(demo, browser, tmp_path):
    served = await demo("--connection-timeout", "3")
    browser.get(served["pages"][1])
    wait_text(browser, "status", lambda t: t == "Available")
    browser.find_element("css selector", "#budgets button").click()
    browser.find_element("id", "start").click()
    wait_text(browser, "waiting", lambda t: "Plug in" in t)
    message = wait_text(browser, "message", lambda t: "no EV was plugged in" in t, within=15)
    shot(browser, tmp_path, "timeout")
    assert "nothing was charged" in message
    assert browser.find_element("id", "choose").is_displayed(), "the driver can start again"
    state = await sim(served["socket"], cmd="state")
    assert all(c["tx_ref"] is None and not c["awaiting_start"] for c in state["connectors"])
    assert state["link"]["connected"] is True


async def test_wrong_links_and_taps_get_clear_answers(demo):
    served = await demo()
    page = served["pages"][1]
    base = page.split("/ev?")[0]
    for path, expected in (("/ev?cp=NOPE&connector=1", "no charger &#x27;NOPE&#x27;"),  # escaped in the page
                           ("/ev?cp=CP_DEMO&connector=x", "names no"), ("/ev?cp=CP_DEMO&connector=9", "connector 9"),
                           ("/receipt?session=QR0", "no finished"), ("/etc/passwd", "nothing here")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(urllib.request.urlopen, base + path, timeout=5)
        assert refused.value.code == 404 and expected in refused.value.read().decode()
    live = page.replace("http://", "ws://").replace("/ev?", "/live?")
    async with websockets.connect(live) as ws:
        assert json.loads(await ws.recv())["status"] == "Available"
        for tap in ('{"action": "start", "budget": -1}', '{"action": "fly"}', "not json", '{"action": "start"}'):
            await ws.send(tap)
            assert "could not do that" in json.loads(await ws.recv())["error"]
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(live.replace("CP_DEMO", "NOPE"))
