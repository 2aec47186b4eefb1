// The GraphQL client: every request is `POST graphql` with the session token as a bearer token.

/** The request failed as a whole (network, HTTP status, or GraphQL `errors`). */
export class ApiError extends Error {
  constructor(message, code = null) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** A mutation answered with one of the `UserError` types: `message` is safe to show. */
export class UserError extends Error {
  constructor({ code, message, field = null, limit = null }) {
    super(message);
    this.name = 'UserError';
    this.code = code;
    // A taken name is the name field's fault too, though only ValidationError says `field`.
    this.field = field ?? (code === 'NAME_TAKEN' ? 'name' : null);
    this.limit = limit;
  }
}

/**
 * `getToken()` supplies the current session token; `onUnauthenticated()` is called when the API
 * refuses it (expired, revoked, malformed), so the page can ask for a new one.
 */
export function createClient({ getToken, onUnauthenticated }) {
  // Relative to the page, so the page keeps working if the service is mounted under a prefix.
  const endpoint = new URL('graphql', document.baseURI);

  async function request(query, variables = {}) {
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          Authorization: `Bearer ${getToken() ?? ''}`,
        },
        body: JSON.stringify({ query, variables }),
        credentials: 'omit', // the bearer token is the only credential; never send cookies
        cache: 'no-store', // answers may hold keys: keep them out of the HTTP cache
      });
    } catch {
      throw new ApiError('Could not reach the server. Check your connection and try again.');
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`The server answered with an unexpected response (HTTP ${response.status}).`);
    }
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    if (errors.some((error) => error?.extensions?.code === 'UNAUTHENTICATED')) {
      onUnauthenticated();
      throw new ApiError('Your session has ended. Sign in again.', 'UNAUTHENTICATED');
    }
    if (errors.length > 0) {
      const message = errors
        .map((error) => error?.message)
        .filter(Boolean)
        .join(' ');
      throw new ApiError(message || 'The request failed.', errors[0]?.extensions?.code ?? null);
    }
    if (!response.ok || !body?.data) {
      throw new ApiError(`The request failed (HTTP ${response.status}).`);
    }
    return body.data;
  }

  return { request };
}

/**
 * Mutations answer with a union of the success type and `UserError`s. Return the success value,
 * or throw the error so callers handle every refusal the same way.
 */
export function unwrap(result, successType) {
  if (result?.__typename === successType) return result;
  if (result && typeof result.message === 'string') throw new UserError(result);
  throw new ApiError('The server answered with an unexpected result.');
}
