"""Real servers (PostgreSQL, …) started privately by tests, never the machine's own instances."""
