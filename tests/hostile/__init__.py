"""Property-based tests (Hypothesis): hostile input never breaks the service.

Every request goes through HTTP to the real application on SQLite and PostgreSQL (the `api`
fixture's app). What every answer must be is `support.Hostile.check`; the inputs are
`strategies`. Each test pins the inputs that once broke the service as `@example`s, which run
first; then Hypothesis generates the rest. `APIKEYS_HOSTILE_SCALE=10` runs ten times as many
examples, `APIKEYS_HOSTILE_GENERATED_ONLY=1` only generated ones. The figures at the end of a
run (inputs tried, 5xx and partial writes seen, near-miss keys tried) come from `tests.report`.
"""
