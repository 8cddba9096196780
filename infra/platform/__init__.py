"""Layer 2, the platform services on the cluster, each using the cluster's Kubernetes provider."""
