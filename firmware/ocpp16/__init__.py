"""OCPP 1.6J adapter: translates between OCPP 1.6 messages and the protocol-independent core.

Importing this package alone loads nothing else (the config file's `[ocpp]` presets are read through
`ocpp16.keys`); the adapter itself (`ocpp16.adapter`) is imported only where 1.6 is the configured protocol.
"""

SUBPROTOCOL = "ocpp1.6"
"""The websocket subprotocol of OCPP-J 1.6 (§3.1.2)."""
