"""Simulated status LED: remembers what it shows."""

from hal.led import LedPattern, StatusLed


class SimLed(StatusLed):
    def __init__(self) -> None:
        self.pattern = LedPattern.OFF

    def show(self, pattern: LedPattern) -> None:
        self.pattern = pattern
