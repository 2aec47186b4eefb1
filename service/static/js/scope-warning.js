// What a narrower scope would cut off, said before it is saved: each workflow that used the key
// in the last 7 days and is not in the new list, and the address the key was last used from
// when it falls outside the new networks. The server enforces the scope; this only warns.

import { h } from './dom.js';
import { parseNetwork, within } from './networks.js';
import { RECENT_DAYS, timeAgo, workflowUseList } from './usage.js';

/**
 * What saving `scope` (`{ workflowIds, allowedAddresses }` as they would be sent; null: no
 * restriction) would cut off, given the key's `recent` use (`{ usedBy, lastUsedAt,
 * lastUsedFrom }`, the answer of KEY_SCOPE_DETAILS): `{ workflows, address }`, the `usedBy`
 * entries left out and the last-used `{ clientAddress, lastUsedAt }` outside, or null for none.
 */
export function cutOff(scope, recent) {
  const { workflowIds, allowedAddresses } = scope;
  // An empty list is refused by the server (its message says so): nothing would be cut off.
  const workflows =
    workflowIds == null || workflowIds.length === 0
      ? []
      : recent.usedBy.filter((use) => !workflowIds.includes(use.workflowId));
  return { workflows, address: addressOutside(allowedAddresses, recent) };
}

function addressOutside(allowedAddresses, recent) {
  const clientAddress = recent.lastUsedFrom?.clientAddress;
  if (allowedAddresses == null || allowedAddresses.length === 0 || !clientAddress) return null;
  const networks = allowedAddresses.map(parseNetwork);
  // A list the server will refuse (its message under the field says why) is not saved: the
  // warning is about a list that would be.
  if (networks.includes(null)) return null;
  return within(clientAddress, networks) ? null : { clientAddress, lastUsedAt: recent.lastUsedAt };
}

export function cutsOffAnything(cut) {
  return cut.workflows.length > 0 || cut.address !== null;
}

/** The warning, by name, as nodes for the dialog; `cut` null: the key's recent use could not
 * be looked up, so nothing can be said of it (and saving is confirmed all the same). */
export function warningOf(cut) {
  if (cut === null) {
    return h(
      'div',
      { class: 'notice notice-warning' },
      h(
        'p',
        {},
        'Could not check which workflows and addresses used this key lately, so this cannot' +
          ' tell what the new scope would cut off.',
      ),
      h('p', {}, 'Save anyway, or cancel and try again.'),
    );
  }
  return h(
    'div',
    { class: 'notice notice-warning' },
    cut.workflows.length > 0
      ? [
          h('p', {}, `These workflows used this key in the last ${RECENT_DAYS} days and will be refused:`),
          workflowUseList(cut.workflows),
        ]
      : null,
    cut.address
      ? h(
          'p',
          { 'data-testid': 'address-outside' },
          'The key was last used from ',
          h('code', {}, cut.address.clientAddress),
          cut.address.lastUsedAt ? [' (', timeAgo(cut.address.lastUsedAt), ')'] : null,
          ', outside these networks: uses from there will be refused.',
        )
      : null,
    h('p', {}, 'Save anyway to restrict the key all the same, or change the lists above.'),
  );
}
