"""parasol: streams."""
