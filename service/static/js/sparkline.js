// A key's uses per day as a small bar chart: an inline SVG built node by node. The page's CSP
// allows no inline styles, so bars are sized by attributes and coloured by CSS classes.

import { formatUses } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** "12 uses in the last 30 days". */
export function usageSummary(days) {
  const total = days.reduce((sum, day) => sum + day.uses, 0);
  return `${formatUses(total)} in the last ${days.length} days`;
}

/**
 * A bar per day (`days`: `[{ date, uses }]`, oldest first, as the API answers), scaled to the
 * busiest day; a day without use is a thin stub, so the 30 days stay readable as a timeline.
 * The total is the chart's accessible name and its tooltip. With `detailed`, each bar has a
 * tooltip of its own ("Nov 3: 5 uses"), for the larger chart of the Usage dialog.
 */
export function sparkline(days, { width = 90, height = 24, detailed = false } = {}) {
  const summary = usageSummary(days);
  const chart = svg('svg', {
    class: detailed ? 'sparkline sparkline-large' : 'sparkline',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': summary,
    'data-testid': 'usage-sparkline',
  });
  // The large chart is stretched to the dialog's width by CSS: its bars stretch with it.
  if (detailed) chart.setAttribute('preserveAspectRatio', 'none');
  chart.append(svg('title', {}, summary));
  const busiest = Math.max(1, ...days.map((day) => day.uses));
  const slot = width / Math.max(1, days.length);
  const gap = slot >= 3 ? Math.max(1, Math.round(slot / 4)) : 0;
  days.forEach((day, index) => {
    // At least 2 units tall when used, so a quiet day never looks like an unused one.
    const barHeight = day.uses === 0 ? 1 : Math.max(2, (day.uses / busiest) * (height - 1));
    const bar = svg('rect', {
      class: day.uses === 0 ? 'spark-bar spark-bar-empty' : 'spark-bar',
      x: (index * slot + gap / 2).toFixed(2),
      y: (height - barHeight).toFixed(2),
      width: (slot - gap).toFixed(2),
      height: barHeight.toFixed(2),
      'data-date': day.date,
      'data-uses': day.uses,
    });
    if (detailed) bar.append(svg('title', {}, `${formatDay(day.date)}: ${formatUses(day.uses)}`));
    chart.append(bar);
  });
  return chart;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

/** "Nov 3", for a UTC day as the API counts them ("2026-11-03"). */
export function formatDay(isoDate) {
  return dayFormat.format(new Date(`${isoDate}T00:00:00Z`));
}
