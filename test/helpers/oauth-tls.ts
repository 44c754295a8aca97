/** @module A self-signed certificate for localhost/127.0.0.1 (test only) and an https server for CIMD documents. */

/** Test-only certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1, valid until 2126). Never trusted outside tests. */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUc3uZIAPermEKfZOlQyWY5wA2U/cwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjIyNTcxMVoYDzIxMjYxMTAy
MjI1NzExWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAT34JR+xavzd7/06GzoxgXkvEPxV5IouTA4G46b+Hx7LBudLqbmBN6A
vF33TwjBwdhK4iscuw1WOZXlzTTR0icXo28wbTAdBgNVHQ4EFgQUMu7C2ckbxDBy
IQADxeNtCKhw+YowHwYDVR0jBBgwFoAUMu7C2ckbxDByIQADxeNtCKhw+YowDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDRwAwRAIgQojmB1aXYYymhzU0I3fq1y7duz5S4s6nKEwGg7rUzjMCICLx
XQTc/h/HxVjST4ps2aea/GMf62mrbzB6KWJgyWnk
-----END CERTIFICATE-----
`;

/** Private key of TEST_CERT. */
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeQYoE4dKfo8ekyTi
t1ZESpr7VlrZumlVaEZmeWKqDoahRANCAAT34JR+xavzd7/06GzoxgXkvEPxV5Io
uTA4G46b+Hx7LBudLqbmBN6AvF33TwjBwdhK4iscuw1WOZXlzTTR0icX
-----END PRIVATE KEY-----
`;

/** fetch that trusts TEST_CERT; passed to the gateway as deps.fetch so it can reach the CIMD server. */
export const tlsFetch: typeof fetch = Object.assign(
  (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, tls: { ca: TEST_CERT } } as RequestInit),
  { preconnect: fetch.preconnect },
);

/** An https server on 127.0.0.1 that answers with `respond`; counts requests. */
export interface DocServer extends AsyncDisposable {
  origin: string;
  hits: number;
  respond: (req: Request) => Response | Promise<Response>;
}

/** Starts an https server for client metadata documents. */
export function startDocServer(respond: DocServer['respond']): DocServer {
  const state = { hits: 0, respond };
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    tls: { cert: TEST_CERT, key: TEST_KEY },
    fetch: (req) => {
      state.hits++;
      return state.respond(req);
    },
  });
  return Object.assign(state, {
    origin: `https://127.0.0.1:${server.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop(true);
    },
  }) as DocServer;
}
