"""The OCPP 2.0.1 adapter (chosen by `[csms] protocol = "ocpp2.0.1"`). Importing the package loads nothing else."""

SUBPROTOCOL = "ocpp2.0.1"
