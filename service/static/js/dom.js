// Building DOM nodes without innerHTML: key names and descriptions are user input, and
// text nodes can never be interpreted as markup.

/**
 * Create an element with attributes (`true` makes a boolean attribute; `false`, `null` and
 * `undefined` leave it out) and children (nodes or strings; `null` and `false` are skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(
    ...children.flat().filter((child) => child !== null && child !== undefined && child !== false),
  );
  return element;
}

/** Show `message` in a (role="alert") element, or hide it when the message is empty. */
export function showMessage(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}

const flashTimers = new WeakMap();

/** Briefly replace a button's text (e.g. "Copied"), then put the old text back. */
export function flashText(button, text, milliseconds = 2000) {
  const previous = flashTimers.get(button);
  if (previous) clearTimeout(previous.timer);
  const original = previous?.original ?? button.textContent;
  button.textContent = text;
  const timer = setTimeout(() => {
    button.textContent = original;
    flashTimers.delete(button);
  }, milliseconds);
  flashTimers.set(button, { original, timer });
}
