"""Real hardware behind the `hal` interfaces (card readers, GPIO, Modbus meters)."""
