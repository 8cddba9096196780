"""Release tools the CI/CD pipelines call: ``python -m infra.release <command> --help``."""
