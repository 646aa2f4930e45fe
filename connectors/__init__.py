"""parasol: connectors."""
