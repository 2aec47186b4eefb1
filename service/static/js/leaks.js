// Banners for keys a secret-scanning partner found in public: one per report not dismissed,
// above the table, each with what to do about it. A leaked key other than the default is revoked:
// its banner offers to delete it. The default key got a new secret at once: its banner offers to
// copy it and, once copied, to dismiss the warning (remembered by the server, for this report).
//
// The container is a polite live region. Banners are added and removed one by one, and a banner
// whose report is unchanged is left as it is, so each is announced once, not after every save.

import { h } from './dom.js';
import { formatDate } from './format.js';

/**
 * `actions`: remove(key), copyNewKey(key) (resolves once the key is in the clipboard),
 * dismiss(key), copied(key) -> whether the user has copied this key's current secret.
 * Returns `render(keys)`.
 */
export function createLeakBanners(container, actions) {
  // Banner elements by report: `${key id}@${reportedAt}`.
  const shown = new Map();

  function render(keys) {
    const wanted = new Map(
      keys.filter((key) => key.leak && !key.leak.dismissedAt).map((key) => [reportOf(key), key]),
    );
    for (const [report, entry] of shown) {
      if (!wanted.has(report)) {
        entry.element.remove();
        shown.delete(report);
      }
    }
    let previous = null;
    for (const [report, key] of wanted) {
      let entry = shown.get(report);
      if (!entry) {
        entry = banner(key);
        shown.set(report, entry);
      }
      entry.update(key);
      // In the table's order; an element already in place is not moved (nor announced again).
      const expected = previous ? previous.nextElementSibling : container.firstElementChild;
      if (expected !== entry.element) {
        if (previous) previous.after(entry.element);
        else container.prepend(entry.element);
      }
      previous = entry.element;
    }
  }

  function banner(key) {
    const message = h('p', { class: 'leak-message' });
    const buttons = h('div', { class: 'leak-actions' });
    const element = h(
      'div',
      { class: 'notice notice-error leak-banner', 'data-testid': 'leak-banner', 'data-key-id': key.id },
      message,
      buttons,
    );
    let current = key;
    let said = '';

    function update(newer) {
      current = newer;
      const text = sentence(newer);
      const changed = text.key !== said;
      // Only what changed is rewritten: a live region reads out every change.
      if (changed) {
        message.replaceChildren(...text.nodes);
        said = text.key;
      }
      const wanted = current.isDefault
        ? actions.copied(current)
          ? ['copy', 'dismiss']
          : ['copy']
        : ['delete'];
      const have = [...buttons.children].map((button) => button.dataset.action);
      if (changed || wanted.join() !== have.join()) buttons.replaceChildren(...wanted.map(button));
    }

    function button(action) {
      const spec = {
        delete: ['Delete key', 'btn btn-danger btn-small', () => actions.remove(current)],
        copy: ['Copy the new key', 'btn btn-secondary btn-small', copyNew],
        dismiss: ['Dismiss', 'btn btn-secondary btn-small', () => actions.dismiss(current)],
      }[action];
      const [label, classes, run] = spec;
      const element = h(
        'button',
        { type: 'button', class: classes, 'data-action': action, 'aria-label': `${label}: ${current.name}` },
        label,
      );
      element.addEventListener('click', run);
      return element;
    }

    async function copyNew(event) {
      if (await actions.copyNewKey(current, event.currentTarget)) {
        update(current);
        buttons.querySelector('[data-action="dismiss"]')?.focus();
      }
    }

    return { element, update };
  }

  return { render };
}

function reportOf(key) {
  return `${key.id}@${key.leak.reportedAt}`;
}

/** A link to where the key was found, if it is a web address; else the text as it is. */
function place(url) {
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // not an absolute URL: shown as text
  }
  if (protocol !== 'https:' && protocol !== 'http:') return url;
  return h('a', { href: url, rel: 'noopener noreferrer', target: '_blank' }, url);
}

function sentence(key) {
  const { url, reportedAt } = key.leak;
  const what = key.isDefault
    ? '. We gave your default key a new secret: copy it and update the workflows and scripts that use it.'
    : ' and has been revoked: it no longer works. Delete it, and create a new key if you need one.';
  return {
    key: `${key.name}\n${url}\n${reportedAt}\n${key.isDefault}`,
    nodes: [
      `Your key '${key.name}' was found in public`,
      ...(url ? [' at ', place(url)] : []),
      ' on ',
      h('time', { datetime: reportedAt }, formatDate(reportedAt)),
      what,
    ],
  };
}
