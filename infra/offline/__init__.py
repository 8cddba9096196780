"""Offline checks of the Pulumi program: run it under mocks, record every resource."""
