// The Restrict dialog: the workflows a key may run and the networks it may be used from, each
// "all" or a list, one entry per line. An unrestricted key's workflows are filled in with those
// that used it in the last 30 days; a restricted key's lists are its own, with what used it and
// is not listed offered to add. Saving something that would cut off what used the key lately
// says so by name first, and saves only once the user confirms.

import { unwrap } from './api.js';
import { formDialog } from './dialogs.js';
import { KEY_SCOPE_DETAILS, UPDATE_KEY } from './documents.js';
import { h } from './dom.js';
import { allowedEntryFor, parseNetwork, within } from './networks.js';
import { cutOff, cutsOffAnything, warningOf } from './scope-warning.js';

const SUGGESTION_DAYS = 30; // KEY_SCOPE_DETAILS asks for suggestedWorkflowIds(days: 30)

/** A list's lines, trimmed, blank ones left out: what the user means by one entry per line. */
export function entriesOf(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * `knownScope(id)` is the key's scope as the table has it (undefined when not loaded);
 * `saved(key)` is told of the key as the API answered the change, once the dialog has closed.
 * Returns `open(key)`.
 */
export function createRestrictDialog({ dialog, client, knownScope, saved }) {
  const form = dialog.querySelector('form');
  const keyName = dialog.querySelector('[data-role="key-name"]');
  const warning = dialog.querySelector('[data-role="warning"]');
  const submitButton = form.querySelector('[type="submit"]');
  const workflows = scopeList('workflowScope', 'workflowIds', 'workflows');
  const networks = scopeList('networkScope', 'allowedAddresses', 'networks');

  let latest = 0; // only the look-up for the key shown counts
  // The key's scope and recent use, as KEY_SCOPE_DETAILS answers: a promise, and once answered,
  // the answer (null: it could not be looked up; undefined: not yet).
  let details = Promise.resolve(null);
  let recent;
  let touched = false; // the user changed something: what arrives later fills in nothing
  let prefilled = false; // the workflows were filled in from the suggestions
  let confirmed = null; // the scope whose warning the user has seen (saving it again confirms)
  let savedKey = null; // the key as the API answered the change, told once the dialog is closed

  function scopeList(choiceName, fieldName, role) {
    return {
      choice: () => form.elements.namedItem(choiceName),
      field: form.elements.namedItem(fieldName),
      box: dialog.querySelector(`[data-role="${role}-list"]`),
      suggestions: dialog.querySelector(`[data-role="${role}-suggestions"]`),
    };
  }

  /** The list as it would be sent: null for "all" (the API lifts the restriction). */
  function chosen(list) {
    return list.choice().value === 'only' ? entriesOf(list.field.value) : null;
  }

  function setList(list, entries) {
    list.choice().value = entries == null ? 'all' : 'only';
    list.field.value = entries == null ? '' : entries.join('\n');
  }

  function fill(scope, suggested) {
    prefilled = scope.workflowIds == null && suggested.length > 0;
    setList(workflows, scope.workflowIds ?? (prefilled ? suggested : null));
    setList(networks, scope.allowedAddresses);
    showLists();
  }

  function showLists() {
    for (const list of [workflows, networks]) list.box.hidden = list.choice().value !== 'only';
  }

  async function lookUp(key) {
    const request = (latest += 1);
    recent = undefined;
    showSuggestions();
    let found = null;
    try {
      const data = await client.request(KEY_SCOPE_DETAILS, { id: key.id });
      found = data.apiKey; // null: deleted meanwhile (saving will say so)
    } catch {
      // What went wrong is for the save to say, if it fails too; here, only that nothing is known.
    }
    if (request !== latest) return null;
    recent = found;
    if (found && !touched) fill(found, found.suggestedWorkflowIds);
    showSuggestions();
    return found;
  }

  /** Under each list: what used the key and is not in it, to add with a click. */
  function showSuggestions() {
    for (const list of [workflows, networks]) {
      if (recent === undefined) list.suggestions.setAttribute('aria-busy', 'true');
      else list.suggestions.removeAttribute('aria-busy');
    }
    if (recent === undefined) {
      const checking = `Checking which workflows used this key in the last ${SUGGESTION_DAYS} days…`;
      workflows.suggestions.replaceChildren(h('p', { class: 'hint' }, checking));
      networks.suggestions.replaceChildren();
      return;
    }
    if (recent === null) {
      workflows.suggestions.replaceChildren(
        h('p', { class: 'hint' }, 'Could not check which workflows used this key.'),
      );
      networks.suggestions.replaceChildren();
      return;
    }
    const listed = entriesOf(workflows.field.value);
    const suggested = recent.suggestedWorkflowIds;
    const missing = suggested.filter((id) => !listed.includes(id));
    const days = `in the last ${SUGGESTION_DAYS} days`;
    let text = `Also used ${days}:`;
    if (suggested.length === 0) text = `No workflow used this key ${days}.`;
    else if (missing.length === 0 && prefilled && !touched) {
      text = `Filled in with the workflows that used this key ${days}.`;
    } else if (missing.length === 0) text = `Every workflow that used this key ${days} is listed.`;
    workflows.suggestions.replaceChildren(
      h('p', { class: 'hint' }, text),
      ...chips(workflows, missing),
    );

    const address = recent.lastUsedFrom?.clientAddress;
    const entry = allowedEntryFor(address);
    const allowed = entriesOf(networks.field.value).map(parseNetwork).filter(Boolean);
    networks.suggestions.replaceChildren(
      ...(entry && !within(address, allowed)
        ? [h('p', { class: 'hint' }, 'Last used from:'), ...chips(networks, [entry])]
        : []),
    );
  }

  /** A button per entry, as a list of nodes (none for no entries). */
  function chips(list, entries) {
    if (entries.length === 0) return [];
    const buttons = entries.map((entry) => {
      const button = h(
        'button',
        { type: 'button', class: 'chip', 'aria-label': `Add ${entry}` },
        h('span', { 'aria-hidden': 'true' }, '+'),
        entry,
      );
      button.addEventListener('click', () => add(list, entry, button));
      return button;
    });
    return [h('div', { class: 'chips' }, ...buttons)];
  }

  function add(list, entry, button) {
    const neighbour = button.nextElementSibling ?? button.previousElementSibling;
    const label = neighbour?.getAttribute('aria-label');
    const text = list.field.value.replace(/\s+$/, '');
    list.field.value = text ? `${text}\n${entry}` : entry;
    list.field.dispatchEvent(new Event('input', { bubbles: true }));
    // Listed, the entry's button is gone (the suggestions are drawn again): focus goes to its
    // neighbour's new button, or to the list.
    const buttons = [...list.suggestions.querySelectorAll('.chip')];
    (buttons.find((other) => other.getAttribute('aria-label') === label) ?? list.field).focus();
  }

  function resetConfirmation() {
    confirmed = null;
    warning.replaceChildren();
    submitButton.textContent = 'Save';
    submitButton.classList.replace('btn-danger', 'btn-primary');
  }

  function askToConfirm(cut, signature) {
    confirmed = signature;
    warning.replaceChildren(warningOf(cut));
    warning.scrollIntoView({ block: 'nearest' });
    submitButton.textContent = 'Save anyway';
    submitButton.classList.replace('btn-primary', 'btn-danger');
  }

  // Any change makes the warning shown stale: it is worked out again at the next Save.
  form.addEventListener('input', () => {
    touched = true;
    showLists();
    resetConfirmation();
    showSuggestions();
  });
  // Told after the dialog has closed, so that focus can go to the key's (new) row.
  dialog.addEventListener('close', () => {
    latest += 1;
    if (savedKey === null) return;
    const key = savedKey;
    savedKey = null;
    saved(key);
  });

  const restrict = formDialog(dialog, {
    prepare(_dialog, key) {
      keyName.textContent = `“${key.name}”`;
      touched = false;
      resetConfirmation();
      fill(knownScope(key.id) ?? { workflowIds: null, allowedAddresses: null }, []);
      details = lookUp(key);
    },
    async submit(_values, key) {
      // What is saved is what the user saw when they clicked: a look-up answering meanwhile
      // fills in nothing.
      touched = true;
      const scope = { workflowIds: chosen(workflows), allowedAddresses: chosen(networks) };
      const signature = JSON.stringify(scope);
      if (signature !== confirmed) {
        const known = await details;
        const narrowed = scope.workflowIds !== null || scope.allowedAddresses !== null;
        const cut = known ? cutOff(scope, known) : null;
        if (cut ? cutsOffAnything(cut) : narrowed) {
          askToConfirm(cut, signature);
          return false;
        }
      }
      const data = await client.request(UPDATE_KEY, { input: { id: key.id, ...scope } });
      savedKey = unwrap(data.updateApiKey, 'ApiKey');
      return true;
    },
  });

  return function open(key) {
    restrict.open(key);
    // Where the user starts: the workflows' choice.
    form.querySelector('input[name="workflowScope"]:checked')?.focus();
  };
}
