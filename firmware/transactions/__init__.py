"""Transactions (OCPP functional block): records, the persistent outbox, meter samples, dating events."""
