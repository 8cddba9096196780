"""Monitoring and alerting: kube-prometheus-stack, rules and dashboards from the repo."""

from infra.platform.monitoring.component import Monitoring, MonitoringArgs

__all__ = ["Monitoring", "MonitoringArgs"]
