"""The endpoints, one module per protocol; each joins the HTTP plumbing, contract and lifecycle."""
