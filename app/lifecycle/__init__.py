"""The model lifecycle: registry, artifact loading, the served snapshot, swaps, drift, shadow."""
