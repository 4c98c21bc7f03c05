"""The one place where the config's hardware backend picks device implementations.

Nothing else in `firmware/` names a driver; real-hardware drivers are imported lazily here so the
simulated backend never loads a hardware library.
"""

from dataclasses import dataclass

from firmware.config import Config
from firmware.connector import ConnectorDevices
from hal import CardReader
from hal.sim import SimStation


@dataclass
class Hardware:
    connectors: dict[int, ConnectorDevices]
    shared_reader: CardReader | None
    sim: SimStation | None = None
    """The simulated station, for `evsed sim` commands (None on real hardware)."""


def build_hardware(config: Config) -> Hardware:
    if config.hardware.backend == "sim":
        station = SimStation(config.charge_point.connectors, config.hardware.sim.power_w,
                             config.storage.path.parent)
        devices = {
            n: ConnectorDevices(contactor=c.contactor, meter=c.meter, plug=c.ev, lock=c.lock, led=c.led,
                                reader=c.reader)
            for n, c in station.connectors.items()
        }
        return Hardware(devices, station.reader, station)
    raise AssertionError(f"unknown backend {config.hardware.backend!r}")  # the config check rules this out
