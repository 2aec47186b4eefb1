// The keys table: one row per key, with reveal/copy, in-place editing and a row menu.
// The table only renders and reports what the user asked for; the caller talks to the API.

import { copyText } from './clipboard.js';
import { flashText, h } from './dom.js';
import { formatDate, formatDateInPieces, formatExpiry, formatRelative, isExpired } from './format.js';
import { editInPlace } from './inline-edit.js';
import { sparkline } from './sparkline.js';

const COLUMNS = 8;

/**
 * `actions` are the caller's: rename(key, name), describe(key, description), rotate(key),
 * remove(key), usage(key), secretOf(key) -> full key, report(error), announce(message).
 */
export function createKeysTable(tbody, actions) {
  // Full keys the user chose to reveal, by key id; kept across re-renders, dropped on "Hide".
  const revealed = new Map();
  // Each key's uses per day (the sparklines), by key id: they arrive after the list (a query of
  // their own, see documents.js) and are kept across re-renders.
  const usage = new Map();
  let usageFailed = false; // the usage query failed: keys without usage say so

  function render(keys) {
    if (keys.length === 0) {
      tbody.replaceChildren(
        h('tr', { class: 'placeholder-row' }, h('td', { colspan: COLUMNS }, 'No API keys yet.')),
      );
      return;
    }
    tbody.replaceChildren(...keys.map(row));
  }

  function row(key) {
    const classes = [
      key.revokedAt ? 'revoked' : key.leak ? 'leaked' : null,
      isExpired(key.expiresAt) ? 'expired' : null,
    ].filter(Boolean);
    return h(
      'tr',
      {
        'data-testid': 'key-row',
        'data-key-id': key.id,
        class: classes.length ? classes.join(' ') : null,
      },
      nameCell(key),
      descriptionCell(key),
      keyCell(key),
      h(
        'td',
        { class: 'cell-date cell-created', 'data-testid': 'created-at' },
        h('time', { datetime: key.createdAt, title: key.createdAt }, ...createdAt(key.createdAt)),
      ),
      expiresCell(key),
      lastUsedCell(key),
      usageCell(key),
      h('td', { class: 'cell-actions' }, rowMenu(key)),
    );
  }

  // "Nov 26, 2026," and "3:48 PM" may go on two lines, never three.
  function createdAt(iso) {
    const [date, gap, time] = formatDateInPieces(iso);
    if (time === undefined) return [date];
    return [h('span', { class: 'nowrap' }, date), gap, h('span', { class: 'nowrap' }, time)];
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

  // "Never", "in 12 days", or a red "Expired" once past by the browser's clock (`tick` keeps it
  // true while the page stays open).
  function expiresCell(key) {
    if (!key.expiresAt) {
      return h('td', { class: 'cell-date muted', 'data-testid': 'expires' }, 'Never');
    }
    const time = h('time', { datetime: key.expiresAt, 'data-expiry': '' });
    showExpiry(time);
    return h('td', { class: 'cell-date', 'data-testid': 'expires' }, time);
  }

  function showExpiry(time) {
    const iso = time.getAttribute('datetime');
    const expired = isExpired(iso);
    time.textContent = formatExpiry(iso);
    time.title = `${expired ? 'Expired' : 'Expires'} ${formatDate(iso)}`;
    time.classList.toggle('expired', expired);
    time.closest('tr')?.classList.toggle('expired', expired);
  }

  function lastUsedCell(key) {
    if (!key.lastUsedAt) {
      return h('td', { class: 'cell-date muted', 'data-testid': 'last-used' }, 'Never');
    }
    const from = key.lastUsedFrom?.clientAddress;
    return h(
      'td',
      { class: 'cell-date', 'data-testid': 'last-used' },
      h(
        'time',
        {
          datetime: key.lastUsedAt,
          title: `${formatDate(key.lastUsedAt)}${from ? ` from ${from}` : ''}`,
          'data-relative': '',
        },
        formatRelative(key.lastUsedAt),
      ),
    );
  }

  function usageCell(key) {
    const cell = h('td', { class: 'cell-usage', 'data-testid': 'usage' });
    fillUsage(cell, key.id);
    return cell;
  }

  function fillUsage(cell, id) {
    const days = usage.get(id);
    if (days) {
      cell.removeAttribute('aria-busy');
      cell.replaceChildren(sparkline(days));
    } else if (usageFailed) {
      cell.removeAttribute('aria-busy');
      cell.replaceChildren(
        h('span', { class: 'muted', title: 'Usage could not be loaded', 'aria-hidden': 'true' }, '—'),
        h('span', { class: 'visually-hidden' }, 'Usage could not be loaded'),
      );
    } else {
      cell.setAttribute('aria-busy', 'true');
      cell.replaceChildren(
        h(
          'span',
          { class: 'spark-placeholder' },
          h('span', { class: 'visually-hidden' }, 'Loading usage…'),
        ),
      );
    }
  }

  /** Fill in the sparklines: `byId` maps key ids to their days (`[]` for a key just created). */
  function setUsage(byId) {
    for (const [id, days] of byId) usage.set(id, padded(days));
    for (const [id] of byId) {
      const cell = tbody.querySelector(`tr[data-key-id="${CSS.escape(id)}"] [data-testid="usage"]`);
      if (cell) fillUsage(cell, id);
    }
  }

  /** The usage query failed: say so where the sparklines would be, quietly. */
  function usageUnavailable() {
    usageFailed = true;
    for (const cell of tbody.querySelectorAll('[data-testid="usage"][aria-busy]')) {
      const id = cell.closest('tr').getAttribute('data-key-id');
      fillUsage(cell, id);
    }
  }

  // A popover menu per row: the browser handles the top layer, Escape and clicks outside; the
  // arrow keys, Home and End move between its items.
  function rowMenu(key) {
    const menuId = `row-menu-${key.id}`;
    const menu = h('div', {
      id: menuId,
      popover: 'auto',
      role: 'menu',
      class: 'row-menu',
      'aria-label': `Actions for ${key.name}`,
    });
    const menuItem = (label, danger, run) => {
      const item = h(
        'button',
        { type: 'button', role: 'menuitem', class: danger ? 'menu-item danger' : 'menu-item' },
        label,
      );
      item.addEventListener('click', () => {
        menu.hidePopover();
        run(key);
      });
      return item;
    };
    const items = [
      menuItem('Usage', false, actions.usage),
      key.isDefault
        ? menuItem('Rotate', false, actions.rotate)
        : menuItem('Delete', true, actions.remove),
    ];
    menu.append(...items);
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
      if (event.newState === 'open') items[0].focus();
    });
    menu.addEventListener('keydown', (event) => {
      const at = items.indexOf(document.activeElement);
      const next = {
        ArrowDown: (at + 1) % items.length,
        ArrowUp: (at - 1 + items.length) % items.length,
        Home: 0,
        End: items.length - 1,
      }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      items[next].focus();
    });
    return [button, menu];
  }

  /** Update "last used" and expiry texts as time passes, without re-rendering (an edit may be
   * open): a key that expires while the page is open turns "Expired". */
  function tick() {
    for (const time of tbody.querySelectorAll('time[data-relative]')) {
      time.textContent = formatRelative(time.getAttribute('datetime'));
    }
    for (const time of tbody.querySelectorAll('time[data-expiry]')) showExpiry(time);
  }

  /** Forget a revealed key and its usage (deleted; signed out: every key); or only the revealed
   * secret of a rotated key (`{ secretOnly: true }`): the old secret is gone, the uses stay. */
  function forget(id, { secretOnly = false } = {}) {
    if (id === undefined) {
      revealed.clear();
      usage.clear();
      usageFailed = false;
      return;
    }
    revealed.delete(id);
    if (!secretOnly) usage.delete(id);
  }

  /** Focus a row's cell: after a re-render, the row is a new element. */
  function focusCell(id, testId) {
    const cell = tbody.querySelector(`tr[data-key-id="${CSS.escape(id)}"] [data-testid="${testId}"]`);
    cell?.focus();
  }

  return { render, tick, forget, setUsage, usageUnavailable };
}

const USAGE_DAYS = 30;

/** The days as the API answers them; a key just created has none yet: 30 days without use. */
function padded(days) {
  if (days.length > 0) return days;
  // The API counts UTC days, today last (JavaScript time has no leap seconds: whole days since
  // the epoch are UTC days).
  const day = 24 * 3600 * 1000;
  const today = Math.floor(Date.now() / day) * day;
  return Array.from({ length: USAGE_DAYS }, (_, n) => ({
    date: new Date(today - (USAGE_DAYS - 1 - n) * day).toISOString().slice(0, 10),
    uses: 0,
  }));
}
