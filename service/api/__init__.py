"""The GraphQL edge: schema, context, types, inputs, queries, mutations."""
