// The GraphQL documents the page sends. Secrets (`key`) are only ever asked for to be shown or
// copied (Reveal, Copy, the new-key step after a create or rotation); listing, creating and
// rotating ask for the masked key only.

// Plain fields only (no arguments, no resolver of their own): the server answers LIST_KEYS from
// a prepared plan, about ten times faster than its general executor. `usage` and `usedBy` take
// arguments, so they are asked for in documents of their own, after the list is on screen.
const KEY_FIELDS = `
  fragment KeyFields on ApiKey {
    id name description maskedKey isDefault createdAt updatedAt lastUsedAt rotatedAt expiresAt
    lastUsedFrom { clientAddress userAgent }
    revokedAt leak { url source reportedAt dismissedAt }
  }`;

export const LIST_KEYS = `
  query ApiKeys { apiKeys { ...KeyFields } }
  ${KEY_FIELDS}`;

// The table's sparklines: every key's uses per day over the last 30 days (the server's default).
export const KEY_USAGE = `
  query KeyUsage { apiKeys { id usage { date uses } } }`;

// What each key may be used for (the table's Scope column): plain fields, so a prepared plan
// answers it too, but a document of its own, sent beside KEY_USAGE, so that LIST_KEYS stays
// the document the benchmarks have always measured (bench/README.md).
const KEY_SCOPE = `
  fragment KeyScope on ApiKey { workflowIds allowedAddresses }`;

export const KEY_SCOPES = `
  query KeyScopes { apiKeys { id ...KeyScope } }
  ${KEY_SCOPE}`;

// The Restrict dialog, fresh when it opens: the key's scope, the workflows that used it lately
// (its suggested scope, 30 days), and what a narrower scope would cut off (the last 7 days'
// workflows, and where its latest use came from).
export const KEY_SCOPE_DETAILS = `
  query KeyScopeDetails($id: ID!) {
    apiKey(id: $id) {
      id ...KeyScope
      suggestedWorkflowIds(days: 30)
      usedBy(days: 7) { workflowId uses lastUsedAt }
      lastUsedAt
      lastUsedFrom { clientAddress }
    }
  }
  ${KEY_SCOPE}`;

// The Usage dialog: one key's uses, the workflows that used it and where it was last used from,
// fresh when the dialog opens.
export const KEY_USAGE_DETAILS = `
  query KeyUsageDetails($id: ID!) {
    apiKey(id: $id) {
      id lastUsedAt
      lastUsedFrom { clientAddress userAgent }
      usage { date uses }
      usedBy { workflowId uses lastUsedAt }
    }
  }`;

// The rotate and delete dialogs: the workflows that would fail once the key stops working.
export const KEY_RECENT_WORKFLOWS = `
  query KeyRecentWorkflows($id: ID!) {
    apiKey(id: $id) { id usedBy(days: 7) { workflowId uses lastUsedAt } }
  }`;

export const KEY_SECRET = `
  query ApiKeySecret($id: ID!) { apiKey(id: $id) { id key } }`;

export const CREATE_KEY = `
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ...KeyFields
      ... on UserError { code message }
      ... on ValidationError { field }
      ... on KeyLimitReachedError { limit }
    }
  }
  ${KEY_FIELDS}`;

// The editor's and the Restrict dialog's: the answer carries the scope, for the Scope column.
export const UPDATE_KEY = `
  mutation UpdateApiKey($input: UpdateApiKeyInput!) {
    updateApiKey(input: $input) {
      __typename
      ...KeyFields
      ...KeyScope
      ... on UserError { code message }
      ... on ValidationError { field }
    }
  }
  ${KEY_FIELDS}
  ${KEY_SCOPE}`;

export const ROTATE_KEY = `
  mutation RotateApiKey($input: RotateApiKeyInput!) {
    rotateApiKey(input: $input) {
      __typename
      ...KeyFields
      ... on UserError { code message }
      ... on ValidationError { field }
    }
  }
  ${KEY_FIELDS}`;

// DeleteApiKeyResult has no ValidationError member, so it cannot be selected here.
export const DELETE_KEY = `
  mutation DeleteApiKey($input: DeleteApiKeyInput!) {
    deleteApiKey(input: $input) {
      __typename
      ... on DeletedApiKey { id }
      ... on UserError { code message }
    }
  }`;

// A leak report's warning, dismissed by its owner (remembered by the server for that report).
export const DISMISS_LEAK = `
  mutation DismissLeak($input: DismissLeakInput!) {
    dismissLeak(input: $input) {
      __typename
      ...KeyFields
      ... on UserError { code message }
    }
  }
  ${KEY_FIELDS}`;

// The run panel's key choice for a workflow: only the keys that can run it now (not revoked,
// not expired, in scope), default first. No `key`: nothing is decrypted.
export const USABLE_KEYS = `
  query UsableKeys($workflowId: ID!) {
    apiKeys(usableFor: $workflowId) { id name isDefault maskedKey }
  }`;

// `command` holds the full key and the server records every read of it as a reveal, so the
// panel shows `maskedCommand` and asks for `command` only when the user clicks Copy.
export const RUN_COMMAND = `
  query WorkflowRunCommand($workflowId: ID!, $method: RunMethod!, $apiKeyId: ID) {
    workflowRunCommand(workflowId: $workflowId, method: $method, apiKeyId: $apiKeyId) {
      maskedCommand
      apiKey { id name }
    }
  }`;

export const RUN_COMMAND_SECRET = `
  query WorkflowRunCommandSecret($workflowId: ID!, $method: RunMethod!, $apiKeyId: ID) {
    workflowRunCommand(workflowId: $workflowId, method: $method, apiKeyId: $apiKeyId) {
      command
    }
  }`;
