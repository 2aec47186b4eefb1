"""The GraphQL edge: the schema, its types, inputs, queries and mutations, the request context,
the translation of refusals, and the prepared plans that answer the page's reads."""
