"""Firmware Management (OCPP functional block): diagnostics uploads and firmware updates, their file transfers."""
