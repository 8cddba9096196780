"""Offline batch scoring with the API's contract and model snapshot (``python -m app.batch``)."""
