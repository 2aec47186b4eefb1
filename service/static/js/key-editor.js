// The key editor: a dialog with the whole name and room for a 500-character description. Opened
// by the row's Edit action, or by double-clicking (Enter, F2) the name or the description. A
// refused change keeps what was typed, with the server's message under the field.

import { formDialog } from './dialogs.js';

const DESCRIPTION_MAX = 500; // the server's limit (its refusal is the one that counts)

/**
 * `save(key, changes)` sends the changed fields (`{ name }`, `{ description }`, or both) and
 * throws the server's refusal; `saved(key, field)` runs after the dialog closed on a save.
 * Returns `open(key, field)`, `field` ("name" or "description") being the one to start in.
 */
export function createKeyEditor({ dialog, save, saved }) {
  const form = dialog.querySelector('form');
  const name = form.elements.namedItem('name');
  const description = form.elements.namedItem('description');
  const count = dialog.querySelector('[data-role="count"]');
  let savedField = null;

  function showCount() {
    const length = description.value.length;
    count.textContent = `${length} of ${DESCRIPTION_MAX} characters.`;
    count.classList.toggle('danger-text', length > DESCRIPTION_MAX);
  }
  description.addEventListener('input', showCount);

  const editor = formDialog(dialog, {
    prepare(_dialog, { key }) {
      savedField = null;
      name.value = key.name;
      description.value = key.description ?? '';
      showCount();
    },
    async submit(values, { key, field }) {
      const changes = {};
      if (values.get('name') !== key.name) changes.name = values.get('name');
      const text = values.get('description');
      // An empty description is no description: the API clears it with null.
      if (text !== (key.description ?? '')) changes.description = text.trim() ? text : null;
      if (Object.keys(changes).length > 0) await save(key, changes);
      savedField = field;
    },
  });

  dialog.addEventListener('close', () => {
    if (savedField === null) return;
    const [key, field] = [current, savedField];
    savedField = null;
    saved(key, field);
  });

  let current = null;
  return function open(key, field = 'name') {
    current = key;
    editor.open({ key, field });
    const start = field === 'description' ? description : name;
    start.focus();
    // The whole name selected, ready to be replaced; a description's caret at its end.
    if (start === name) name.select();
    else description.setSelectionRange(description.value.length, description.value.length);
  };
}
