// "Copy your new key": right after a key is created or rotated, its full secret, selected, with
// Copy and Done. That is the moment its owner needs it (the page can reveal it again later).

import { copyText } from './clipboard.js';
import { flashText, showMessage } from './dom.js';

/**
 * `secretOf(key)` fetches the full key (recorded as a reveal, like Reveal); `copied(key)` is told
 * when it went to the clipboard; `done(key)` runs when the dialog closes.
 */
export function createNewKeyStep({ dialog, secretOf, copied, done }) {
  const text = dialog.querySelector('[data-role="text"]');
  const value = dialog.querySelector('#new-key-value');
  const copyButton = dialog.querySelector('[data-role="copy"]');
  const status = dialog.querySelector('[data-role="status"]');
  const error = dialog.querySelector('[data-role="error"]');
  let current = null;

  dialog.querySelector('[data-role="done"]').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    // The secret leaves the page with the dialog.
    value.value = '';
    value.removeAttribute('data-secret');
    const key = current;
    current = null;
    if (key) done(key);
  });
  // A click in the field selects the whole key again (one tap on a phone).
  value.addEventListener('focus', () => value.select());

  copyButton.addEventListener('click', async () => {
    if (!current || !value.value) return;
    try {
      await copyText(value.value, copyButton);
      flashText(copyButton, 'Copied');
      status.textContent = 'Copied to the clipboard.';
      copied(current);
    } catch (failure) {
      showMessage(error, failure.message);
    }
  });

  /** Show the step for `key`; `how` says what just happened ("created", "rotated"). */
  async function open(key, how) {
    current = key;
    status.textContent = '';
    showMessage(error, '');
    value.value = '';
    text.textContent =
      how === 'rotated'
        ? `“${key.name}” has a new secret. Copy it now and put it wherever the old one was used.`
        : `“${key.name}” is ready. Copy it now and keep it somewhere safe, like a password.`;
    copyButton.disabled = true;
    dialog.showModal();
    try {
      const secret = await secretOf(key);
      if (current !== key) return; // closed meanwhile
      value.value = secret;
      value.setAttribute('data-secret', ''); // painted over in failure screenshots
      copyButton.disabled = false;
      value.focus();
      value.select();
    } catch (failure) {
      if (current !== key) return;
      showMessage(error, `Could not show the new key: ${failure.message} Use Reveal in the list.`);
      dialog.querySelector('[data-role="done"]').focus();
    }
  }

  return { open };
}
