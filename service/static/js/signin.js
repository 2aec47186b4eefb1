// The sign-in box: shown when there is no session token, or when the API refused ours.

import { showMessage } from './dom.js';

export function createSignIn({ section, form, message, onToken }) {
  const input = form.elements.namedItem('token');

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Tolerate a pasted "Bearer <token>" or surrounding whitespace.
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!token) {
      showMessage(message, 'Paste your session token first.');
      input.focus();
      return;
    }
    input.value = ''; // do not leave the token in the form
    section.hidden = true;
    onToken(token);
  });

  return {
    show(text = '') {
      showMessage(message, text);
      section.hidden = false;
      input.focus();
    },
    hide() {
      section.hidden = true;
      showMessage(message, '');
    },
  };
}
