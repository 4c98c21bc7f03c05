"""Clocks for in-process tests of firmware parts."""

from firmware.clock import Clock, Trust, current_boot_id

RTC_CLOCK = Clock(Trust.RTC, current_boot_id())
"""Trusted from the start, as on a board with a real-time clock: events get dates at once."""
RTC_CLOCK.refresh()
