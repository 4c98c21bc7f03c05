"""evsed firmware: the charge point controller, grouped by OCPP functional block (see docs/ARCHITECTURE.md)."""

__version__ = "0.1.0"
