"""The Airflow DAG folder: the DAG file and the pure spec it is built from."""
