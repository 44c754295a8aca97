/** @module HTML responses for the authorization endpoint: escaping and the security headers every page carries. */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Response options for a page. */
export interface PageOptions {
  status: number;
  /** Nonce of the page's only inline `<style>`; there is no script at all. */
  nonce: string;
  /** Extra CSP form-action sources: the redirect URI's origin, which the post-consent 302 goes to. */
  formAction?: string[];
  headers?: Record<string, string>;
}

/**
 * An HTML response with anti-framing, CSP (no script; nonce'd style), no-store and no-referrer
 * (spec-checklist [1.6], BP26 "Required Protections"). Never carries CORS headers.
 */
export function htmlResponse(html: string, o: PageOptions): Response {
  const formAction = ["'self'", ...(o.formAction ?? [])].join(' ');
  const csp = [
    "default-src 'none'",
    `style-src 'nonce-${o.nonce}'`,
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return new Response(html, {
    status: o.status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': csp,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      'Referrer-Policy': 'no-referrer',
      ...o.headers,
    },
  });
}

/** The CSP source for a redirect URI: its origin for http(s), its scheme for private-use schemes. */
export function cspSourceFor(uri: string): string {
  const url = new URL(uri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2129}
main{max-width:30rem;margin:0 auto;padding:1.25rem}section{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin:0 0 .75rem}p{margin:.5rem 0}.muted{color:#5f6670;font-size:.9rem}.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5rem .75rem;border-radius:4px}
.error{background:#fdecec;border-left:4px solid #d33;padding:.5rem .75rem;border-radius:4px}code{background:#eef0f3;padding:0 .25rem;border-radius:4px}
h1,p,label,code,strong,legend{overflow-wrap:anywhere}label.backend{display:flex;gap:.5rem;align-items:flex-start}label.backend input{margin-top:.3rem}.about{display:block;color:#5f6670;font-size:.9rem}
fieldset{border:1px solid #d8dbe0;border-radius:8px;margin:1rem 0;padding:.5rem .75rem}label{display:block;padding:.35rem 0}
input[type=password]{width:100%;font-size:1rem;padding:.6rem;border:1px solid #b9bec6;border-radius:8px}
.buttons{display:flex;gap:.75rem;margin-top:1rem}button{flex:1;font-size:1rem;padding:.7rem;border-radius:8px;border:1px solid #b9bec6;background:#fff}
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff}
`;

/** A complete page around `body` (already escaped HTML), mobile friendly, no external assets. */
export function pageShell(title: string, body: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style nonce="${escapeHtml(nonce)}">${STYLE}</style></head>
<body><main><section>${body}</section></main></body></html>`;
}

/** An error page: shown instead of redirecting when client_id or redirect_uri cannot be trusted. */
export function errorPage(title: string, message: string, nonce: string, status = 400, headers: Record<string, string> = {}): Response {
  const body = `<h1>${escapeHtml(title)}</h1><p class="error">${escapeHtml(message)}</p><p class="muted">Nothing was authorized. Start again from the app you were connecting.</p>`;
  return htmlResponse(pageShell(title, body, nonce), { status, nonce, headers });
}
