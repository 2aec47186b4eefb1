// Dates as people read them: the creation date in full, "last used" and expiries relative to now.

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
// An expiry is a deadline: "in 1 day" rather than "tomorrow", which may be a calendar day off.
const countdownFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'always' });
const countFormat = new Intl.NumberFormat();

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

/**
 * `formatDate` in two pieces and what joins them, `["Nov 26, 2026,", " ", "3:48 PM"]`, so that
 * a narrow column can break between the date and the time only. One piece when the locale puts
 * the time first.
 */
export function formatDateInPieces(iso) {
  const parts = dateFormat.formatToParts(new Date(iso));
  const timeStart = parts.findIndex((part) => part.type === 'hour');
  if (timeStart <= 0) return [formatDate(iso)];
  const before = parts.slice(0, timeStart).map((part) => part.value).join('');
  const date = before.trimEnd();
  const time = parts.slice(timeStart).map((part) => part.value).join('');
  return [date, before.slice(date.length), time];
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

// Expiries are at most a year ahead and counted in days up to two months ("in 45 days"): a
// deadline in weeks ("in 2 weeks") hides whether it is 10 or 17 days away.
// [unit, its length in seconds, from how many seconds ahead it is used]
const COUNTDOWN_UNITS = [
  ['month', 30 * 24 * 3600, 60 * 24 * 3600],
  ['day', 24 * 3600, 24 * 3600],
  ['hour', 3600, 3600],
  ['minute', 60, 60],
];

/** Whether a key with this expiry (null: never) has stopped working, by the browser's clock. */
export function isExpired(iso, now = Date.now()) {
  return Boolean(iso) && new Date(iso).getTime() <= now;
}

/** "Never", "in 12 days", "in 5 hours", "in 3 months", or "Expired" once past. */
export function formatExpiry(iso, now = Date.now()) {
  if (!iso) return 'Never';
  const seconds = (new Date(iso).getTime() - now) / 1000;
  if (seconds <= 0) return 'Expired';
  for (const [unit, size, from] of COUNTDOWN_UNITS) {
    if (seconds >= from) return countdownFormat.format(Math.round(seconds / size), unit);
  }
  return 'in less than a minute';
}

/** "1 use", "1,204 uses". */
export function formatUses(count) {
  return `${countFormat.format(count)} ${count === 1 ? 'use' : 'uses'}`;
}
