// Escaping and formatting for the paywall page. Everything the page shows that comes from a route's
// configuration or the 402 (description, URLs, addresses, asset names) passes through `escapeHtml`, and
// the data for the script is JSON that cannot end its <script> element (`jsonForScript`).

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an HTML text node or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON for `<script type="application/json">`: `<`, `>`, `&` and the JS line separators as \u escapes, so
 * that no string in it can close the element (`</script>`) or open a comment (`<!--`); JSON.parse reads it
 * back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `amount` base units in whole units of a token with `decimals` decimals, exactly (bigint arithmetic,
 * no float rounding): formatUnits("10000", 6) = "0.01". Null when `amount` is not a non-negative integer.
 */
export function formatUnits(amount: string, decimals: number): string | null {
  if (!/^\d{1,78}$/.test(amount) || !Number.isInteger(decimals) || decimals < 0 || decimals > 36) return null;
  const value = BigInt(amount);
  const base = 10n ** BigInt(decimals);
  const whole = value / base;
  const fraction = (value % base).toString().padStart(decimals, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole.toString();
}
