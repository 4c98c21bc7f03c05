"""evsed firmware: charging sessions, connector state machine, authorization, storage, OCPP, CLI."""

__version__ = "0.1.0"
