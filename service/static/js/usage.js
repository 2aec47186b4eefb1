// Who uses a key: the Usage dialog (uses per day, the workflows of the last 30 days, where the
// latest use came from), and the workflows the rotate and delete dialogs warn about.

import { KEY_RECENT_WORKFLOWS, KEY_USAGE_DETAILS } from './documents.js';
import { h, showMessage } from './dom.js';
import { formatDate, formatRelative, formatUses } from './format.js';
import { formatDay, sparkline, usageSummary } from './sparkline.js';

export const RECENT_DAYS = 7; // the rotate and delete dialogs' window (KEY_RECENT_WORKFLOWS)

/** "3 hours ago" (in a sentence: "just now"), with the full date as its tooltip. */
function when(iso, { inSentence = false } = {}) {
  const text = formatRelative(iso);
  return h('time', { datetime: iso, title: formatDate(iso) }, inSentence ? text.toLowerCase() : text);
}

/**
 * The Usage dialog: `open(key)` shows it at once and fills it in when the API answers (fresh,
 * not from the list: a key may have been used since the page loaded). `onUsage(id, days)` hands
 * the fresh days on, for the table's sparkline.
 */
export function createUsageDialog({ dialog, client, onUsage = () => {} }) {
  const name = dialog.querySelector('[data-role="key-name"]');
  const content = dialog.querySelector('[data-role="content"]');
  const error = dialog.querySelector('[data-role="error"]');
  // Only the answer for the key shown counts (the dialog may be closed and opened for another).
  let latest = 0;

  dialog.querySelector('[data-role="close"]').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    latest += 1;
  });

  async function open(key) {
    const request = (latest += 1);
    name.textContent = `“${key.name}”`;
    showMessage(error, '');
    content.replaceChildren(h('p', { class: 'muted' }, 'Loading usage…'));
    dialog.setAttribute('aria-busy', 'true');
    dialog.showModal();
    try {
      const data = await client.request(KEY_USAGE_DETAILS, { id: key.id });
      if (request !== latest) return;
      if (!data.apiKey) throw new Error('This key no longer exists. Reload the page to see your keys.');
      content.replaceChildren(...details(data.apiKey));
      onUsage(data.apiKey.id, data.apiKey.usage);
    } catch (failure) {
      if (request !== latest) return;
      content.replaceChildren();
      showMessage(error, `Could not load this key's usage: ${failure.message}`);
    } finally {
      if (request === latest) dialog.removeAttribute('aria-busy');
    }
  }

  return { open };
}

function details(key) {
  return [
    section('usage-days-title', `Last ${key.usage.length} days`, usageChart(key.usage)),
    section('usage-workflows-title', 'Workflows', workflows(key.usedBy, key.usage.length)),
    section('usage-origin-title', 'Last used from', origin(key)),
  ];
}

function section(id, title, ...body) {
  return h(
    'section',
    { class: 'usage-section', 'aria-labelledby': id },
    h('h3', { id }, title),
    ...body,
  );
}

function usageChart(days) {
  if (days.length === 0) return null;
  return h(
    'div',
    { class: 'usage-chart', 'data-testid': 'usage-chart' },
    sparkline(days, { width: 420, height: 64, detailed: true }),
    h(
      'div',
      { class: 'usage-axis muted small', 'aria-hidden': 'true' },
      h('span', {}, formatDay(days[0].date)),
      h('span', {}, 'Today (UTC)'),
    ),
    h('p', { class: 'usage-total', 'data-testid': 'usage-total' }, usageSummary(days)),
  );
}

function workflows(used, days) {
  if (used.length === 0) {
    return h('p', { 'data-testid': 'no-workflows' }, `No workflow used this key in the last ${days} days.`);
  }
  return h(
    'div',
    { class: 'usage-table-wrap' },
    h(
      'table',
      { class: 'usage-table', 'data-testid': 'workflow-uses' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Workflow'),
          h('th', { scope: 'col', class: 'numeric' }, 'Uses'),
          h('th', { scope: 'col' }, 'Last used'),
        ),
      ),
      h(
        'tbody',
        {},
        ...used.map((use) =>
          h(
            'tr',
            { 'data-testid': 'workflow-use' },
            h('th', { scope: 'row' }, h('code', {}, use.workflowId)),
            h('td', { class: 'numeric' }, formatUses(use.uses)),
            h('td', {}, when(use.lastUsedAt)),
          ),
        ),
      ),
    ),
  );
}

function origin(key) {
  if (!key.lastUsedFrom) return h('p', { 'data-testid': 'last-used-from' }, 'Never used');
  const { clientAddress, userAgent } = key.lastUsedFrom;
  const unknown = () => h('span', { class: 'muted' }, 'Unknown');
  return h(
    'dl',
    { class: 'usage-origin', 'data-testid': 'last-used-from' },
    h('dt', {}, 'When'),
    h('dd', {}, key.lastUsedAt ? when(key.lastUsedAt) : unknown()),
    h('dt', {}, 'Client address'),
    h('dd', { 'data-testid': 'client-address' }, clientAddress ? h('code', {}, clientAddress) : unknown()),
    h('dt', {}, 'User agent'),
    h('dd', { 'data-testid': 'user-agent' }, userAgent ?? unknown()),
  );
}

// The answer each container waits for: a dialog closed and opened for another key meanwhile
// must not show the first key's workflows.
const pending = new WeakMap();

/**
 * Fill `container` (in the rotate or delete dialog) with the workflows that used `key` in the
 * last 7 days, under `warning` (what will happen to them, which depends on the action and the
 * key's state). `onFound(uses)` gets them. The dialog stays usable meanwhile: this only informs
 * the decision.
 */
export async function showRecentWorkflows(container, client, key, { warning, onFound = () => {} }) {
  const request = {};
  pending.set(container, request);
  container.setAttribute('aria-busy', 'true');
  container.replaceChildren(
    h('p', { class: 'muted' }, `Checking which workflows used this key in the last ${RECENT_DAYS} days…`),
  );
  let shown;
  try {
    const data = await client.request(KEY_RECENT_WORKFLOWS, { id: key.id });
    if (pending.get(container) !== request) return;
    shown = data.apiKey
      ? recentWorkflows(data.apiKey.usedBy, warning)
      : [h('p', { class: 'muted' }, 'This key no longer exists. Reload the page to see your keys.')];
    if (data.apiKey) onFound(data.apiKey.usedBy);
  } catch {
    // Why it failed is what the action itself will say if it fails too: one message, not two.
    shown = [
      h(
        'p',
        { class: 'muted', 'data-role': 'lookup-failure' },
        'Could not check which workflows used this key.',
      ),
    ];
  }
  if (pending.get(container) !== request) return;
  container.replaceChildren(...shown);
  container.removeAttribute('aria-busy');
}

/** The dialog's action failed and says why: a failed look-up of its workflows need not say
 * it again. */
export function dropRecentWorkflowsFailure(container) {
  container.querySelector('[data-role="lookup-failure"]')?.remove();
}

/** Forget what `container` waits for (the dialog closed). */
export function cancelRecentWorkflows(container) {
  pending.delete(container);
  container.replaceChildren();
  container.removeAttribute('aria-busy');
}

function recentWorkflows(used, warning) {
  if (used.length === 0) {
    return [h('p', {}, `No workflow used this key in the last ${RECENT_DAYS} days.`)];
  }
  return [
    h(
      'div',
      { class: 'notice notice-warning' },
      h('p', {}, `These workflows used this key in the last ${RECENT_DAYS} days ${warning}:`),
      workflowUseList(used),
    ),
  ];
}

/** Workflows by name, each with how often and when it last used the key (`usedBy` entries). */
export function workflowUseList(used) {
  return h(
    'ul',
    { class: 'workflow-list' },
    ...used.map((use) =>
      h(
        'li',
        {},
        h('code', {}, use.workflowId),
        h(
          'span',
          { class: 'muted' },
          ` · ${formatUses(use.uses)}, last used `,
          when(use.lastUsedAt, { inSentence: true }),
        ),
      ),
    ),
  );
}

/** "3 hours ago" as a <time>, for a sentence ("just now"), with the full date as its tooltip. */
export function timeAgo(iso) {
  return when(iso, { inSentence: true });
}
