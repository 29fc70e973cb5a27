// Reading a token's claims in the page. Never a check: the API verifies every token; the page
// only needs the subject to name the user's own routes.

/** The subject of a JWT, or '' when it is not a token with one. */
export function subjectOf(token) {
  try {
    // The payload is base64url of UTF-8 JSON: atob alone reads each byte as a character, so a
    // user id like `zoë` would name another user's routes.
    const binary = atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof payload.sub === 'string' || typeof payload.sub === 'number'
      ? String(payload.sub)
      : '';
  } catch {
    return '';
  }
}
