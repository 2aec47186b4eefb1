"""`python -m bench`: throughput and latency of the real service under wrk, against a bare floor.

Each engine (SQLite, PostgreSQL) gets a throwaway database, seeded in bulk, and the real service
started as users start it (`apikeys serve`, production settings, request log on, metrics on) in
a subprocess. Beside it, in a process of its own on the same CPU, runs a bare Starlette app with
one fixed JSON route (bench/bare.py). wrk drives each scenario from the other CPU, and the bare
floor is measured just before and just after every scenario, so the ratios say what the service
costs beyond Starlette and uvicorn themselves. `--smoke` runs it all briefly, as a test.
"""
