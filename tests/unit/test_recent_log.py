"""The in-memory log GetDiagnostics sends when no journal keeps one: bounded in lines and in line length, so a
hostile CSMS's 100 KB frames quoted in log lines cannot grow the daemon (the long fuzz run: +28 MB)."""

import logging

from firmware.logs import RECENT_LINE_CHARS, RecentLog


def test_the_recent_log_keeps_the_newest_lines_each_cut_short():
    recent = RecentLog(capacity=50)
    log = logging.getLogger("test.recent")
    log.addHandler(recent)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        for n in range(120):
            log.info("frame=%d url=%s", n, "A" * 20_000)
    finally:
        log.removeHandler(recent)
    lines = [line for _, line in recent.lines]
    assert len(lines) == 50 and "frame=70 " in lines[0] and "frame=119 " in lines[-1]
    assert all(len(line) == RECENT_LINE_CHARS for line in lines)
