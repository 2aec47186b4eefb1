"""The use cases: keys (the settings page's), verification (the gateway's), leak reports (a
secret-scanning partner's), usage tracking, the rotation of the service's own secrets, and what
operations ask. They take primitives and records, speak no protocol and write no SQL."""
