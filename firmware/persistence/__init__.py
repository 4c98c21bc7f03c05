"""The one SQLite database: the Store and its numbered schema migrations."""
