// Modal form dialogs (<dialog>): the action runs while the dialog stays open, so a refusal
// (name taken, limit reached) is shown right where the user can fix it.

import { showMessage } from './dom.js';

/**
 * Wire up a <dialog> holding a <form> with a submit button, a [data-role=cancel] button and a
 * [data-role=error] alert (with an id). `submit(formData, subject)` is awaited: the dialog closes
 * when it resolves (unless it resolves to `false`: a step of its own, such as a warning to
 * confirm, keeps it open), and shows the message when it throws. A refusal that names a field is
 * shown under that field (its [data-error-for=<name>] element, if it has one), which is marked
 * invalid and focused, what the user typed kept; any other failure goes to the dialog's error.
 * `prepare(dialog, subject)` runs before the dialog opens, `onFailure(failure)` after a refusal
 * is shown. Returns `open(subject)`, `subject` being whatever the action is about (e.g. the key).
 */
export function formDialog(dialog, { prepare = () => {}, submit, onFailure = () => {} }) {
  const form = dialog.querySelector('form');
  const error = dialog.querySelector('[data-role="error"]');
  const submitButton = form.querySelector('[type="submit"]');
  let subject = null;

  dialog.querySelector('[data-role="cancel"]').addEventListener('click', () => dialog.close());

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submitButton.disabled) return; // a double click sends once
    submitButton.disabled = true;
    dialog.setAttribute('aria-busy', 'true');
    clearErrors();
    try {
      const done = await submit(new FormData(form), subject);
      if (done !== false) dialog.close();
    } catch (failure) {
      showFailure(failure);
      onFailure(failure);
    } finally {
      submitButton.disabled = false;
      dialog.removeAttribute('aria-busy');
    }
  });

  function showFailure(failure) {
    const field = failure.field ? form.elements.namedItem(failure.field) : null;
    const fieldError = failure.field
      ? form.querySelector(`[data-error-for="${CSS.escape(failure.field)}"]`)
      : null;
    const where = field && fieldError ? fieldError : error;
    showMessage(where, failure.message);
    if (!field) return;
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-errormessage', where.id);
    field.focus();
  }

  function clearErrors() {
    showMessage(error, '');
    for (const fieldError of form.querySelectorAll('[data-error-for]')) showMessage(fieldError, '');
    for (const field of form.querySelectorAll('[aria-invalid]')) {
      field.removeAttribute('aria-invalid');
      field.removeAttribute('aria-errormessage');
    }
  }

  return {
    open(newSubject = null) {
      subject = newSubject;
      form.reset();
      clearErrors();
      prepare(dialog, subject);
      dialog.showModal();
    },
  };
}

/** Close every open dialog (the session ended: the sign-in box must be reachable). */
export function closeAllDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
}
