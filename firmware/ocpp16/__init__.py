"""OCPP 1.6J adapter: translates between OCPP 1.6 messages and the protocol-independent core."""
