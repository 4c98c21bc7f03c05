"""Smart Charging (OCPP functional block): charging profiles, the limit each connector offers, and when it changes."""
