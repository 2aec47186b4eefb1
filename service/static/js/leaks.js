// Banners for keys a secret-scanning partner found in public: one per leaked key, above the
// table. A leaked key other than the default is revoked; the default got a new secret.

import { h } from './dom.js';
import { formatDate } from './format.js';

/** Render one banner per key with a `leak` into `container` (emptied when there is none). */
export function renderLeaks(container, keys) {
  const leaked = keys.filter((key) => key.leak);
  container.replaceChildren(...leaked.map(banner));
  container.hidden = leaked.length === 0;
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

function banner(key) {
  const { url, reportedAt } = key.leak;
  const where = url ? [' at ', place(url)] : [];
  const what = key.isDefault
    ? '. We gave your default key a new secret: update the workflows and scripts that use it.'
    : ' and has been revoked. Delete it and create a new one.';
  return h(
    'p',
    { class: 'notice notice-error', role: 'alert', 'data-testid': 'leak-banner', 'data-key-id': key.id },
    `Your key '${key.name}' was found in public`,
    ...where,
    ' on ',
    h('time', { datetime: reportedAt }, formatDate(reportedAt)),
    what,
  );
}
