// The keys table: one row per key, with reveal/copy, in-place editing and a row menu.
// The table only renders and reports what the user asked for; the caller talks to the API.

import { copyText } from './clipboard.js';
import { flashText, h } from './dom.js';
import { formatDate, formatRelative } from './format.js';
import { editInPlace } from './inline-edit.js';

/**
 * `actions` are the caller's: rename(key, name), describe(key, description), rotate(key),
 * remove(key), secretOf(key) -> full key, report(error), announce(message).
 */
export function createKeysTable(tbody, actions) {
  // Full keys the user chose to reveal, by key id; kept across re-renders, dropped on "Hide".
  const revealed = new Map();

  function render(keys) {
    if (keys.length === 0) {
      tbody.replaceChildren(
        h('tr', { class: 'placeholder-row' }, h('td', { colspan: 6 }, 'No API keys yet.')),
      );
      return;
    }
    tbody.replaceChildren(...keys.map(row));
  }

  function row(key) {
    return h(
      'tr',
      {
        'data-testid': 'key-row',
        'data-key-id': key.id,
        class: key.revokedAt ? 'revoked' : key.leak ? 'leaked' : null,
      },
      nameCell(key),
      descriptionCell(key),
      keyCell(key),
      h(
        'td',
        { class: 'cell-date', 'data-testid': 'created-at' },
        h('time', { datetime: key.createdAt, title: key.createdAt }, formatDate(key.createdAt)),
      ),
      lastUsedCell(key),
      h('td', { class: 'cell-actions' }, rowMenu(key)),
    );
  }

  function nameCell(key) {
    const cell = h(
      'th',
      {
        scope: 'row',
        class: 'cell-name editable',
        tabindex: 0,
        'data-testid': 'name-cell',
        title: 'Double-click to rename',
      },
      h('span', { class: 'name-text' }, key.name),
      key.isDefault ? h('span', { class: 'badge', 'data-testid': 'default-badge' }, 'Default') : null,
      stateBadge(key),
    );
    const edit = () =>
      editInPlace(cell, {
        value: key.name,
        label: 'Name',
        onSave: (name) => actions.rename(key, name),
        refocus: () => focusCell(key.id, 'name-cell'),
      });
    makeEditable(cell, edit);
    return cell;
  }

  function descriptionCell(key) {
    const cell = h(
      'td',
      {
        class: 'cell-description editable',
        tabindex: 0,
        'data-testid': 'description-cell',
        title: 'Double-click to edit the description',
      },
      key.description ?? h('span', { class: 'muted', 'aria-label': 'No description' }, '—'),
    );
    const edit = () =>
      editInPlace(cell, {
        value: key.description ?? '',
        label: 'Description',
        multiline: true,
        onSave: (description) => actions.describe(key, description),
        refocus: () => focusCell(key.id, 'description-cell'),
      });
    makeEditable(cell, edit);
    return cell;
  }

  // A revoked key is marked where its name is; a default key that leaked (and got a new
  // secret) too, until its next rotation.
  function stateBadge(key) {
    if (key.revokedAt) {
      return h('span', { class: 'badge badge-danger', 'data-testid': 'revoked-badge' }, 'Revoked');
    }
    if (key.leak) {
      return h('span', { class: 'badge badge-danger', 'data-testid': 'leaked-badge' }, 'Leaked');
    }
    return null;
  }

  // Double-click is the mouse gesture; Enter or F2 on the focused cell does the same from the
  // keyboard, so editing never depends on a pointer.
  function makeEditable(cell, edit) {
    cell.addEventListener('dblclick', edit);
    cell.addEventListener('keydown', (event) => {
      if (event.target === cell && (event.key === 'Enter' || event.key === 'F2')) {
        event.preventDefault();
        edit();
      }
    });
  }

  function keyCell(key) {
    const value = h('code', { class: 'key-value', 'data-testid': 'key-value' });
    const reveal = h('button', { type: 'button', class: 'btn btn-ghost btn-small' });
    const copy = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-ghost btn-small',
        'aria-label': `Copy key ${key.name}`,
        'data-testid': 'copy-key',
      },
      'Copy',
    );

    function show() {
      const secret = revealed.get(key.id);
      value.textContent = secret ?? key.maskedKey;
      value.classList.toggle('revealed', Boolean(secret));
      // Marks a full key on screen (the browser tests' failure screenshots paint these over).
      value.toggleAttribute('data-secret', Boolean(secret));
      reveal.textContent = secret ? 'Hide' : 'Reveal';
      reveal.setAttribute('aria-label', `${secret ? 'Hide' : 'Reveal'} key ${key.name}`);
      reveal.setAttribute('data-testid', secret ? 'hide-key' : 'reveal-key');
    }

    reveal.addEventListener('click', async () => {
      if (revealed.has(key.id)) {
        revealed.delete(key.id);
        show();
        return;
      }
      reveal.disabled = true;
      try {
        revealed.set(key.id, await actions.secretOf(key));
        show();
      } catch (error) {
        actions.report(error);
      } finally {
        reveal.disabled = false;
      }
    });

    copy.addEventListener('click', async () => {
      try {
        // Fetched on demand so the full key is never in the page unless the user asks for it.
        const secret = revealed.get(key.id) ?? (await actions.secretOf(key));
        await copyText(secret, copy);
        flashText(copy, 'Copied');
        actions.announce(`Key “${key.name}” copied to the clipboard.`);
      } catch (error) {
        actions.report(error);
      }
    });

    show();
    return h('td', { class: 'cell-key' }, h('div', { class: 'key-line' }, value, reveal, copy));
  }

  function lastUsedCell(key) {
    if (!key.lastUsedAt) {
      return h('td', { class: 'cell-date muted', 'data-testid': 'last-used' }, 'Never');
    }
    return h(
      'td',
      { class: 'cell-date', 'data-testid': 'last-used' },
      h(
        'time',
        { datetime: key.lastUsedAt, title: formatDate(key.lastUsedAt), 'data-relative': '' },
        formatRelative(key.lastUsedAt),
      ),
    );
  }

  // A popover menu per row: the browser handles the top layer, Escape and clicks outside.
  function rowMenu(key) {
    const menuId = `row-menu-${key.id}`;
    const item = key.isDefault
      ? h('button', { type: 'button', role: 'menuitem', class: 'menu-item' }, 'Rotate')
      : h('button', { type: 'button', role: 'menuitem', class: 'menu-item danger' }, 'Delete');
    const menu = h(
      'div',
      {
        id: menuId,
        popover: 'auto',
        role: 'menu',
        class: 'row-menu',
        'aria-label': `Actions for ${key.name}`,
      },
      item,
    );
    const button = h(
      'button',
      {
        type: 'button',
        class: 'btn-icon',
        popovertarget: menuId,
        'aria-haspopup': 'menu',
        'aria-label': `Actions for ${key.name}`,
        'data-testid': 'row-menu-button',
      },
      '⋮',
    );

    menu.addEventListener('beforetoggle', (event) => {
      if (event.newState !== 'open') return;
      // Anchor the menu's top right corner under the button (a fixed position: it lives in the
      // top layer, outside the table's scrolling box).
      const box = button.getBoundingClientRect();
      menu.style.top = `${box.bottom + 4}px`;
      menu.style.right = `${Math.max(8, document.documentElement.clientWidth - box.right)}px`;
    });
    menu.addEventListener('toggle', (event) => {
      if (event.newState === 'open') item.focus();
    });
    item.addEventListener('click', () => {
      menu.hidePopover();
      if (key.isDefault) actions.rotate(key);
      else actions.remove(key);
    });
    return [button, menu];
  }

  /** Update "last used" texts as time passes, without re-rendering (an edit may be open). */
  function tick() {
    for (const time of tbody.querySelectorAll('time[data-relative]')) {
      time.textContent = formatRelative(time.getAttribute('datetime'));
    }
  }

  /** Forget a revealed key (rotated: the old secret is gone; deleted; signed out). */
  function forget(id) {
    if (id === undefined) revealed.clear();
    else revealed.delete(id);
  }

  /** Focus a row's cell: after a re-render, the row is a new element. */
  function focusCell(id, testId) {
    const cell = tbody.querySelector(`tr[data-key-id="${CSS.escape(id)}"] [data-testid="${testId}"]`);
    cell?.focus();
  }

  return { render, tick, forget };
}
