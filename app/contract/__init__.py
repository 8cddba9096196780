"""The request contract: request and response bodies of every protocol, and the input contract."""
