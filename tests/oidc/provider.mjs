// A real OpenID Connect provider (panva's oidc-provider, certified by the OpenID Foundation) for
// the tests of the city sign-in (tests/oidc_provider.py starts it, tests/portal/test_city_sign_in.py
// signs in through it). Loopback only; nothing here is for production.
//
//   node provider.mjs settings.json
//
// settings.json: {"clients": [{"client_id", "client_secret", "redirect_uris",
//                               "id_token_claims": {...}?, "foreign_key": bool?}],
//                 "accounts": {"<login>": {claims other than sub}}}
// A client's `id_token_claims` are written over the ID tokens issued to it (re-signed with the
// provider's own key: a validly signed token claiming, say, another issuer); with `foreign_key`
// its ID tokens are re-signed with a key the provider never published. Once listening it prints
// one line of JSON: {"issuer": "http://127.0.0.1:<port>"}.
//
// The login page is the test's: GET /interaction/<uid>?login=<account> signs that account in (an
// unknown one is refused by the provider as no account); consent is taken as given for every client.

import fs from 'node:fs';
import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byClient = Object.fromEntries(settings.clients.map((c) => [c.client_id, c]));

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signing = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', use: 'sig', alg: 'RS256' };
const foreign = (await jose.generateKeyPair('RS256', { extractable: true })).privateKey;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: settings.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signing] },
  cookies: { keys: ['legitka-test-provider-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false, // the scopes' claims in the ID token itself, as city providers are set up
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const claims = settings.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

// The test's hooks on issued ID tokens (see above), after the token endpoint has answered.
provider.use(async (ctx, next) => {
  await next();
  const client = ctx.oidc?.client && byClient[ctx.oidc.client.clientId];
  if (ctx.oidc?.route !== 'token' || !client || !ctx.body?.id_token) return;
  if (!client.id_token_claims && !client.foreign_key) return;
  const claims = { ...jose.decodeJwt(ctx.body.id_token), ...(client.id_token_claims || {}) };
  const key = client.foreign_key ? foreign : privateKey;
  ctx.body = { ...ctx.body, id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(key) };
});

const callback = provider.callback();
server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  if (!url.pathname.startsWith('/interaction/')) return callback(req, res);
  try {
    await provider.interactionDetails(req, res);
    const login = url.searchParams.get('login');
    if (!login) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<form><input name="login"><button>Zaloguj</button></form>');
    }
    return await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    return res.end(String(error));
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
