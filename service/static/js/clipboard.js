// Copy text to the clipboard. The async Clipboard API is missing on insecure origins and may be
// refused (permissions, headless browsers); the old selection + execCommand('copy') route still
// works in those cases, so fall back to it before giving up.

/**
 * Copy `text`; `near` is an element next to which the temporary text area is placed (inside an
 * open modal dialog, an element elsewhere in the page would be inert and could not be selected).
 * Throws when neither route works.
 */
export async function copyText(text, near = document.body) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // Refused: try the fallback below.
    }
  }
  if (!copyWithSelection(text, near)) {
    throw new Error('Could not copy to the clipboard. Reveal the value and copy it by hand.');
  }
}

function copyWithSelection(text, near) {
  const previousFocus = document.activeElement;
  const buffer = document.createElement('textarea');
  buffer.value = text;
  buffer.readOnly = true; // no on-screen keyboard on touch devices
  buffer.className = 'clipboard-buffer';
  buffer.setAttribute('aria-hidden', 'true');
  buffer.tabIndex = -1;
  (near.parentElement ?? document.body).append(buffer);
  buffer.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  } finally {
    buffer.remove();
    if (previousFocus instanceof HTMLElement) previousFocus.focus();
  }
  return copied;
}
