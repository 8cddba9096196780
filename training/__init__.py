"""Training pipeline: ingest -> validate -> train -> evaluate -> register -> promote."""
