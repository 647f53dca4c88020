"""Prefect flows: batch work (import, replay) as chunked tasks calling the same domain functions.

Import ``app.prefect_env.configure_prefect`` first: Prefect reads its settings when it is imported.
"""
