"""The `evsed` command."""
