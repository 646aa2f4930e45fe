"""parasol: connectors/sinks."""
