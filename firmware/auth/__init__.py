"""Authorization (OCPP functional block): may this idTag charge now? Local List, cache, CSMS, offline rules."""
