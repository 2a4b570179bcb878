'use strict';

// The real, certified oidc-provider (v8) on plain http, loopback only, for Viatic's tests.
//
// Usage: node server.js '<json config>'   (or a path to a JSON file, or the config in the
// VIATIC_OIDC_PROVIDER_CONFIG environment variable). The config:
//   issuer    "http://127.0.0.1:<port>"
//   port      the port to listen on (127.0.0.1 only)
//   clients   oidc-provider client metadata: client_id, client_secret, redirect_uris,
//             post_logout_redirect_uris, grant_types, response_types,
//             token_endpoint_auth_method, userinfo_signed_response_alg, ...
//   accounts  { "<login>": { "email": ..., "name": ..., ... } }; sub is the login
//   ttl       optional seconds: { "AuthorizationCode": 60, "AccessToken": 300, "IdToken": 300, ... }
//   watch_stdin  optional: exit when standard input closes (the parent process is gone)
// It prints "READY <issuer>" once listening and exits cleanly on SIGTERM or SIGINT.

const crypto = require('node:crypto');
const fs = require('node:fs');

const DEFAULT_TTL = {
  AuthorizationCode: 60,
  AccessToken: 300,
  IdToken: 300,
  RefreshToken: 24 * 60 * 60,
  Interaction: 10 * 60,
  Session: 24 * 60 * 60,
  Grant: 24 * 60 * 60,
  ClientCredentials: 300,
  DeviceCode: 300,
  BackchannelAuthenticationRequest: 300,
};

function readConfig() {
  const source = process.argv[2] || process.env.VIATIC_OIDC_PROVIDER_CONFIG;
  if (!source) {
    throw new Error('no configuration: pass JSON (or a JSON file) as the first argument '
      + 'or in VIATIC_OIDC_PROVIDER_CONFIG');
  }
  const text = source.trim().startsWith('{') ? source : fs.readFileSync(source, 'utf8');
  const config = JSON.parse(text);
  for (const key of ['issuer', 'port', 'clients', 'accounts']) {
    if (config[key] === undefined) throw new Error(`the configuration lacks "${key}"`);
  }
  return config;
}

// Fresh signing keys for each run: RS256 (the default for ID tokens and signed userinfo)
// and ES256 for clients that ask for it. Made with node's crypto, never the library's
// published development keys.
function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return {
    keys: [
      { ...rsa.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' },
      { ...ec.export({ format: 'jwk' }), kid: 'test-es256', use: 'sig', alg: 'ES256' },
    ],
  };
}

function ttlFunctions(overrides) {
  const seconds = { ...DEFAULT_TTL, ...(overrides || {}) };
  const ttl = {};
  for (const [name, value] of Object.entries(seconds)) {
    ttl[name] = () => value;
  }
  return ttl;
}

async function main() {
  const config = readConfig();
  const { default: Provider } = await import('oidc-provider');
  const accounts = config.accounts;

  const provider = new Provider(config.issuer, {
    clients: config.clients,
    jwks: signingKeys(),
    async findAccount(ctx, id) {
      if (!Object.prototype.hasOwnProperty.call(accounts, id)) return undefined;
      return {
        accountId: id,
        async claims() {
          return { ...accounts[id], sub: id };
        },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: true },
      claimsParameter: { enabled: true },
      revocation: { enabled: true },
    },
    cookies: {
      keys: ['viatic-test-cookie-key-1', 'viatic-test-cookie-key-2'],
      // The default SameSite=None for the long-lived session cookie is dropped by browsers
      // when the cookie is not Secure, which it cannot be on plain http: Lax keeps it.
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    ttl: ttlFunctions(config.ttl),
  });

  // Static clients are validated when first used: check them now, so that a wrong
  // configuration fails the start with its reason rather than a later request.
  for (const client of config.clients) {
    if (!(await provider.Client.find(String(client.client_id)))) {
      throw new Error(`client ${client.client_id} could not be loaded`);
    }
  }

  provider.on('server_error', (ctx, error) => {
    console.error('oidc-provider server_error:', error);
  });

  const server = provider.listen(config.port, '127.0.0.1');
  server.on('error', (error) => {
    console.error(`cannot listen on 127.0.0.1:${config.port}: ${error.code || error.message}`);
    process.exit(error.code === 'EADDRINUSE' ? 3 : 1);
  });
  server.on('listening', () => {
    process.stdout.write(`READY ${config.issuer}\n`);
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (config.watch_stdin) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

main().catch((error) => {
  if (error && error.error_description) console.error(`${error.message}: ${error.error_description}`);
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
