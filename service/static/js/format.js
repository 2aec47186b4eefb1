// Dates as people read them: the creation date in full, "last used" relative to now.

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "Nov 26, 2026, 3:48 PM" in the reader's locale and time zone. */
export function formatDate(iso) {
  return dateFormat.format(new Date(iso));
}

/** "Never", "Just now", "3 minutes ago", "yesterday", "2 months ago". */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return 'Never';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  // Clocks differ a little between server and browser: a use "in 2 seconds" is "just now".
  if (Math.abs(seconds) < 45) return 'Just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return relativeFormat.format(Math.round(seconds / 60), 'minute');
}
