"""apikeys: personal API keys for an automation platform, managed over GraphQL."""
