"""Layer 1, the AWS foundation: network, cluster, database, storage, images, identities."""
