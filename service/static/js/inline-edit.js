// Edit a table cell in place: an input (or a textarea) replaces the cell's content.
// Enter or leaving the field saves, Escape cancels; Shift+Enter is a new line in a textarea.

import { h } from './dom.js';

/**
 * Start editing `cell`. `onSave(value)` is awaited when the value changed and reports its own
 * failures. The cell then gets its old content back either way: on success the caller has
 * re-rendered the row with the saved value, on failure the old value is still the truth.
 * `refocus()` puts focus back after a keyboard save (the row may be a new element by then).
 */
export function editInPlace(cell, { value, label, multiline = false, onSave, refocus = () => cell.focus() }) {
  if (cell.querySelector('.inline-editor')) return; // already editing

  const original = [...cell.childNodes];
  const editor = multiline
    ? h('textarea', { class: 'inline-editor', rows: 3, 'aria-label': label })
    : h('input', { class: 'inline-editor', type: 'text', 'aria-label': label, autocomplete: 'off' });
  editor.value = value;
  cell.classList.add('editing');
  cell.replaceChildren(editor);
  editor.focus();
  editor.select();

  // Saving with Enter moves focus away, and that blur must not save a second time.
  let finished = false;

  function restore() {
    cell.classList.remove('editing');
    if (cell.contains(editor)) cell.replaceChildren(...original);
  }

  async function commit({ byKeyboard }) {
    if (finished) return;
    finished = true;
    if (editor.value !== value) {
      editor.readOnly = true;
      cell.setAttribute('aria-busy', 'true');
      try {
        await onSave(editor.value);
      } finally {
        cell.removeAttribute('aria-busy');
      }
    }
    restore();
    // After a blur the user has put focus somewhere else on purpose: leave it there.
    if (byKeyboard) refocus();
  }

  function cancel() {
    if (finished) return;
    finished = true;
    restore();
    cell.focus();
  }

  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      cancel();
    } else if (event.key === 'Enter' && !(multiline && event.shiftKey) && !event.isComposing) {
      event.preventDefault();
      commit({ byKeyboard: true });
    }
  });
  editor.addEventListener('blur', () => commit({ byKeyboard: false }));
}
