// The page's one notice: a short confirmation or a failure, at the bottom of the window so it is
// in view wherever the page is scrolled. A new notice replaces the one shown, so a success never
// stands beside a stale error.

import { showMessage } from './dom.js';

const CONFIRMATION_MS = 6000;

/**
 * `status` is a role="status" element (confirmations, read out politely), `alert` a role="alert"
 * one inside `errorBox` (failures, which stay until replaced or dismissed with `closeButton`).
 */
export function createNotice({ status, alert, errorBox, closeButton }) {
  let timer = null;

  function clear() {
    clearTimeout(timer);
    status.textContent = '';
    showMessage(alert, '');
    errorBox.hidden = true;
  }

  closeButton.addEventListener('click', clear);

  return {
    /** A confirmation, visible and read out, that fades after a while. */
    success(message) {
      clear();
      status.textContent = message;
      timer = setTimeout(() => {
        status.textContent = '';
      }, CONFIRMATION_MS);
    },
    /** A failure the user should read; `null` (or a lost session, which has its own box)
     * clears the notice. */
    error(failure) {
      clear();
      if (!failure || failure.code === 'UNAUTHENTICATED') return;
      showMessage(alert, failure.message ?? String(failure));
      errorBox.hidden = false;
    },
    clear,
  };
}
