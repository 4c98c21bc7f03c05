"""The daemon around the core: devices, self-test, control socket and its commands, systemd."""
