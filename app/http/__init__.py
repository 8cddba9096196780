"""HTTP plumbing: errors, middleware, API keys, rate limits, bodies, scoring-route declaration."""
