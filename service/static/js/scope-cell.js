// A key's scope in the table: "All workflows" or "3 workflows", "Any network" or "2 networks".
// The scopes arrive after the list (a query of their own, see documents.js), so the cell is
// made empty and filled in, like the usage sparkline.

import { h } from './dom.js';

/** "All workflows", "1 workflow", "3 workflows" (null: every workflow). */
export function workflowsText(workflowIds) {
  if (workflowIds == null) return 'All workflows';
  return `${workflowIds.length} ${workflowIds.length === 1 ? 'workflow' : 'workflows'}`;
}

/** "Any network", "1 network", "2 networks" (null: anywhere). */
export function networksText(allowedAddresses) {
  if (allowedAddresses == null) return 'Any network';
  return `${allowedAddresses.length} ${allowedAddresses.length === 1 ? 'network' : 'networks'}`;
}

export function scopeCell() {
  return h('td', { class: 'cell-scope', 'data-testid': 'scope', 'data-label': 'Scope' });
}

/**
 * Show `scope` (`{ workflowIds, allowedAddresses }`) in the cell; `undefined` while it is being
 * loaded, `null` when it could not be. A narrowed scope lists its entries in a tooltip; the
 * Restrict dialog shows them to everyone.
 */
export function fillScope(cell, scope) {
  if (scope === undefined) {
    cell.setAttribute('aria-busy', 'true');
    cell.replaceChildren(
      h('span', { class: 'scope-placeholder' }, h('span', { class: 'visually-hidden' }, 'Loading scope…')),
    );
    return;
  }
  cell.removeAttribute('aria-busy');
  if (scope === null) {
    cell.replaceChildren(
      h('span', { class: 'muted', title: 'Scope could not be loaded', 'aria-hidden': 'true' }, '—'),
      h('span', { class: 'visually-hidden' }, 'Scope could not be loaded'),
    );
    return;
  }
  const { workflowIds, allowedAddresses } = scope;
  cell.replaceChildren(
    line('scope-workflows', workflowsText(workflowIds), workflowIds),
    line('scope-networks', networksText(allowedAddresses), allowedAddresses),
  );
}

function line(testId, text, entries) {
  return h(
    'span',
    {
      class: entries == null ? 'scope-line muted' : 'scope-line scope-narrowed',
      'data-testid': testId,
      title: entries == null ? null : entries.join(', '),
    },
    text,
  );
}
