// The Settings -> API Keys page: wires the session, the API, the table, the dialogs and the
// run-command panel together. All state the page shows is `state.keys`, as the API last said.

import { createClient, unwrap, UserError } from './api.js';
import { closeAllDialogs, formDialog } from './dialogs.js';
import {
  CREATE_KEY,
  DELETE_KEY,
  KEY_SECRET,
  KEY_USAGE,
  LIST_KEYS,
  ROTATE_KEY,
  UPDATE_KEY,
} from './documents.js';
import { showMessage } from './dom.js';
import { createKeysTable } from './keys-table.js';
import { renderLeaks } from './leaks.js';
import { createRunCommandPanel } from './run-command.js';
import { clearToken, loadToken, saveToken, takeTokenFromUrl } from './session.js';
import { createSignIn } from './signin.js';
import { cancelRecentWorkflows, createUsageDialog, showRecentWorkflows } from './usage.js';

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

const DAY_MS = 24 * 3600 * 1000;
// The server refuses expiries more than 366 days ahead: the date picker offers days up to 365
// days ahead, whose end (in the reader's time zone) is within that.
const MAX_EXPIRY_DAYS = 365;

const byId = (id) => document.getElementById(id);

// Before anything else: the token must not stay in the address bar (or reach history).
takeTokenFromUrl();

const state = { keys: [], limit: DEFAULT_KEY_LIMIT };
let statusTimer = null;
// Bumped when a session starts or ends: answers that arrive for another one are dropped.
let session = 0;

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
  usage: (key) => usageDialog.open(key),
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

const usageDialog = createUsageDialog({
  dialog: byId('usage-dialog'),
  client,
  onUsage: (id, days) => table.setUsage(new Map([[id, days]])),
});

const createForm = byId('create-dialog').querySelector('form');
const expiryDateField = byId('create-expires-at-field');
const expiryDate = byId('create-expires-at');
byId('create-expiry').addEventListener('change', showExpiryDate);

/** The date field is there only when "On a date" is chosen; its picker offers the days the
 * server accepts (a hint: the server's rule and message are the ones that count). */
function showExpiryDate() {
  expiryDateField.hidden = createForm.elements.namedItem('expiry').value !== 'date';
  expiryDate.min = localDay(Date.now());
  expiryDate.max = localDay(Date.now() + MAX_EXPIRY_DAYS * DAY_MS);
}

/** "2026-12-05": the reader's day at `time`, as an <input type="date"> holds it. */
function localDay(time) {
  const date = new Date(time);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The create form's expiry as the API takes it: null (never), or an ISO time. A date not
 * picked is refused here, as the server would refuse a missing name: there is nothing to send. */
function expiryOf(form) {
  const choice = form.get('expiry');
  if (choice === 'date') {
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(form.get('expiresAt') ?? '');
    if (!day) {
      throw new UserError({
        code: 'VALIDATION_FAILED',
        message: 'Choose the day the key stops working.',
        field: 'expiresAt',
      });
    }
    // The end of that day in the reader's time zone (not midnight UTC): a key "expiring on
    // 5 December" works all of 5 December where its owner is, and stops as it ends.
    const [, year, month, date] = day.map(Number);
    return new Date(year, month - 1, date, 23, 59, 59).toISOString();
  }
  if (choice === 'never') return null;
  return new Date(Date.now() + Number(choice) * DAY_MS).toISOString(); // "7", "30" or "90" days
}

const createDialog = formDialog(byId('create-dialog'), {
  prepare: showExpiryDate,
  async submit(form) {
    const description = form.get('description');
    const data = await client.request(CREATE_KEY, {
      input: {
        name: form.get('name'),
        description: description.trim() ? description : null,
        expiresAt: expiryOf(form),
      },
    });
    let key;
    try {
      key = unwrap(data.createApiKey, 'ApiKey');
    } catch (refusal) {
      if (refusal.limit) {
        state.limit = refusal.limit;
        renderCount();
      }
      // The date field is named `expiresAt`, and marked when the server refuses the date. A
      // refused 7, 30 or 90 days (only a browser clock far off could cause it) is a radio
      // group's: the message alone says it.
      if (refusal.field === 'expiresAt' && form.get('expiry') !== 'date') refusal.field = null;
      throw refusal;
    }
    table.setUsage(new Map([[key.id, []]])); // a new key: no uses yet
    setKeys([...state.keys, key]);
    announce(`API key “${key.name}” created.`);
  },
});

// The rotate and delete dialogs name the workflows that would fail, asked for as they open;
// they can be confirmed or cancelled meanwhile.
for (const dialog of [byId('rotate-dialog'), byId('delete-dialog')]) {
  dialog.addEventListener('close', () => cancelRecentWorkflows(recentWorkflowsIn(dialog)));
}

function recentWorkflowsIn(dialog) {
  return dialog.querySelector('[data-role="workflows"]');
}

const rotateDialog = formDialog(byId('rotate-dialog'), {
  prepare(dialog, key) {
    showRecentWorkflows(recentWorkflowsIn(dialog), client, key);
  },
  async submit(form, key) {
    const seconds = Number(form.get('expireOldKeyInSeconds'));
    const data = await client.request(ROTATE_KEY, { input: { id: key.id, expireOldKeyInSeconds: seconds } });
    const rotated = unwrap(data.rotateApiKey, 'ApiKey');
    table.forget(key.id, { secretOnly: true }); // a revealed secret is the old one now
    replaceKey(rotated);
    announce(`Key “${rotated.name}” rotated. The old key ${GRACE[seconds] ?? 'expires later'}.`);
  },
});

const deleteDialog = formDialog(byId('delete-dialog'), {
  prepare(dialog, key) {
    dialog.querySelector('[data-role="key-name"]').textContent = `“${key.name}”`;
    showRecentWorkflows(recentWorkflowsIn(dialog), client, key);
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
  report(null);
  try {
    const data = await client.request(LIST_KEYS);
    setKeys(data.apiKeys);
  } catch (error) {
    report(error);
    return;
  }
  loadUsage(current);
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

/** Forget the session and everything shown with it, and ask for a token. */
function endSession(message) {
  session += 1;
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
