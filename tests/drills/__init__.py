"""Reliability drills: real servers on 127.0.0.1; faults, restores, load (docs/reliability.md)."""
