// The Settings -> API keys page: wires the session, the API, the table, the dialogs and the
// run-command panel together. All state the page shows is `state.keys`, as the API last said.

import { createClient, unwrap } from './api.js';
import { copyText } from './clipboard.js';
import { createCreateDialog } from './create-dialog.js';
import { closeAllDialogs } from './dialogs.js';
import { DISMISS_LEAK, KEY_SCOPES, KEY_SECRET, KEY_USAGE, LIST_KEYS, UPDATE_KEY } from './documents.js';
import { flashText } from './dom.js';
import { createKeyDialogs } from './key-dialogs.js';
import { createKeyEditor } from './key-editor.js';
import { createKeysTable } from './keys-table.js';
import { createLeakBanners } from './leaks.js';
import { createNewKeyStep } from './new-key.js';
import { createNotice } from './notice.js';
import { createRestrictDialog } from './restrict-dialog.js';
import { createRunCommandPanel } from './run-command.js';
import { networksText, workflowsText } from './scope-cell.js';
import { clearToken, loadToken, saveToken, takeTokenFromUrl } from './session.js';
import { createSignIn } from './signin.js';
import { createUsageDialog } from './usage.js';

// The service's limit, as the page it serves says (index.html's meta, filled in by the server);
// a KEY_LIMIT_REACHED answer carries the configured one too, and replaces it.
const DEFAULT_KEY_LIMIT = 5;
const SESSION_ENDED = 'Your session has expired or is not valid. Paste a new session token to continue.';
const GRACE = {
  0: 'has stopped working',
  3600: 'keeps working for 1 hour',
  86400: 'keeps working for 1 day',
  604800: 'keeps working for 7 days',
};

const UNSCOPED = { workflowIds: null, allowedAddresses: null };

const byId = (id) => document.getElementById(id);

// Before anything else: the token must not stay in the address bar (or reach history).
takeTokenFromUrl();

const state = { keys: [], limit: servedLimit() ?? DEFAULT_KEY_LIMIT };
// The keys whose current secret the user has copied (`${id}@${rotatedAt}`): a leaked default
// key's warning can be dismissed once its new secret has been copied.
const copiedSecrets = new Set();
// Bumped when a session starts or ends: answers that arrive for another one are dropped.
let session = 0;

const client = createClient({ getToken: loadToken, onUnauthenticated: () => endSession(SESSION_ENDED) });

const notice = createNotice({
  status: byId('keys-status'),
  alert: byId('keys-error'),
  errorBox: byId('keys-error-box'),
  closeButton: byId('keys-error-close'),
});
const announce = (message) => notice.success(message);
const report = (error) => notice.error(error);

const signIn = createSignIn({
  section: byId('signin'),
  form: byId('signin-form'),
  message: byId('signin-message'),
  onToken(token) {
    saveToken(token);
    start();
  },
});

const editKey = createKeyEditor({
  dialog: byId('edit-dialog'),
  async save(key, changes) {
    const data = await client.request(UPDATE_KEY, { input: { id: key.id, ...changes } });
    const updated = unwrap(data.updateApiKey, 'ApiKey');
    table.setScopes(new Map([[updated.id, scopeOf(updated)]]));
    replaceKey(updated);
  },
  saved(key, field) {
    announce('Saved.');
    table.focusRow(key.id, field === 'description' ? 'description-cell' : 'name-cell');
  },
});

const newKeyStep = createNewKeyStep({
  dialog: byId('new-key-dialog'),
  secretOf,
  copied: markCopied,
  done(key) {
    announce(afterNewKey.get(key.id) ?? '');
    afterNewKey.delete(key.id);
    table.focusRow(key.id);
  },
});
// What to confirm once the new-key step is done (the dialog hid the page until then).
const afterNewKey = new Map();

const keyDialogs = createKeyDialogs({
  rotateDialog: byId('rotate-dialog'),
  deleteDialog: byId('delete-dialog'),
  client,
  rotated(before, after, seconds) {
    table.forget(before.id, { secretOnly: true }); // a revealed secret is the old one now
    table.setGrace(after.id, seconds > 0 ? Date.now() + seconds * 1000 : 0);
    showNewKey(after, 'rotated', `Key “${after.name}” rotated. The old key ${GRACE[seconds] ?? 'expires later'}.`);
  },
  deleted(key) {
    table.forget(key.id);
    setKeys(state.keys.filter((other) => other.id !== key.id));
    announce(`Key “${key.name}” deleted.`);
  },
});

const restrictKey = createRestrictDialog({
  dialog: byId('restrict-dialog'),
  client,
  knownScope: (id) => table.scopeOf(id),
  saved(key) {
    const scope = scopeOf(key);
    table.setScopes(new Map([[key.id, scope]]));
    replaceKey(key);
    const what = `${workflowsText(scope.workflowIds)}, ${networksText(scope.allowedAddresses)}`;
    announce(`Scope of “${key.name}” saved: ${what.toLowerCase()}.`);
    table.focusRow(key.id);
  },
});

const table = createKeysTable(byId('keys-body'), {
  edit: (key, field) => editKey(key, field),
  restrict: (key) => restrictKey(key),
  rotate: (key) => keyDialogs.rotate(key),
  remove: (key) => keyDialogs.remove(key),
  usage: (key) => usageDialog.open(key),
  secretOf,
  copied: markCopied,
  report,
  announce,
});

const banners = createLeakBanners(byId('leak-banners'), {
  remove: (key) => keyDialogs.remove(key),
  async copyNewKey(key, button) {
    try {
      await copyText(await secretOf(key), button);
    } catch (error) {
      report(error);
      return false;
    }
    flashText(button, 'Copied');
    markCopied(key);
    announce(`The new key of “${key.name}” is in the clipboard.`);
    return true;
  },
  async dismiss(key) {
    try {
      const data = await client.request(DISMISS_LEAK, { input: { id: key.id } });
      replaceKey(unwrap(data.dismissLeak, 'ApiKey'));
      announce(`The warning about “${key.name}” is dismissed.`);
      table.focusRow(key.id);
    } catch (error) {
      report(error);
    }
  },
  copied: (key) => copiedSecrets.has(secretId(key)),
});

const runPanel = createRunCommandPanel({
  client,
  form: byId('run-form'),
  box: byId('run-box'),
  output: byId('run-command'),
  copyButton: byId('run-copy'),
  error: byId('run-error'),
  hint: byId('run-hint'),
  keyNote: byId('run-key-note'),
  announce,
});

const usageDialog = createUsageDialog({
  dialog: byId('usage-dialog'),
  client,
  onUsage: (id, days) => table.setUsage(new Map([[id, days]])),
});

const openCreate = createCreateDialog({
  dialog: byId('create-dialog'),
  client,
  created(key) {
    table.setUsage(new Map([[key.id, []]])); // a new key: no uses yet
    // The form sets no scope: every workflow, anywhere.
    table.setScopes(new Map([[key.id, UNSCOPED]]));
    showNewKey(key, 'created', `API key “${key.name}” created.`);
  },
  limitIs(limit) {
    state.limit = limit;
    renderCount();
  },
});

byId('new-key').addEventListener('click', () => openCreate());
byId('sign-out').addEventListener('click', () => endSession(''));
// A new `#token=` pasted into the address bar of the open page signs in without a reload.
window.addEventListener('hashchange', () => {
  if (takeTokenFromUrl()) start();
});
// "Last used 3 minutes ago" must not stay "Just now" while the page is open, nor a key that
// has expired meanwhile "in 1 minute".
setInterval(() => {
  table.tick();
  runPanel.tick();
}, 30_000);

if (loadToken()) start();
else signIn.show();

async function start() {
  const current = (session += 1);
  signIn.hide();
  byId('app').hidden = false;
  byId('sign-out').hidden = false;
  notice.clear();
  try {
    const data = await client.request(LIST_KEYS);
    setKeys(data.apiKeys);
  } catch (error) {
    report(error);
    return;
  }
  loadUsage(current);
  loadScopes(current);
}

/** The sparklines, once the list is on screen: a query of its own, so that the list's stays
 * one the server answers from a prepared plan (see documents.js). */
async function loadUsage(current) {
  try {
    const data = await client.request(KEY_USAGE);
    if (current !== session) return;
    table.setUsage(new Map(data.apiKeys.map((key) => [key.id, key.usage])));
  } catch {
    // The table works without its sparklines: they say they could not be loaded.
    if (current === session) table.usageUnavailable();
  }
}

/** The Scope column, once the list is on screen: like the sparklines, a query of its own (see
 * documents.js). */
async function loadScopes(current) {
  try {
    const data = await client.request(KEY_SCOPES);
    if (current !== session) return;
    table.setScopes(new Map(data.apiKeys.map((key) => [key.id, scopeOf(key)])));
  } catch {
    // The table works without the column: its cells say it could not be loaded, and the
    // Restrict dialog looks the scope up again when it opens.
    if (current === session) table.scopesUnavailable();
  }
}

function scopeOf(key) {
  return { workflowIds: key.workflowIds, allowedAddresses: key.allowedAddresses };
}

/** Forget the session and everything shown with it, and ask for a token. */
function endSession(message) {
  session += 1;
  clearToken();
  closeAllDialogs();
  table.forget();
  copiedSecrets.clear();
  runPanel.clear();
  notice.clear();
  setKeys([]);
  byId('app').hidden = true;
  byId('sign-out').hidden = true;
  signIn.show(message);
}

/** A key just created or rotated: its row marked, and its full secret shown at once. */
function showNewKey(key, how, confirmation) {
  notice.clear(); // what went wrong before is over
  table.highlight(key.id);
  if (state.keys.some((other) => other.id === key.id)) replaceKey(key);
  else setKeys([...state.keys, key]);
  afterNewKey.set(key.id, confirmation);
  newKeyStep.open(key, how);
}

function setKeys(keys) {
  state.keys = keys;
  banners.render(keys);
  table.render(keys);
  renderCount();
  runPanel.setKeys(keys);
}

function replaceKey(updated) {
  setKeys(state.keys.map((key) => (key.id === updated.id ? updated : key)));
}

function renderCount() {
  const { keys, limit } = state;
  byId('keys-count').textContent = `${keys.length} of ${limit} keys`;
  const full = keys.length >= limit;
  const note = byId('limit-note');
  note.textContent = full ? `You have reached the limit of ${limit} API keys. Delete a key to create a new one.` : '';
  note.hidden = !full;
  byId('new-key').disabled = full;
}

async function secretOf(key) {
  const data = await client.request(KEY_SECRET, { id: key.id });
  if (!data.apiKey) throw new Error('This key no longer exists. Reload the page to see your keys.');
  return data.apiKey.key;
}

function secretId(key) {
  return `${key.id}@${key.rotatedAt ?? key.createdAt}`;
}

function markCopied(key) {
  copiedSecrets.add(secretId(key));
  banners.render(state.keys); // a leaked default key's warning can now be dismissed
}

/** The limit the server put in the page it served, if it did (a page served elsewhere has
 * none). */
function servedLimit() {
  const limit = Number(document.querySelector('meta[name="apikeys-key-limit"]')?.content);
  return Number.isInteger(limit) && limit > 0 ? limit : null;
}
