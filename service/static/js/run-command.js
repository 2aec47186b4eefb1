// The workflow editor's "Run command" panel: the command that runs a workflow with one of the
// user's keys, chosen among those that can run it (run-keys.js). The screen shows the masked
// command; Copy puts the real one in the clipboard.

import { copyText } from './clipboard.js';
import { flashText, showMessage } from './dom.js';
import { RUN_COMMAND, RUN_COMMAND_SECRET, USABLE_KEYS } from './documents.js';
import { createKeyChoice } from './run-keys.js';

const TYPING_DELAY_MS = 250;

/** `hint` says what to do while there is no workflow ID (the field starts empty); `keyNote`
 * says why the key choice changed by itself (run-keys.js). */
export function createRunCommandPanel({
  client,
  form,
  box,
  output,
  copyButton,
  error,
  hint,
  keyNote,
  announce,
}) {
  const workflowInput = form.elements.namedItem('workflowId');
  const keySelect = form.elements.namedItem('apiKeyId');
  const choice = createKeyChoice(keySelect, keyNote);
  // The variables of the command on screen: Copy asks for exactly that command, in full.
  let shown = null;
  // Answers can arrive out of order while the user types; only the latest request counts.
  let latestRequest = 0;
  let typingTimer = null;
  // The keys the API said can run a workflow, `{ workflowId, keys }`: asked again when the
  // workflow ID or the user's keys change, not when only the method or the key chosen does.
  let usable = null;
  let expiredWhenBuilt = '';

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
    const workflowId = workflowInput.value.trim();
    hint.hidden = Boolean(workflowId);
    if (!workflowId) {
      choice.offerAll();
      show({}); // nothing to show yet: the hint says what to do
      return;
    }
    output.setAttribute('aria-busy', 'true');
    try {
      if (usable?.workflowId !== workflowId) {
        const data = await client.request(USABLE_KEYS, { workflowId });
        if (request !== latestRequest) return;
        usable = { workflowId, keys: data.apiKeys };
      }
      choice.offerFor(workflowId, usable.keys);
      if (!keySelect.value) {
        show({}); // no key can run it: the key's note says so
        return;
      }
      const wanted = {
        workflowId,
        method: form.elements.namedItem('method').value,
        apiKeyId: keySelect.value,
      };
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

  /** The user's keys changed (or time passed): which can run the workflow is asked again. */
  function setKeys(keys) {
    choice.setKeys(keys);
    usable = null;
    expiredWhenBuilt = choice.expiredIds();
    refresh();
  }

  return {
    setKeys,
    /** Time passed: a key that expired meanwhile is marked, or no longer offered. */
    tick() {
      if (choice.expiredIds() !== expiredWhenBuilt) {
        usable = null;
        expiredWhenBuilt = choice.expiredIds();
        refresh();
      }
    },
    /** Signed out: forget the keys and the command. */
    clear() {
      latestRequest += 1;
      usable = null;
      expiredWhenBuilt = '';
      choice.clear();
      show({});
      workflowInput.value = '';
      hint.hidden = false;
    },
  };
}
