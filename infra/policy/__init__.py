"""Guardrails: plain validator functions, used by the CrossGuard pack and by the tests."""
