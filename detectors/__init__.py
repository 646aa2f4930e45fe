"""parasol: detectors."""
