"""parasol: schemas."""
