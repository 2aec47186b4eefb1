// The run panel's key choice. With no workflow named it offers every key that is not revoked
// (expired ones marked); for a named workflow, only the keys the server says can run it. The key
// the user picked stays picked whenever it is offered: typing a workflow ID asks at each pause,
// and a key left out for "daily-rep" must come back for "daily-report".

import { h } from './dom.js';
import { isExpired } from './format.js';

function label(key, expired = false) {
  return `${key.name}${key.isDefault ? ' (default)' : ''} · ${key.maskedKey}${expired ? ' · expired' : ''}`;
}

/** `select` is the <select>; `note` a live region under it, saying why the choice changed by
 * itself. */
export function createKeyChoice(select, note) {
  let keys = []; // the user's keys, as the page lists them
  let preferred = null; // the id of the key the user picked last

  select.addEventListener('change', () => {
    preferred = select.value || null;
  });

  function nameOf(id) {
    return keys.find((key) => key.id === id)?.name;
  }

  /** Revoked keys are left out: they no longer run anything. Expired keys are offered, marked:
   * chosen, the panel says what the server says of them. */
  function offerAll() {
    const offered = keys.filter((key) => !key.revokedAt);
    const usable = offered.filter((key) => !isExpired(key.expiresAt));
    const fallback = usable.find((key) => key.isDefault) ?? usable[0] ?? offered[0];
    select.disabled = false;
    select.replaceChildren(
      ...offered.map((key) => {
        const expired = isExpired(key.expiresAt);
        return h('option', { value: key.id, class: expired ? 'expired' : null }, label(key, expired));
      }),
    );
    select.value = offered.some((key) => key.id === preferred) ? preferred : (fallback?.id ?? '');
    note.textContent = '';
  }

  /** Only `usable` (the API's answer for `workflowId`: default first) are offered. */
  function offerFor(workflowId, usable) {
    if (usable.length === 0) {
      select.replaceChildren(h('option', { value: '' }, 'No key can run this workflow'));
      select.value = '';
      select.disabled = true;
      note.textContent =
        `None of your keys can run “${workflowId}”. Add it to a key's workflows with Restrict,` +
        ' or create a new key.';
      return;
    }
    select.disabled = false;
    select.replaceChildren(...usable.map((key) => h('option', { value: key.id }, label(key))));
    const kept = usable.some((key) => key.id === preferred);
    const chosen = kept ? preferred : (usable.find((key) => key.isDefault) ?? usable[0]).id;
    select.value = chosen;
    const left = preferred && !kept ? nameOf(preferred) : undefined;
    const instead = usable.find((key) => key.id === chosen).name;
    note.textContent =
      left === undefined ? '' : `“${left}” cannot run “${workflowId}”, so “${instead}” is chosen.`;
  }

  return {
    offerAll,
    offerFor,
    /** The user's keys changed (listed, created, renamed, restricted, deleted). */
    setKeys(allKeys) {
      keys = allKeys;
      if (preferred && !keys.some((key) => key.id === preferred)) preferred = null;
    },
    /** Which of the user's keys have expired by now (the panel redraws when this changes). */
    expiredIds: () =>
      keys
        .filter((key) => !key.revokedAt && isExpired(key.expiresAt))
        .map((key) => key.id)
        .join(' '),
    clear() {
      keys = [];
      preferred = null;
      select.replaceChildren();
      select.disabled = false;
      note.textContent = '';
    },
  };
}
