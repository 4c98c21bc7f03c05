"""The protocol-independent charge point: connectors, sessions, safety, supervision, recovery, and the
ports and services through which a protocol adapter reaches it."""
