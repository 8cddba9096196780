"""Prediction API: serves the registry's champion model over HTTP."""
