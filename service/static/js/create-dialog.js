// The "New API key" form: a name, an optional description, and when the key stops working.

import { unwrap, UserError } from './api.js';
import { formDialog } from './dialogs.js';
import { CREATE_KEY } from './documents.js';

const DAY_MS = 24 * 3600 * 1000;
// The server refuses expiries more than 366 days ahead: the date picker offers days up to 365
// days ahead, whose end (in the reader's time zone) is within that.
const MAX_EXPIRY_DAYS = 365;

/**
 * `created(key)` is told of the new key; `limitIs(limit)` of the limit a refusal names.
 * Returns `open()`.
 */
export function createCreateDialog({ dialog, client, created, limitIs }) {
  const form = dialog.querySelector('form');
  const expiryDateField = dialog.querySelector('#create-expires-at-field');
  const expiryDate = dialog.querySelector('#create-expires-at');
  dialog.querySelector('#create-expiry').addEventListener('change', showExpiryDate);

  /** The date field is there only when "On a date" is chosen; its picker offers the days the
   * server accepts (a hint: the server's rule and message are the ones that count). */
  function showExpiryDate() {
    expiryDateField.hidden = form.elements.namedItem('expiry').value !== 'date';
    expiryDate.min = localDay(Date.now());
    expiryDate.max = localDay(Date.now() + MAX_EXPIRY_DAYS * DAY_MS);
  }

  const { open } = formDialog(dialog, {
    prepare: showExpiryDate,
    async submit(values) {
      const description = values.get('description');
      const data = await client.request(CREATE_KEY, {
        input: {
          name: values.get('name'),
          description: description.trim() ? description : null,
          expiresAt: expiryOf(values),
        },
      });
      let key;
      try {
        key = unwrap(data.createApiKey, 'ApiKey');
      } catch (refusal) {
        if (refusal.limit) limitIs(refusal.limit);
        // The date field is named `expiresAt`, and marked when the server refuses the date. A
        // refused 7, 30 or 90 days (only a browser clock far off could cause it) is a radio
        // group's: the message alone says it.
        if (refusal.field === 'expiresAt' && values.get('expiry') !== 'date') refusal.field = null;
        throw refusal;
      }
      created(key);
    },
  });
  return open;
}

/** "2026-12-05": the reader's day at `time`, as an <input type="date"> holds it. */
function localDay(time) {
  const date = new Date(time);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The form's expiry as the API takes it: null (never), or an ISO time. A date not picked is
 * refused here, as the server would refuse a missing name: there is nothing to send. */
function expiryOf(values) {
  const choice = values.get('expiry');
  if (choice === 'date') {
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(values.get('expiresAt') ?? '');
    if (!day) {
      throw new UserError({
        code: 'VALIDATION_FAILED',
        message: 'Choose the day the key stops working.',
        field: 'expiresAt',
      });
    }
    // The end of that day in the reader's time zone (not midnight UTC): a key "expiring on
    // 5 December" works all of 5 December where its owner is, and stops as it ends.
    const [, year, month, date] = day.map(Number);
    return new Date(year, month - 1, date, 23, 59, 59).toISOString();
  }
  if (choice === 'never') return null;
  return new Date(Date.now() + Number(choice) * DAY_MS).toISOString(); // "7", "30" or "90" days
}
