"""Logs: ECK, an Elasticsearch cluster, Kibana behind the gateway, Fluent Bit on every node."""

from infra.platform.logging.component import Logging, LoggingArgs

__all__ = ["Logging", "LoggingArgs"]
