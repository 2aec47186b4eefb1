"""`python -m bench`: throughput and latency of the real service under wrk, against a floor.

Each engine (SQLite, PostgreSQL) gets a throwaway database, seeded in bulk, and the real service in
a subprocess with production settings (uvicorn, uvloop, httptools, one worker). wrk drives each
scenario from another process; every figure is compared with `/bench/floor`, a fixed JSON body
served by the same process, so the ratios say what the service costs beyond Starlette and uvicorn.
"""
