// LiveChat web client: sign up, log in, rooms, and one room's live chat.
//
// Plain browser JavaScript, no framework and no build step. Everything that
// comes from the server is put on the page with textContent, never as HTML.
// Messages are keyed by their room seq, so history pages, the socket's replay
// after a reconnect and live frames can overlap without showing anything twice.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  const HISTORY_PAGE = 50;
  const ROOMS_PAGE = 50;
  const MAX_MESSAGE_CHARS = 4096; // the server's default limit, in characters
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const RESEND_AFTER_ERROR_MS = 2000; // past the server's per-second rate limit

  // ---- session: tokens live in sessionStorage, one login per tab ----------

  const SESSION_KEY = 'livechat.session';
  const PENDING_PREFIX = 'livechat.pending.';

  function loadJSON(key, fallback) {
    try {
      const v = JSON.parse(sessionStorage.getItem(key));
      return v === null ? fallback : v;
    } catch {
      return fallback;
    }
  }

  let auth = loadJSON(SESSION_KEY, null); // {access, refresh, user, accessAt}

  function saveAuth(a) {
    auth = a;
    if (a) sessionStorage.setItem(SESSION_KEY, JSON.stringify(a));
    else sessionStorage.removeItem(SESSION_KEY);
    scheduleRenewal();
  }

  // ---- token renewal ---------------------------------------------------------
  // A socket's authority ends when the access token it was opened with
  // expires (the server closes it with 4001). So the page renews the token
  // at three quarters of its lifetime, counted by the token's own iat and
  // exp from when it was received (the clocks need not agree), and hands
  // the new one to the open socket with auth.refresh.

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

  function scheduleRenewal() {
    clearTimeout(renewTimer);
    renewTimer = 0;
    const t = auth && auth.access ? tokenTimes(auth.access) : null;
    if (!t) return;
    // exp and iat are whole seconds: the lifetime may be a second shorter.
    const life = (t.exp - t.iat) * 1000;
    const wait = Math.max((life - 1000) * 0.75, life / 4);
    const at = (auth.accessAt || Date.now()) + wait;
    renewTimer = setTimeout(renewNow, Math.max(at - Date.now(), 0));
  }

  async function renewNow() {
    renewTimer = 0;
    if (await refreshAccess()) {
      if (current) current.sendToken();
    } else if (auth && !renewTimer) {
      renewTimer = setTimeout(renewNow, RENEW_RETRY_MS);
    }
  }

  // ---- HTTP ----------------------------------------------------------------

  // ApiError carries the status and the DRF-style body: field -> [messages],
  // non_field_errors, or detail. Status 0 means the server was not reached.
  class ApiError extends Error {
    constructor(status, body) {
      super(describeError(status, body));
      this.status = status;
      this.body = body && typeof body === 'object' ? body : {};
    }
  }

  function describeError(status, body) {
    if (body && typeof body.detail === 'string') return body.detail;
    if (body && Array.isArray(body.non_field_errors)) return body.non_field_errors.join(' ');
    if (status === 0) return 'Cannot reach the server. Check your connection.';
    return `The server answered ${status}.`;
  }

  async function request(method, path, body, withAuth) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (withAuth && auth) headers.Authorization = 'Bearer ' + auth.access;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
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
        data = { detail: `Unexpected answer from the server (${res.status}).` };
      }
    }
    return { status: res.status, ok: res.ok, data };
  }

  // publicCall is for the calls made before logging in.
  async function publicCall(method, path, body) {
    const r = await request(method, path, body, false);
    if (!r.ok) throw new ApiError(r.status, r.data);
    return r.data;
  }

  let refreshing = null;

  // refreshAccess trades the refresh token for a new access token once, however
  // many requests found the old one expired at the same time.
  function refreshAccess() {
    if (!refreshing) {
      const refresh = auth && auth.refresh;
      refreshing = (async () => {
        if (!refresh) return false;
        const r = await request('POST', '/user/v1/token/refresh/', { refresh }, false);
        if (!r.ok || !r.data || !r.data.access) return false;
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
  async function api(method, path, body) {
    let r = await request(method, path, body, true);
    if (r.status === 401 && r.data && r.data.code === 'token_not_valid' && await refreshAccess()) {
      r = await request(method, path, body, true);
    }
    if (r.status === 401) {
      endSession('Your session has expired. Please log in again.');
      throw new ApiError(401, r.data);
    }
    if (!r.ok) throw new ApiError(r.status, r.data);
    return r.data;
  }

  // ---- forms ---------------------------------------------------------------

  function clearFormErrors(form) {
    for (const el of form.querySelectorAll('[data-error-for], [data-form-error]')) el.textContent = '';
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  }

  // showFormErrors puts each field's messages next to that field and the rest
  // (non_field_errors, detail, fields the form does not have) at the top.
  function showFormErrors(form, err) {
    clearFormErrors(form);
    const body = err instanceof ApiError ? err.body : {};
    const used = new Set(['code', 'detail', 'non_field_errors']);
    for (const slot of form.querySelectorAll('[data-error-for]')) {
      const field = slot.dataset.errorFor;
      if (!(field in body)) continue;
      used.add(field);
      slot.textContent = asText(body[field]);
      const input = form.elements.namedItem(field);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
    const general = [];
    if (body.non_field_errors) general.push(asText(body.non_field_errors));
    if (typeof body.detail === 'string') general.push(body.detail);
    for (const [field, msgs] of Object.entries(body)) {
      if (!used.has(field)) general.push(`${field}: ${asText(msgs)}`);
    }
    if (!general.length && !form.querySelector('[aria-invalid]')) general.push(err.message || 'Something went wrong.');
    const top = form.querySelector('[data-form-error]');
    if (top) top.textContent = general.join(' ');
  }

  function asText(v) {
    return Array.isArray(v) ? v.map(String).join(' ') : String(v);
  }

  async function withBusy(button, fn) {
    button.disabled = true;
    try {
      await fn();
    } finally {
      button.disabled = false;
    }
  }

  // ---- views and routing ---------------------------------------------------

  const VIEWS = ['auth-view', 'rooms-view', 'chat-view'];

  function showView(view) {
    for (const v of VIEWS) $(v).hidden = v !== view;
    document.body.dataset.view = view;
  }

  function renderUser() {
    $('who').hidden = !auth;
    $('whoami').textContent = auth && auth.user ? auth.user.nickname : '';
  }

  let current = null; // the ChatRoom on screen, if any

  function route() {
    renderUser();
    if (!auth) {
      leaveRoom();
      showView('auth-view');
      document.title = 'LiveChat';
      return;
    }
    const m = /^#\/rooms\/(\d+)$/.exec(location.hash);
    if (m) {
      const id = Number(m[1]);
      if (!current || current.id !== id) {
        leaveRoom();
        current = new ChatRoom(id);
        current.start();
      }
      showView('chat-view');
      return;
    }
    leaveRoom();
    showView('rooms-view');
    document.title = 'LiveChat';
    loadRooms();
  }

  function leaveRoom() {
    if (current) current.stop();
    current = null;
  }

  function endSession(message) {
    if (!auth) return;
    saveAuth(null);
    leaveRoom();
    route();
    $('login-error').textContent = message;
  }

  // ---- accounts ------------------------------------------------------------

  async function logIn(email, password) {
    const data = await publicCall('POST', '/user/v1/login/', { email, password });
    saveAuth({ access: data.access, refresh: data.refresh, user: data.user, accessAt: Date.now() });
  }

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    withBusy($('login-btn'), async () => {
      clearFormErrors(form);
      try {
        await logIn($('email').value.trim(), $('password').value);
        form.reset();
        if (!location.hash.startsWith('#/rooms/')) location.hash = '#/rooms';
        route();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });

  $('register-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    withBusy($('register-btn'), async () => {
      clearFormErrors(form);
      const body = {
        email: $('reg-email').value.trim(),
        nickname: $('reg-nickname').value.trim(),
        password1: $('reg-password1').value,
        password2: $('reg-password2').value,
      };
      try {
        await publicCall('POST', '/user/v1/register/', body);
        await logIn(body.email, body.password1);
        form.reset();
        location.hash = '#/rooms';
        route();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });

  $('logout-btn').addEventListener('click', async () => {
    const refresh = auth && auth.refresh;
    leaveRoom();
    if (refresh) {
      // Revoking is best effort: the local session ends either way.
      try {
        await request('POST', '/user/v1/logout/', { refresh }, true);
      } catch { /* offline: the refresh token simply expires */ }
    }
    saveAuth(null);
    for (const key of Object.keys(sessionStorage)) {
      if (key.startsWith(PENDING_PREFIX)) sessionStorage.removeItem(key);
    }
    location.hash = '';
    route();
  });

  // ---- rooms ---------------------------------------------------------------

  let roomsLoadSeq = 0;
  let roomsFlash = ''; // an error to show once on the next rooms list

  async function loadRooms(after) {
    const token = ++roomsLoadSeq;
    $('rooms-error').textContent = roomsFlash;
    roomsFlash = '';
    if (!after) $('room-list').replaceChildren();
    const q = `?limit=${ROOMS_PAGE}` + (after ? `&after=${after}` : '');
    try {
      const rooms = await api('GET', '/chat/v1/room/' + q);
      if (token !== roomsLoadSeq) return;
      for (const room of rooms) $('room-list').appendChild(roomItem(room));
      $('no-rooms').hidden = $('room-list').childElementCount > 0;
      const more = $('more-rooms-btn');
      more.hidden = rooms.length < ROOMS_PAGE;
      more.dataset.after = rooms.length ? String(rooms[rooms.length - 1].id) : '';
    } catch (err) {
      if (token === roomsLoadSeq && err.status !== 401) $('rooms-error').textContent = err.message;
    }
  }

  function roomItem(room) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `#/rooms/${Number(room.id)}`;
    a.className = 'room-link';
    a.dataset.testid = 'room';
    a.dataset.roomId = String(room.id);
    const name = document.createElement('span');
    name.className = 'room-name';
    name.textContent = room.name;
    const id = document.createElement('span');
    id.className = 'room-id';
    id.textContent = `#${room.id}`;
    a.append(name, id);
    li.appendChild(a);
    return li;
  }

  $('more-rooms-btn').addEventListener('click', (ev) => loadRooms(ev.currentTarget.dataset.after));

  $('create-room-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    withBusy($('create-room-btn'), async () => {
      clearFormErrors(form);
      try {
        const room = await api('POST', '/chat/v1/room/', { name: $('room-name-input').value.trim() });
        form.reset();
        location.hash = `#/rooms/${Number(room.id)}`;
      } catch (err) {
        if (err.status !== 401) showFormErrors(form, err);
      }
    });
  });

  // ---- one room ------------------------------------------------------------

  function randomId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // upperBound is the index of the first element of the sorted array a that
  // is greater than x.
  function upperBound(a, x) {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function closeReason(ev) {
    switch (ev.code) {
      case 1008: return 'Disconnected by the server: too many invalid frames.';
      case 4001: return 'Your access token expired.';
      case 4008: return 'Disconnected by the server: this connection was too slow to keep up.';
      case 1009: return 'Disconnected: a message was too large.';
      case 1001: return 'The server is restarting.';
      case 1011: return 'The room had a problem on the server.';
      case 1000:
      case 1005:
      case 1006: return 'Connection lost.';
      default: return `Connection closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''}).`;
    }
  }

  function setStatus(state, text, canRetry) {
    $('status').dataset.state = state;
    $('status-text').textContent = text;
    $('retry-btn').hidden = !canRetry;
  }

  function showChatError(text) {
    const el = $('chat-error');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(showChatError.timer);
    showChatError.timer = setTimeout(() => { el.hidden = true; }, 8000);
  }

  function myEmail() {
    return auth && auth.user && auth.user.email ? auth.user.email.toLowerCase() : '';
  }

  // ChatRoom owns the room on screen: its messages (by seq), who is online,
  // the socket with its reconnects, and the messages not yet confirmed.
  class ChatRoom {
    constructor(id) {
      this.id = id;
      this.seqs = []; // sorted seqs on screen
      this.bySeq = new Map(); // seq -> <li>
      this.online = new Set();
      this.pending = loadJSON(PENDING_PREFIX + id, []); // [{client_id, text}]
      this.ws = null;
      this.loaded = false; // the first GET of the room has been applied
      this.attempt = 0;
      this.timer = 0;
      this.resendTimer = 0;
      this.stopped = false;
      this.suspended = false;
      this.connecting = false; // between connect's start and the socket's creation
      this.loadingOlder = false;
      this.reachedStart = false;
    }

    get maxSeq() { return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0; }
    get minSeq() { return this.seqs.length ? this.seqs[0] : 0; }

    start() {
      $('room-title').textContent = '';
      $('messages').replaceChildren();
      $('online').replaceChildren();
      $('online-count').textContent = '';
      $('chat-error').hidden = true;
      $('load-older').hidden = true;
      $('history-start').hidden = true;
      this.renderPending();
      this.connect();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      clearTimeout(this.resendTimer);
      this.closeSocket('leaving');
    }

    closeSocket(reason) {
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onclose = null;
        ws.close(1000, reason);
      }
    }

    // connect fetches the room first: that finds a deleted room (404) and
    // refreshes an expired access token, neither of which a browser's failed
    // WebSocket handshake would tell us.
    async connect() {
      this.timer = 0;
      if (this.stopped || this.suspended || this.connecting) return;
      this.connecting = true;
      try {
        await this.fetchAndOpen();
      } finally {
        this.connecting = false;
      }
    }

    async fetchAndOpen() {
      setStatus('connecting', this.loaded ? 'Reconnecting…' : 'Connecting…', false);
      let room;
      try {
        room = await api('GET', `/chat/v1/room/${this.id}/`);
      } catch (err) {
        if (this.stopped || err.status === 401) return;
        if (err.status === 404) return this.gone();
        return this.retry(err.message);
      }
      if (this.stopped || this.suspended) return;
      this.applyRoom(room);
      this.open();
    }

    applyRoom(room) {
      $('room-title').textContent = room.name;
      document.title = `${room.name} · LiveChat`;
      if (!this.loaded) {
        // Only the first load takes the room's latest messages: after that,
        // the socket's since= replay fills the gap, and merging the latest 50
        // here could leave a hole below them.
        this.loaded = true;
        const msgs = Array.isArray(room.chat_messages) ? room.chat_messages : [];
        for (const m of msgs) this.addMessage(m);
        if (msgs.length < HISTORY_PAGE || this.minSeq <= 1) this.markStart();
        else $('load-older').hidden = false;
        this.scrollToBottom();
      }
      this.online = new Set(Array.isArray(room.online) ? room.online : []);
      this.renderOnline();
    }

    open() {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const token = auth.access;
      const url = `${scheme}//${location.host}/ws/chat/${this.id}/chat/` +
        `?token=${encodeURIComponent(token)}&since=${this.maxSeq}`;
      const ws = new WebSocket(url);
      this.ws = ws;
      ws.onopen = () => {
        if (ws !== this.ws) return;
        this.attempt = 0;
        if (auth && auth.access !== token) this.sendToken(); // renewed while connecting
        setStatus('open', 'Connected', false);
        if (auth && auth.user) this.online.add(auth.user.nickname);
        this.renderOnline();
        // The server keeps one message per client_id, so resending whatever
        // was not confirmed before the drop cannot duplicate it.
        for (const p of this.pending) ws.send(frameFor(p));
        this.renderPending();
      };
      ws.onmessage = (ev) => {
        if (ws === this.ws) this.onFrame(ev.data);
      };
      ws.onclose = (ev) => {
        if (ws !== this.ws) return;
        this.ws = null;
        if (ev.code === 1008 || ev.code === 4008) this.attempt = Math.max(this.attempt, 3);
        this.retry(closeReason(ev));
      };
    }

    // sendToken hands the renewed access token to the open socket, whose
    // authority would otherwise end with the token it was opened with.
    sendToken() {
      if (auth && this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ type: 'auth.refresh', token: auth.access }));
      }
    }

    retry(reason) {
      if (this.stopped || this.timer) return;
      this.renderPending();
      if (this.suspended) {
        setStatus('offline', 'Offline. Messages you send wait until you reconnect.', true);
        return;
      }
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.attempt++;
      setStatus('reconnecting', `${reason} Reconnecting in ${Math.ceil(delay / 1000)} s…`, true);
      this.timer = setTimeout(() => this.connect(), delay);
    }

    reconnectNow() {
      if (this.stopped || this.ws || this.connecting) return;
      clearTimeout(this.timer);
      this.timer = 0;
      this.suspended = false;
      this.connect();
    }

    gone() {
      this.stop();
      if (current === this) current = null;
      roomsFlash = 'That room does not exist (it may have been deleted).';
      location.hash = '#/rooms';
    }

    onFrame(raw) {
      let f;
      try {
        f = JSON.parse(raw);
      } catch {
        return;
      }
      switch (f && f.type) {
        case 'chat.message': return this.onMessage(f);
        case 'chat.user.join': return this.onPresence(f.username, true);
        case 'chat.user.leave': return this.onPresence(f.username, false);
        case 'chat.error': return this.onError(f);
        default: return undefined;
      }
    }

    // onError shows a chat.error. Two of them mean a message was not stored
    // (unavailable failed to store it, storage_full refused it), so the
    // unconfirmed ones go again a little later; their client_ids keep a
    // message that did get stored from being stored twice.
    onError(f) {
      if (f.error_type === 'token_expired') return; // the close that follows says it, and reconnects
      showChatError(`Error: ${f.message || f.error_type || 'unknown'}`);
      if (f.error_type !== 'storage_full' && f.error_type !== 'unavailable') return;
      if (!this.pending.length || this.resendTimer) return;
      this.resendTimer = setTimeout(() => {
        this.resendTimer = 0;
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
          for (const p of this.pending) this.ws.send(frameFor(p));
        }
      }, RESEND_AFTER_ERROR_MS);
    }

    onMessage(m) {
      const stick = this.nearBottom();
      const isNew = this.addMessage(m);
      this.settle(m, isNew);
      if (stick) this.scrollToBottom();
    }

    // settle drops the pending entry that m confirms: by client_id when the
    // server echoes it, else the oldest pending one of ours with the same text.
    settle(m, isNew) {
      let i = -1;
      if (m.client_id) i = this.pending.findIndex((p) => p.client_id === m.client_id);
      if (i < 0 && isNew && typeof m.sender === 'string' && m.sender.toLowerCase() === myEmail()) {
        i = this.pending.findIndex((p) => p.text === m.message);
      }
      if (i < 0) return;
      this.pending.splice(i, 1);
      this.savePending();
      this.renderPending();
    }

    // addMessage puts m in seq order and reports whether it was new.
    addMessage(m) {
      const seq = Number.isInteger(m.seq) ? m.seq : null;
      if (seq !== null && this.bySeq.has(seq)) return false;
      const el = renderMessage(m, typeof m.sender === 'string' && m.sender.toLowerCase() === myEmail());
      const list = $('messages');
      if (seq === null) {
        list.appendChild(el);
      } else {
        const i = upperBound(this.seqs, seq);
        if (i === this.seqs.length) list.appendChild(el);
        else list.insertBefore(el, this.bySeq.get(this.seqs[i]));
        this.seqs.splice(i, 0, seq);
        this.bySeq.set(seq, el);
      }
      markContinued(el);
      if (el.nextElementSibling) markContinued(el.nextElementSibling);
      return true;
    }

    async loadOlder() {
      if (this.loadingOlder || this.reachedStart || !this.seqs.length || this.stopped) return;
      this.loadingOlder = true;
      const btn = $('load-older');
      btn.disabled = true;
      btn.textContent = 'Loading older messages…';
      try {
        const page = await api('GET', `/chat/v1/room/${this.id}/messages/?before=${this.minSeq}&limit=${HISTORY_PAGE}`);
        if (this.stopped) return;
        const sc = $('scroller');
        const fromBottom = sc.scrollHeight - sc.scrollTop;
        for (const m of page) this.addMessage(m);
        sc.scrollTop = sc.scrollHeight - fromBottom; // keep what the reader was looking at
        if (!page.length || this.minSeq <= 1) this.markStart();
        btn.textContent = 'Load older messages';
      } catch (err) {
        if (err.status === 404) return this.gone();
        btn.textContent = 'Could not load older messages. Try again';
      } finally {
        this.loadingOlder = false;
        btn.disabled = false;
      }
    }

    markStart() {
      this.reachedStart = true;
      $('load-older').hidden = true;
      $('history-start').hidden = false;
    }

    onPresence(name, joined) {
      if (typeof name !== 'string') return;
      if (joined) this.online.add(name);
      else this.online.delete(name);
      this.renderOnline();
      const stick = this.nearBottom();
      const li = document.createElement('li');
      li.className = 'notice';
      li.dataset.testid = joined ? 'notice-join' : 'notice-leave';
      li.textContent = joined ? `${name} joined` : `${name} left`;
      $('messages').appendChild(li);
      if (stick) this.scrollToBottom();
    }

    renderOnline() {
      const names = [...this.online].sort((a, b) => a.localeCompare(b));
      $('online').replaceChildren(...names.map((n) => {
        const li = document.createElement('li');
        li.textContent = n;
        li.dataset.testid = 'online-user';
        return li;
      }));
      $('online-count').textContent = `${names.length} online`;
    }

    send(text) {
      const p = { client_id: randomId(), text };
      this.pending.push(p);
      this.savePending();
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(frameFor(p));
      this.renderPending();
      this.scrollToBottom();
    }

    savePending() {
      if (this.pending.length) sessionStorage.setItem(PENDING_PREFIX + this.id, JSON.stringify(this.pending));
      else sessionStorage.removeItem(PENDING_PREFIX + this.id);
    }

    renderPending() {
      const online = !!(this.ws && this.ws.readyState === WebSocket.OPEN);
      $('pending').replaceChildren(...this.pending.map((p) => {
        const li = renderMessage({ message: p.text, nickname: auth && auth.user ? auth.user.nickname : '' }, true);
        li.classList.add('pending');
        li.dataset.testid = 'pending-message';
        li.dataset.clientId = p.client_id;
        li.querySelector('time').textContent = online ? 'sending…' : 'waiting for connection…';
        return li;
      }));
    }

    nearBottom() {
      const sc = $('scroller');
      return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
    }

    scrollToBottom() {
      const sc = $('scroller');
      sc.scrollTop = sc.scrollHeight;
    }
  }

  // markContinued styles a message that follows one from the same sender
  // without its avatar and name, as chat apps group a run of messages.
  function markContinued(el) {
    const prev = el.previousElementSibling;
    const same = !!prev && prev.classList.contains('msg') && el.classList.contains('msg') &&
      prev.dataset.sender === el.dataset.sender;
    el.classList.toggle('continued', same);
  }

  function frameFor(p) {
    return JSON.stringify({ type: 'chat.message', message: p.text, client_id: p.client_id });
  }

  function renderMessage(m, mine) {
    const li = document.createElement('li');
    li.className = mine ? 'msg mine' : 'msg';
    li.dataset.testid = 'message';
    if (Number.isInteger(m.seq)) li.dataset.seq = String(m.seq);
    if (Number.isInteger(m.id)) li.dataset.id = String(m.id);
    li.dataset.sender = m.sender || '';

    const avatar = document.createElement('span');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    const pic = m.profile_picture_url;
    if (typeof pic === 'string' && pic.startsWith('/') && !pic.startsWith('//')) {
      const img = document.createElement('img');
      img.src = pic;
      img.alt = '';
      avatar.appendChild(img);
    } else {
      avatar.textContent = Array.from(m.nickname || m.sender || '?')[0] || '?';
    }

    const body = document.createElement('div');
    body.className = 'bubble';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const nick = document.createElement('span');
    nick.className = 'nick';
    nick.textContent = m.nickname || m.sender || '';
    if (m.sender) nick.title = m.sender;
    const time = document.createElement('time');
    if (m.created_at) {
      const d = new Date(m.created_at);
      if (!Number.isNaN(d.getTime())) {
        time.dateTime = m.created_at;
        time.title = d.toLocaleString();
        time.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      }
    }
    meta.append(nick, time);
    const text = document.createElement('div');
    text.className = 'text';
    text.dataset.testid = 'message-text';
    text.textContent = m.message;
    body.append(meta, text);
    li.append(avatar, body);
    return li;
  }

  // ---- chat controls -------------------------------------------------------

  function submitMessage() {
    const input = $('message-input');
    const text = input.value.trim();
    if (!text || !current) return;
    if (Array.from(text).length > MAX_MESSAGE_CHARS) {
      showChatError(`A message can be at most ${MAX_MESSAGE_CHARS} characters.`);
      return;
    }
    current.send(text);
    input.value = '';
    fitInput();
    input.focus();
  }

  // fitInput grows the message box with its lines, up to the CSS max-height.
  function fitInput() {
    const input = $('message-input');
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight + 2}px`;
  }

  $('composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitMessage();
  });

  $('message-input').addEventListener('keydown', (ev) => {
    // While a Korean (or any IME) syllable is being composed, Enter ends the
    // composition; it must not send the half-typed text.
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      submitMessage();
    }
  });

  $('message-input').addEventListener('input', fitInput);
  // A reader at the bottom stays there when the scroller shrinks: a banner
  // or an error appears, or a phone's keyboard opens.
  let atBottom = true;
  $('scroller').addEventListener('scroll', () => {
    atBottom = current ? current.nearBottom() : true;
    if (current && $('scroller').scrollTop < 40) current.loadOlder();
  });
  new ResizeObserver(() => {
    if (atBottom && current) current.scrollToBottom();
  }).observe($('scroller'));
  $('load-older').addEventListener('click', () => current && current.loadOlder());
  $('retry-btn').addEventListener('click', () => current && current.reconnectNow());
  window.addEventListener('online', () => current && current.reconnectNow());
  window.addEventListener('hashchange', route);
  scheduleRenewal();

  // __livechat is a small handle for tests and debugging in the console.
  window.__livechat = {
    get ws() { return current ? current.ws : null; },
    get room() { return current; },
    seqs() { return current ? current.seqs.slice() : []; },
    // suspend drops the socket and holds off reconnecting until resume.
    suspend() {
      if (!current) return;
      current.suspended = true;
      clearTimeout(current.timer);
      current.timer = 0;
      if (current.ws) current.ws.close(4000, 'suspended');
    },
    resume() { if (current) current.reconnectNow(); },
  };

  route();
})();
