"""Units of work: plain functions over a session or ids, with thin Prefect @task wrappers."""
