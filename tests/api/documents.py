"""The GraphQL documents the settings page sends, shared by the API tests."""

KEY_FIELDS = "id name description key maskedKey isDefault createdAt updatedAt lastUsedAt rotatedAt"

LIST = f"query {{ apiKeys {{ {KEY_FIELDS} }} }}"
GET = f"query ($id: ID!) {{ apiKey(id: $id) {{ {KEY_FIELDS} }} }}"

_ERROR = "__typename ... on UserError { code message }"
_KEY = f"... on ApiKey {{ {KEY_FIELDS} }}"
_VALIDATION = "... on ValidationError { field }"

CREATE = f"""mutation ($name: String!, $description: String) {{
  createApiKey(input: {{name: $name, description: $description}}) {{
    {_ERROR} {_KEY} {_VALIDATION} ... on KeyLimitReachedError {{ limit }}
  }}
}}"""
UPDATE = f"""mutation ($input: UpdateApiKeyInput!) {{
  updateApiKey(input: $input) {{ {_ERROR} {_KEY} {_VALIDATION} }}
}}"""
ROTATE = f"""mutation ($id: ID!) {{
  rotateApiKey(input: {{id: $id}}) {{ {_ERROR} {_KEY} {_VALIDATION} }}
}}"""
DELETE = f"""mutation ($id: ID!) {{
  deleteApiKey(input: {{id: $id}}) {{ {_ERROR} ... on DeletedApiKey {{ id }} }}
}}"""
DISMISS_LEAK = f"""mutation ($id: ID!) {{
  dismissLeak(input: {{id: $id}}) {{
    {_ERROR} ... on ApiKey {{ id leak {{ url reportedAt dismissedAt }} }}
  }}
}}"""
