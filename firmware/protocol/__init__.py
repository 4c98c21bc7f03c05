"""What every OCPP version's adapter shares: the websocket connection, the outbox pump, the handler registry."""
