// The rotate and delete dialogs. Their words follow the key's state (a leaked default key, a
// revoked or expired key), and both name the workflows that used the key in the last 7 days,
// asked for as they open; they can be confirmed or cancelled meanwhile.

import { unwrap } from './api.js';
import { formDialog } from './dialogs.js';
import { DELETE_KEY, ROTATE_KEY } from './documents.js';
import { formatDate, isExpired } from './format.js';
import {
  cancelRecentWorkflows,
  dropRecentWorkflowsFailure,
  RECENT_DAYS,
  showRecentWorkflows,
} from './usage.js';

const DAY_MS = 24 * 3600 * 1000;
// The grace period offered first when the key is in use: a day to move its workflows over.
const GRACE_IN_USE = '86400';

function workflowsIn(dialog) {
  return dialog.querySelector('[data-role="workflows"]');
}

function usedRecently(key) {
  return Boolean(key.lastUsedAt) && Date.now() - new Date(key.lastUsedAt).getTime() < RECENT_DAYS * DAY_MS;
}

/**
 * `rotated(before, after, graceSeconds)` and `deleted(key)` are told of what the API did.
 * Returns `{ rotate(key), remove(key) }`, which open the dialogs.
 */
export function createKeyDialogs({ rotateDialog, deleteDialog, client, rotated, deleted }) {
  for (const dialog of [rotateDialog, deleteDialog]) {
    dialog.addEventListener('close', () => cancelRecentWorkflows(workflowsIn(dialog)));
  }

  const grace = rotateDialog.querySelector('select[name="expireOldKeyInSeconds"]');
  const graceHint = rotateDialog.querySelector('[data-role="grace-hint"]');
  let graceChosen = false; // the user picked a grace period: what arrives later does not change it
  grace.addEventListener('change', () => {
    graceChosen = true;
  });

  /** In use in the last 7 days: its workflows get time to move to the new secret. */
  function offerGrace() {
    if (graceChosen) return;
    grace.value = GRACE_IN_USE;
    graceHint.textContent = `Used in the last ${RECENT_DAYS} days: the old key keeps working for a day, so its workflows can move to the new one.`;
  }

  const rotate = formDialog(rotateDialog, {
    prepare(dialog, key) {
      dialog.querySelector('[data-role="explanation"]').textContent = key.leak
        ? 'This key already got a new secret when it was found in public. Rotating gives it' +
          ' another one and clears the leak report: the workflows you updated since will' +
          ' need the newest secret.'
        : 'The key gets a new secret. Workflows and scripts using the old one must be updated.';
      graceChosen = false;
      grace.value = '0';
      graceHint.textContent = '';
      if (usedRecently(key)) offerGrace();
      showRecentWorkflows(workflowsIn(dialog), client, key, {
        warning: 'and must move to the new secret before the old one stops working',
        onFound: (uses) => {
          if (uses.length > 0) offerGrace();
        },
      });
    },
    async submit(form, key) {
      const seconds = Number(form.get('expireOldKeyInSeconds'));
      const data = await client.request(ROTATE_KEY, {
        input: { id: key.id, expireOldKeyInSeconds: seconds },
      });
      rotated(key, unwrap(data.rotateApiKey, 'ApiKey'), seconds);
    },
    onFailure: () => dropRecentWorkflowsFailure(workflowsIn(rotateDialog)),
  });

  const remove = formDialog(deleteDialog, {
    prepare(dialog, key) {
      const name = `“${key.name}”`;
      let explanation = `${name} stops working at once. This cannot be undone.`;
      let warning = 'and will fail until they use another key';
      if (key.revokedAt) {
        explanation = `${name} was revoked when it was found in public: it already does not work. Deleting it removes it from your keys. This cannot be undone.`;
        warning = 'and have failed since it was revoked: they need another key';
      } else if (isExpired(key.expiresAt)) {
        explanation = `${name} expired on ${formatDate(key.expiresAt)}: it already does not work. Deleting it removes it from your keys. This cannot be undone.`;
        warning = 'and have failed since it expired: they need another key';
      }
      dialog.querySelector('[data-role="explanation"]').textContent = explanation;
      showRecentWorkflows(workflowsIn(dialog), client, key, { warning });
    },
    async submit(_form, key) {
      const data = await client.request(DELETE_KEY, { input: { id: key.id } });
      unwrap(data.deleteApiKey, 'DeletedApiKey');
      deleted(key);
    },
    onFailure: () => dropRecentWorkflowsFailure(workflowsIn(deleteDialog)),
  });

  return { rotate: rotate.open, remove: remove.open };
}
