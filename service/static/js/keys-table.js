// The keys table: one row per key (a card on a phone), with reveal/copy and the key's actions.
// The table only renders and reports what the user asked for; the caller talks to the API.

import { copyText } from './clipboard.js';
import { flashText, h } from './dom.js';
import { formatDate, formatExpiry, formatRelative, isExpired } from './format.js';
import {
  createdCell,
  descriptionCell,
  expiresCell,
  lastUsedCell,
  nameCell,
  showExpiry,
} from './key-cells.js';
import { actionsOf, inlineActions, rowMenu } from './row-actions.js';
import { fillScope, scopeCell } from './scope-cell.js';
import { sparkline } from './sparkline.js';

const COLUMNS = 9;

/**
 * `actions` are the caller's: edit(key, field), restrict(key), rotate(key), remove(key),
 * usage(key), secretOf(key) -> full key, copied(key) (its secret is in the clipboard),
 * report(error), announce(message).
 */
export function createKeysTable(tbody, actions) {
  // Full keys the user chose to reveal, by key id; kept across re-renders, dropped on "Hide".
  const revealed = new Map();
  // Each key's uses per day (the sparklines), by key id: they arrive after the list (a query of
  // their own, see documents.js) and are kept across re-renders.
  const usage = new Map();
  // Each key's scope (`{ workflowIds, allowedAddresses }`), by key id: like the usage, it
  // arrives after the list and is kept across re-renders.
  const scopes = new Map();
  let scopesFailed = false; // the scopes query failed: keys without a scope say so
  // Until when a rotated-out secret keeps working, by key id (a rotation with a grace period).
  const graceUntil = new Map();
  let usageFailed = false; // the usage query failed: keys without usage say so
  let highlighted = null; // the key just created or rotated

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
      key.revokedAt ? 'revoked' : key.leak && !key.leak.dismissedAt ? 'leaked' : null,
      isExpired(key.expiresAt) ? 'expired' : null,
      key.id === highlighted ? 'highlighted' : null,
    ].filter(Boolean);
    const edit = (field) => actions.edit(key, field);
    const offered = actionsOf(key, actions);
    return h(
      'tr',
      {
        'data-testid': 'key-row',
        'data-key-id': key.id,
        class: classes.length ? classes.join(' ') : null,
      },
      nameCell(key, edit),
      descriptionCell(key, edit),
      keyCell(key),
      filledScopeCell(key.id),
      createdCell(key),
      expiresCell(key),
      lastUsedCell(key),
      usageCell(key),
      h(
        'td',
        { class: 'cell-actions', 'data-testid': 'actions' },
        ...rowMenu(key, offered),
        inlineActions(key, offered),
      ),
    );
  }

  // A revoked key's secret works nowhere: nothing to reveal or copy, only to say so.
  function keyCell(key) {
    const value = h('code', { class: 'key-value', 'data-testid': 'key-value' });
    const line = h('div', { class: 'key-line' }, value);
    const cell = h('td', { class: 'cell-key', 'data-label': 'Key' }, line);
    if (key.revokedAt) {
      value.textContent = key.maskedKey;
      cell.append(h('p', { class: 'key-note danger-text small' }, 'Revoked: it no longer works.'));
      return cell;
    }
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
    line.append(reveal, copy);

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
        actions.copied(key);
        actions.announce(`Key “${key.name}” copied to the clipboard.`);
      } catch (error) {
        actions.report(error);
      }
    });

    show();
    const until = graceUntil.get(key.id);
    if (until !== undefined) {
      const note = h('p', { class: 'key-note small muted', 'data-testid': 'old-secret' });
      note.dataset.until = String(until);
      showGrace(note);
      cell.append(note);
    }
    return cell;
  }

  // "The old key keeps working until Dec 8, 3:48 PM (in 23 hours)"; gone once it has stopped.
  function showGrace(note) {
    const until = Number(note.dataset.until);
    if (until <= Date.now()) {
      note.textContent = 'The old key has stopped working.';
      return;
    }
    const iso = new Date(until).toISOString();
    note.textContent = `The old key keeps working until ${formatDate(iso)} (${formatExpiry(iso)}).`;
  }

  function usageCell(key) {
    const cell = h('td', {
      class: 'cell-usage',
      'data-testid': 'usage',
      'data-label': 'Usage (30 days)',
    });
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
      const cell = rowOf(id)?.querySelector('[data-testid="usage"]');
      if (cell) fillUsage(cell, id);
    }
  }

  /** The usage query failed: say so where the sparklines would be, quietly. */
  function usageUnavailable() {
    usageFailed = true;
    for (const cell of tbody.querySelectorAll('[data-testid="usage"][aria-busy]')) {
      fillUsage(cell, cell.closest('tr').getAttribute('data-key-id'));
    }
  }

  function filledScopeCell(id) {
    const cell = scopeCell();
    fillScope(cell, scopes.get(id) ?? (scopesFailed ? null : undefined));
    return cell;
  }

  /** Fill in the Scope column: `byId` maps key ids to `{ workflowIds, allowedAddresses }`. */
  function setScopes(byId) {
    for (const [id, scope] of byId) {
      scopes.set(id, scope);
      const cell = rowOf(id)?.querySelector('[data-testid="scope"]');
      if (cell) fillScope(cell, scope);
    }
  }

  /** The scopes query failed: say so in the cells still waiting for theirs. */
  function scopesUnavailable() {
    scopesFailed = true;
    for (const cell of tbody.querySelectorAll('[data-testid="scope"][aria-busy]')) {
      fillScope(cell, null);
    }
  }

  /** Update "last used", expiry and grace texts as time passes, without re-rendering: a key
   * that expires while the page is open turns "Expired". */
  function tick() {
    for (const time of tbody.querySelectorAll('time[data-relative]')) {
      time.textContent = formatRelative(time.getAttribute('datetime'));
    }
    for (const time of tbody.querySelectorAll('time[data-expiry]')) showExpiry(time);
    for (const note of tbody.querySelectorAll('[data-testid="old-secret"]')) showGrace(note);
  }

  /** Forget a revealed key, its usage and scope (deleted; signed out: every key); or only the
   * revealed secret of a rotated key (`{ secretOnly: true }`): the old secret is gone, the uses
   * and the scope stay. */
  function forget(id, { secretOnly = false } = {}) {
    if (id === undefined) {
      revealed.clear();
      usage.clear();
      scopes.clear();
      scopesFailed = false;
      graceUntil.clear();
      usageFailed = false;
      highlighted = null;
      return;
    }
    revealed.delete(id);
    if (!secretOnly) {
      usage.delete(id);
      scopes.delete(id);
      graceUntil.delete(id);
    }
  }

  /** A rotation gave the key's old secret until `until` (ms since the epoch; 0: none). Takes
   * effect at the next render. */
  function setGrace(id, until) {
    if (until > Date.now()) graceUntil.set(id, until);
    else graceUntil.delete(id);
  }

  /** Mark the row of a key just created or rotated (at the next render; null: none). */
  function highlight(id) {
    highlighted = id;
  }

  function rowOf(id) {
    return tbody.querySelector(`tr[data-key-id="${CSS.escape(id)}"]`);
  }

  /** Bring a key's row into view and put focus on its name (after a re-render, the row is a new
   * element). */
  function focusRow(id, testId = 'name-cell') {
    const cell = rowOf(id)?.querySelector(`[data-testid="${testId}"]`);
    if (!cell) return;
    cell.focus({ preventScroll: true });
    cell.closest('tr').scrollIntoView({ block: 'nearest' });
  }

  return {
    render,
    tick,
    forget,
    setUsage,
    usageUnavailable,
    setScopes,
    scopesUnavailable,
    /** The key's scope as last loaded; undefined until it is. */
    scopeOf: (id) => scopes.get(id),
    setGrace,
    highlight,
    focusRow,
  };
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
