"""The domain: records, the key format and its cryptography, every rule and limit, and the
errors. Plain Python: it imports nothing else of the service, and no framework or database."""
