// The session token: given once in the URL fragment (`/#token=...`), then kept in this tab.
//
// A fragment is never sent to the server, so the token does not end up in access logs; we still
// drop it from the address bar at once so it is not bookmarked, shared or kept in history.
// sessionStorage (not localStorage) keeps it for reloads of this tab only.

const STORAGE_KEY = 'apikeys.sessionToken';

// Used when sessionStorage is unavailable (disabled by policy): the token lasts as long as the page.
let memoryToken = null;

/** Take the token out of the URL fragment, if there is one, and store it. */
export function takeTokenFromUrl() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return null;
  params.delete('token');
  const rest = params.toString();
  const { pathname, search } = window.location;
  window.history.replaceState(window.history.state, '', pathname + search + (rest ? `#${rest}` : ''));
  if (!token.trim()) return null;
  saveToken(token.trim());
  return token.trim();
}

export function loadToken() {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

export function saveToken(token) {
  memoryToken = token;
  try {
    window.sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage disabled: the in-memory copy is enough for this page.
  }
}

export function clearToken() {
  memoryToken = null;
  try {
    window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored.
  }
}
