"""Layer 3, the ML workloads (MLflow, Airflow, the prediction API), land here in a later issue."""
