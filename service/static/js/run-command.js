// The workflow editor's "Run command" panel: the command that runs a workflow with one of the
// user's keys. The screen shows the masked command; Copy puts the real one in the clipboard.

import { copyText } from './clipboard.js';
import { flashText, h, showMessage } from './dom.js';
import { RUN_COMMAND, RUN_COMMAND_SECRET } from './documents.js';
import { isExpired } from './format.js';

const TYPING_DELAY_MS = 250;

/** `hint` says what to do while there is no workflow ID (the field starts empty). */
export function createRunCommandPanel({ client, form, box, output, copyButton, error, hint, announce }) {
  const workflowInput = form.elements.namedItem('workflowId');
  const keySelect = form.elements.namedItem('apiKeyId');
  // The variables of the command on screen: Copy asks for exactly that command, in full.
  let shown = null;
  // Answers can arrive out of order while the user types; only the latest request counts.
  let latestRequest = 0;
  let typingTimer = null;
  // The keys offered, and which of them had expired when the choice was built.
  let offered = [];
  let expiredWhenBuilt = '';

  function variables() {
    return {
      workflowId: workflowInput.value.trim(),
      method: form.elements.namedItem('method').value,
      apiKeyId: keySelect.value || null,
    };
  }

  function show({ masked = null, shownFor = null, failure = '' }) {
    output.textContent = masked ?? '';
    box.hidden = masked === null;
    shown = shownFor;
    copyButton.disabled = shownFor === null;
    showMessage(error, failure);
  }

  async function refresh() {
    clearTimeout(typingTimer);
    const request = (latestRequest += 1);
    const wanted = variables();
    hint.hidden = Boolean(wanted.workflowId);
    if (!wanted.workflowId) {
      show({}); // nothing to show yet: the hint says what to do
      return;
    }
    if (!wanted.apiKeyId) return; // the keys are not loaded yet
    output.setAttribute('aria-busy', 'true');
    try {
      const data = await client.request(RUN_COMMAND, wanted);
      if (request !== latestRequest) return;
      show({ masked: data.workflowRunCommand.maskedCommand, shownFor: wanted });
    } catch (failure) {
      if (request !== latestRequest) return;
      // The rest of the page does not depend on this panel: say what went wrong, here only.
      show({ failure: `Could not build the run command: ${failure.message}` });
    } finally {
      if (request === latestRequest) output.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', (event) => event.preventDefault());
  workflowInput.addEventListener('input', () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(refresh, TYPING_DELAY_MS);
  });
  form.addEventListener('change', (event) => {
    if (event.target !== workflowInput) refresh();
  });

  copyButton.addEventListener('click', async () => {
    if (shown === null) return;
    try {
      const data = await client.request(RUN_COMMAND_SECRET, shown);
      await copyText(data.workflowRunCommand.command, copyButton);
      flashText(copyButton, 'Copied');
      announce('Command copied to the clipboard.');
    } catch (failure) {
      showMessage(error, `Could not copy the run command: ${failure.message}`);
    }
  });

  function option(key) {
    const expired = isExpired(key.expiresAt);
    return h(
      'option',
      { value: key.id, class: expired ? 'expired' : null },
      `${key.name}${key.isDefault ? ' (default)' : ''} · ${key.maskedKey}${expired ? ' · expired' : ''}`,
    );
  }

  function expiredIds(keys) {
    return keys
      .filter((key) => isExpired(key.expiresAt))
      .map((key) => key.id)
      .join(' ');
  }

  /** The user's keys changed: rebuild the choice (keeping the selection) and the command.
   * Revoked keys are left out: they no longer run anything. Expired keys are offered, marked:
   * chosen, the panel says what the server says of them. */
  function setKeys(allKeys) {
    const keys = allKeys.filter((key) => !key.revokedAt);
    offered = keys;
    expiredWhenBuilt = expiredIds(keys);
    const usable = keys.filter((key) => !isExpired(key.expiresAt));
    const selected = keys.some((key) => key.id === keySelect.value)
      ? keySelect.value
      : (usable.find((key) => key.isDefault)?.id ?? usable[0]?.id ?? keys[0]?.id ?? '');
    keySelect.replaceChildren(...keys.map(option));
    keySelect.value = selected;
    refresh();
  }

  return {
    setKeys,
    /** Time passed: a key that expired meanwhile is marked (and, if chosen, refused). */
    tick() {
      if (expiredIds(offered) !== expiredWhenBuilt) setKeys(offered);
    },
    /** Signed out: forget the keys and the command. */
    clear() {
      latestRequest += 1;
      offered = [];
      expiredWhenBuilt = '';
      keySelect.replaceChildren();
      show({});
      workflowInput.value = '';
      hint.hidden = false;
    },
  };
}
