// The Settings -> API Keys page: wires the session, the API, the table, the dialogs and the
// run-command panel together. All state the page shows is `state.keys`, as the API last said.

import { createClient, unwrap } from './api.js';
import { closeAllDialogs, formDialog } from './dialogs.js';
import { CREATE_KEY, DELETE_KEY, KEY_SECRET, LIST_KEYS, ROTATE_KEY, UPDATE_KEY } from './documents.js';
import { showMessage } from './dom.js';
import { createKeysTable } from './keys-table.js';
import { renderLeaks } from './leaks.js';
import { createRunCommandPanel } from './run-command.js';
import { clearToken, loadToken, saveToken, takeTokenFromUrl } from './session.js';
import { createSignIn } from './signin.js';

// The service's default. The schema does not expose the limit; a KEY_LIMIT_REACHED answer
// carries the configured one, and replaces this.
const DEFAULT_KEY_LIMIT = 5;
const SESSION_ENDED = 'Your session has expired or is not valid. Paste a new session token to continue.';
const GRACE = {
  0: 'has stopped working',
  3600: 'keeps working for 1 hour',
  86400: 'keeps working for 1 day',
  604800: 'keeps working for 7 days',
};

const byId = (id) => document.getElementById(id);

// Before anything else: the token must not stay in the address bar (or reach history).
takeTokenFromUrl();

const state = { keys: [], limit: DEFAULT_KEY_LIMIT };
let statusTimer = null;

const client = createClient({ getToken: loadToken, onUnauthenticated: () => endSession(SESSION_ENDED) });

const signIn = createSignIn({
  section: byId('signin'),
  form: byId('signin-form'),
  message: byId('signin-message'),
  onToken(token) {
    saveToken(token);
    start();
  },
});

const table = createKeysTable(byId('keys-body'), {
  rename: (key, name) => update(key, { name }),
  // An empty description is no description: the API clears it with null.
  describe: (key, description) => update(key, { description: description.trim() ? description : null }),
  rotate: (key) => rotateDialog.open(key),
  remove: (key) => deleteDialog.open(key),
  secretOf,
  report,
  announce,
});

const runPanel = createRunCommandPanel({
  client,
  form: byId('run-form'),
  box: byId('run-box'),
  output: byId('run-command'),
  copyButton: byId('run-copy'),
  error: byId('run-error'),
  announce,
});

const createDialog = formDialog(byId('create-dialog'), {
  async submit(form) {
    const description = form.get('description');
    const data = await client.request(CREATE_KEY, {
      input: { name: form.get('name'), description: description.trim() ? description : null },
    });
    let key;
    try {
      key = unwrap(data.createApiKey, 'ApiKey');
    } catch (refusal) {
      if (refusal.limit) {
        state.limit = refusal.limit;
        renderCount();
      }
      throw refusal;
    }
    setKeys([...state.keys, key]);
    announce(`API key “${key.name}” created.`);
  },
});

const rotateDialog = formDialog(byId('rotate-dialog'), {
  async submit(form, key) {
    const seconds = Number(form.get('expireOldKeyInSeconds'));
    const data = await client.request(ROTATE_KEY, { input: { id: key.id, expireOldKeyInSeconds: seconds } });
    const rotated = unwrap(data.rotateApiKey, 'ApiKey');
    table.forget(key.id); // a revealed secret is the old one now
    replaceKey(rotated);
    announce(`Key “${rotated.name}” rotated. The old key ${GRACE[seconds] ?? 'expires later'}.`);
  },
});

const deleteDialog = formDialog(byId('delete-dialog'), {
  prepare(dialog, key) {
    dialog.querySelector('[data-role="key-name"]').textContent = `“${key.name}”`;
  },
  async submit(_form, key) {
    const data = await client.request(DELETE_KEY, { input: { id: key.id } });
    unwrap(data.deleteApiKey, 'DeletedApiKey');
    table.forget(key.id);
    setKeys(state.keys.filter((other) => other.id !== key.id));
    announce(`Key “${key.name}” deleted.`);
  },
});

byId('new-key').addEventListener('click', () => createDialog.open());
byId('sign-out').addEventListener('click', () => endSession(''));
// A new `#token=` pasted into the address bar of the open page signs in without a reload.
window.addEventListener('hashchange', () => {
  if (takeTokenFromUrl()) start();
});
// "Last used 3 minutes ago" must not stay "Just now" while the page is open.
setInterval(() => table.tick(), 30_000);

if (loadToken()) start();
else signIn.show();

async function start() {
  signIn.hide();
  byId('app').hidden = false;
  byId('sign-out').hidden = false;
  report(null);
  try {
    const data = await client.request(LIST_KEYS);
    setKeys(data.apiKeys);
  } catch (error) {
    report(error);
  }
}

/** Forget the session and everything shown with it, and ask for a token. */
function endSession(message) {
  clearToken();
  closeAllDialogs();
  table.forget();
  runPanel.clear();
  state.keys = [];
  table.render([]);
  byId('app').hidden = true;
  byId('sign-out').hidden = true;
  signIn.show(message);
}

function setKeys(keys) {
  state.keys = keys;
  renderLeaks(byId('leak-banners'), keys);
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
  showMessage(
    byId('limit-note'),
    keys.length >= limit
      ? `You have reached the limit of ${limit} API keys. Delete a key you no longer need to create a new one.`
      : '',
  );
}

async function update(key, changes) {
  report(null);
  try {
    const data = await client.request(UPDATE_KEY, { input: { id: key.id, ...changes } });
    replaceKey(unwrap(data.updateApiKey, 'ApiKey'));
    announce('Saved.');
  } catch (error) {
    report(error);
  }
}

async function secretOf(key) {
  const data = await client.request(KEY_SECRET, { id: key.id });
  if (!data.apiKey) throw new Error('This key no longer exists. Reload the page to see your keys.');
  return data.apiKey.key;
}

/** Show an error above the table; `null` clears it. A lost session has its own message. */
function report(error) {
  if (error?.code === 'UNAUTHENTICATED') return;
  showMessage(byId('keys-error'), error ? error.message : '');
}

/** A short confirmation, visible and read out by screen readers, that fades after a while. */
function announce(message) {
  const status = byId('keys-status');
  status.textContent = message;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    status.textContent = '';
  }, 6000);
}
