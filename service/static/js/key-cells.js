// The cells of a key's row that only show what the key is: its name (and state), description,
// dates. The key itself, its usage and its actions are in keys-table.js and row-actions.js.
// Each cell carries `data-label`: on a phone a row is a card, and the label names each value.

import { h } from './dom.js';
import { formatDate, formatDateInPieces, formatExpiry, formatRelative, isExpired } from './format.js';

/** Double-click is the mouse's shortcut to the editor; Enter or F2 on the focused cell is the
 * keyboard's. The row's Edit action is the way everyone can see. */
function editable(cell, edit) {
  cell.addEventListener('dblclick', edit);
  cell.addEventListener('keydown', (event) => {
    if (event.target === cell && (event.key === 'Enter' || event.key === 'F2')) {
      event.preventDefault();
      edit();
    }
  });
  return cell;
}

export function nameCell(key, edit) {
  const cell = h(
    'th',
    { scope: 'row', class: 'cell-name editable', tabindex: 0, 'data-testid': 'name-cell' },
    h('span', { class: 'name-text' }, key.name),
    key.isDefault ? h('span', { class: 'badge', 'data-testid': 'default-badge' }, 'Default') : null,
    stateBadge(key),
  );
  return editable(cell, () => edit('name'));
}

// A revoked key is marked where its name is; so is a default key whose leak report has not
// been dismissed (it got a new secret; the report stays until it is dismissed or rotated).
function stateBadge(key) {
  if (key.revokedAt) {
    return h('span', { class: 'badge badge-danger', 'data-testid': 'revoked-badge' }, 'Revoked');
  }
  if (key.leak && !key.leak.dismissedAt) {
    return h('span', { class: 'badge badge-danger', 'data-testid': 'leaked-badge' }, 'Leaked');
  }
  return null;
}

/** Two lines at most; the whole text on hover or focus (styles.css), and always in the DOM, so
 * a screen reader reads all of it. */
export function descriptionCell(key, edit) {
  const cell = h(
    'td',
    {
      class: 'cell-description editable',
      tabindex: 0,
      'data-testid': 'description-cell',
      'data-label': 'Description',
    },
    key.description
      ? h('div', { class: 'description-text', 'data-testid': 'description-text' }, key.description)
      : h('span', { class: 'muted', 'aria-label': 'No description' }, '—'),
  );
  return editable(cell, () => edit('description'));
}

// "Nov 26, 2026," and "3:48 PM" may go on two lines, never three.
export function createdCell(key) {
  const [date, gap, time] = formatDateInPieces(key.createdAt);
  const pieces =
    time === undefined
      ? [date]
      : [h('span', { class: 'nowrap' }, date), gap, h('span', { class: 'nowrap' }, time)];
  return h(
    'td',
    { class: 'cell-date cell-created', 'data-testid': 'created-at', 'data-label': 'Created at' },
    h('time', { datetime: key.createdAt, title: key.createdAt }, ...pieces),
  );
}

// "Never", "in 12 days", or a red "Expired" once past by the browser's clock (`showExpiry`
// keeps it true while the page stays open).
export function expiresCell(key) {
  const attributes = { class: 'cell-date', 'data-testid': 'expires', 'data-label': 'Expires' };
  if (!key.expiresAt) return h('td', { ...attributes, class: 'cell-date muted' }, 'Never');
  const time = h('time', { datetime: key.expiresAt, 'data-expiry': '' });
  showExpiry(time);
  return h('td', attributes, time);
}

export function showExpiry(time) {
  const iso = time.getAttribute('datetime');
  const expired = isExpired(iso);
  time.textContent = formatExpiry(iso);
  time.title = `${expired ? 'Expired' : 'Expires'} ${formatDate(iso)}`;
  time.classList.toggle('expired', expired);
  time.closest('tr')?.classList.toggle('expired', expired);
}

export function lastUsedCell(key) {
  const attributes = { class: 'cell-date', 'data-testid': 'last-used', 'data-label': 'Last used' };
  if (!key.lastUsedAt) return h('td', { ...attributes, class: 'cell-date muted' }, 'Never');
  const from = key.lastUsedFrom?.clientAddress;
  return h(
    'td',
    attributes,
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
