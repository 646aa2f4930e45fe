"""parasol: connectors/sources."""
