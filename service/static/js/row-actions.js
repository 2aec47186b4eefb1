// What can be done with a key, as its state allows, in two forms: a ⋮ menu (a popover, on a
// wide screen) and a row of buttons (on a phone, where the row is a card and a menu would be one
// tap too many). styles.css shows one or the other; both call the same actions.

import { h } from './dom.js';
import { isExpired } from './format.js';

/**
 * The actions a key offers: every key can be edited and its usage seen; one that still works can
 * be restricted (a revoked or expired key never works again: there is nothing left to narrow);
 * the default key can be rotated (a leaked one too: that clears its report), any other key
 * deleted (a revoked one too: it only takes a place among the five).
 */
export function actionsOf(key, actions) {
  const works = !key.revokedAt && !isExpired(key.expiresAt);
  return [
    { label: 'Edit', run: () => actions.edit(key, 'name') },
    works ? { label: 'Restrict', run: () => actions.restrict(key) } : null,
    { label: 'Usage', run: () => actions.usage(key) },
    key.isDefault
      ? { label: 'Rotate', run: () => actions.rotate(key) }
      : { label: 'Delete', danger: true, run: () => actions.remove(key) },
  ].filter(Boolean);
}

/** The ⋮ button and its menu. The browser handles the top layer, Escape and clicks outside; the
 * arrow keys, Home and End move between the items. */
export function rowMenu(key, offered) {
  const menuId = `row-menu-${key.id}`;
  const menu = h('div', {
    id: menuId,
    popover: 'auto',
    role: 'menu',
    class: 'row-menu',
    'aria-label': `Actions for ${key.name}`,
  });
  const items = offered.map(({ label, danger, run }) => {
    const item = h(
      'button',
      { type: 'button', role: 'menuitem', class: danger ? 'menu-item danger' : 'menu-item' },
      label,
    );
    item.addEventListener('click', () => {
      menu.hidePopover();
      run();
    });
    return item;
  });
  menu.append(...items);
  const button = h(
    'button',
    {
      type: 'button',
      class: 'btn-icon row-menu-button',
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

/** The same actions as buttons, named for their key (a screen reader lists buttons out of
 * their rows). */
export function inlineActions(key, offered) {
  return h(
    'div',
    { class: 'row-actions-inline', 'data-testid': 'row-actions' },
    ...offered.map(({ label, danger, run }) => {
      const button = h(
        'button',
        {
          type: 'button',
          class: danger ? 'btn btn-small btn-danger-ghost' : 'btn btn-small btn-secondary',
          'aria-label': `${label} ${key.name}`,
        },
        label,
      );
      button.addEventListener('click', run);
      return button;
    }),
  );
}
