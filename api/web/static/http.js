// The session and the REST calls: tokens in sessionStorage (one login per
// tab), their renewal before they expire, and calls that refresh an expired
// access token once and retry.

import { t } from './i18n.js';

const SESSION_KEY = 'livechat.session';

export function loadJSON(key, fallback) {
  try {
    const v = JSON.parse(sessionStorage.getItem(key));
    return v === null ? fallback : v;
  } catch {
    return fallback;
  }
}

// session.auth is {access, refresh, user, accessAt} while signed in.
export const session = { auth: loadJSON(SESSION_KEY, null) };

const hooks = { renewed: [], ended: [] };

// onRenewed registers fn to run after the access token was renewed (open
// sockets hand it on with auth.refresh); onEnded after the session ended.
export function onRenewed(fn) { hooks.renewed.push(fn); }
export function onEnded(fn) { hooks.ended.push(fn); }

export function saveAuth(a) {
  session.auth = a;
  if (a) sessionStorage.setItem(SESSION_KEY, JSON.stringify(a));
  else sessionStorage.removeItem(SESSION_KEY);
  scheduleRenewal();
}

export function me() {
  return session.auth && session.auth.user ? session.auth.user : null;
}

// ---- token renewal ---------------------------------------------------------
// A socket's authority ends when the access token it was opened with
// expires (the server closes it with 4001). So the page renews the token
// at three quarters of its lifetime, counted by the token's own iat and
// exp from when it was received (the clocks need not agree), and hands
// the new one to the open sockets with auth.refresh.

const RENEW_RETRY_MS = 30000;
let renewTimer = 0;

function tokenTimes(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
    if (Number.isFinite(claims.iat) && Number.isFinite(claims.exp) && claims.exp > claims.iat) return claims;
  } catch { /* not a token this page can read: it is renewed on a 401 only */ }
  return null;
}

export function scheduleRenewal() {
  clearTimeout(renewTimer);
  renewTimer = 0;
  const auth = session.auth;
  const times = auth && auth.access ? tokenTimes(auth.access) : null;
  if (!times) return;
  // exp and iat are whole seconds: the lifetime may be a second shorter.
  const life = (times.exp - times.iat) * 1000;
  const wait = Math.max((life - 1000) * 0.75, life / 4);
  const at = (auth.accessAt || Date.now()) + wait;
  renewTimer = setTimeout(renewNow, Math.max(at - Date.now(), 0));
}

async function renewNow() {
  renewTimer = 0;
  if (await refreshAccess()) {
    for (const fn of hooks.renewed) fn();
  } else if (session.auth && !renewTimer) {
    renewTimer = setTimeout(renewNow, RENEW_RETRY_MS);
  }
}

// ---- HTTP ----------------------------------------------------------------

// ApiError carries the status and the DRF-style body: field -> [messages],
// non_field_errors, or detail. Status 0 means the server was not reached.
export class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body && typeof body === 'object' ? body : {};
  }
}

function describeError(status, body) {
  if (body && typeof body.detail === 'string') return body.detail;
  if (body && Array.isArray(body.non_field_errors)) return body.non_field_errors.join(' ');
  if (status === 0) return t('cannotReach');
  return t('serverAnswered', { status });
}

// request sends body as JSON, or as it is when it is FormData (multipart,
// with the boundary the browser picks).
export async function request(method, path, body, withAuth) {
  const headers = { Accept: 'application/json' };
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  if (withAuth && session.auth) headers.Authorization = 'Bearer ' + session.auth.access;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: t('unexpectedAnswer', { status: res.status }) };
    }
  }
  return { status: res.status, ok: res.ok, data };
}

// publicCall is for the calls made before logging in.
export async function publicCall(method, path, body) {
  const r = await request(method, path, body, false);
  if (!r.ok) throw new ApiError(r.status, r.data);
  return r.data;
}

let refreshing = null;

// refreshAccess trades the refresh token for a new access token once, however
// many requests found the old one expired at the same time.
export function refreshAccess() {
  if (!refreshing) {
    const refresh = session.auth && session.auth.refresh;
    refreshing = (async () => {
      if (!refresh) return false;
      const r = await request('POST', '/user/v1/token/refresh/', { refresh }, false);
      if (!r.ok || !r.data || !r.data.access) return false;
      const auth = session.auth;
      if (auth && auth.refresh === refresh) {
        saveAuth({ ...auth, access: r.data.access, refresh: r.data.refresh || refresh, accessAt: Date.now() });
      }
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

// api makes an authenticated call; on an expired access token it refreshes
// and retries once, and when that fails too the session is over.
export async function api(method, path, body) {
  let r = await request(method, path, body, true);
  if (r.status === 401 && r.data && r.data.code === 'token_not_valid' && await refreshAccess()) {
    r = await request(method, path, body, true);
  }
  if (r.status === 401) {
    endSession(t('sessionExpired'));
    throw new ApiError(401, r.data);
  }
  if (!r.ok) throw new ApiError(r.status, r.data);
  return r.data;
}

export function endSession(message) {
  if (!session.auth) return;
  saveAuth(null);
  for (const fn of hooks.ended) fn(message);
}

// socketURL is a WebSocket URL on this origin with the access token and
// the query rest (already encoded).
export function socketURL(path, rest) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}?token=${encodeURIComponent(session.auth.access)}${rest ? '&' + rest : ''}`;
}
