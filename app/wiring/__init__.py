"""Wiring: settings (the only reader of the environment), the app factory, server and logging."""
