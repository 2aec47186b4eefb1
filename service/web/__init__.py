"""The HTTP edge: the middleware every request passes, the gateway's verify endpoint, the
secret-scanning endpoint, health and metrics, session tokens, and failure limits."""
