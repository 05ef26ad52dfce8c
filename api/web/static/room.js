// ChatRoom owns the room on screen: its messages (by seq, each with the rev
// of its latest change), who is online and who is typing, the members and
// their read markers, the socket with its reconnects, and the messages not
// yet confirmed.
//
// Messages are keyed by their room seq, so history pages, the socket's
// replay after a reconnect and live frames can overlap without showing
// anything twice; a frame about a message is applied only when its rev is
// above the one on screen, so repeats and stale frames change nothing.

import { t } from './i18n.js';
import { api, me, session, loadJSON, socketURL } from './http.js';
import { $, el, button, renderMessage, fillMessage, setActions, setDay, nextMessage, confirmDialog, errorText } from './messages.js';
import { MembersPanel } from './members.js';

const HISTORY_PAGE = 50;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const RESEND_AFTER_ERROR_MS = 2000; // past the server's per-second rate limit
const TYPING_EVERY_MS = 1000; // the contract: refresh at most once a second
const TYPING_DEFAULT_MS = 5000;
const READ_DELAY_MS = 150;
export const PENDING_PREFIX = 'livechat.pending.';
const EVENTS = 'typing,read,edit,member';

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
    case 1008: return t('closeInvalid');
    case 4001: return t('closeExpired');
    case 4008: return t('closeSlow');
    case 1009: return t('closeTooLarge');
    case 1001: return t('closeRestart');
    case 1011: return t('closeRoomProblem');
    case 1000:
    case 1005:
    case 1006: return t('closeLost');
    default: return t('closeOther', { code: ev.code + (ev.reason ? ': ' + ev.reason : '') });
  }
}

export function setStatus(state, text, canRetry) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
  $('retry-btn').hidden = !canRetry;
  // The online list is only known while connected.
  const stale = state !== 'open';
  $('online-panel').classList.toggle('stale', stale);
  $('online-stale').hidden = !stale;
}

export function showChatError(text) {
  const box = $('chat-error');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showChatError.timer);
  showChatError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

function frameFor(p) {
  return JSON.stringify({ type: 'chat.message', message: p.text, client_id: p.client_id });
}

function isMine(m) {
  const u = me();
  if (!u) return false;
  if (Number.isInteger(m.sender_id)) return m.sender_id === u.id;
  if (typeof m.sender !== 'string') return false;
  // A user who hides their email is "user-<id>" to everyone, themselves included.
  return m.sender === `user-${u.id}` || (!!u.email && m.sender.toLowerCase() === u.email.toLowerCase());
}

export class ChatRoom {
  // app: {gone(message), openDirect(userId)}
  constructor(id, app) {
    this.id = id;
    this.app = app;
    this.room = null; // the latest room detail
    this.extended = false; // the server speaks the rooms extension
    this.seqs = []; // sorted seqs on screen
    this.bySeq = new Map(); // seq -> <li>
    this.msgs = new Map(); // seq -> message in its current state
    this.online = new Set();
    this.typing = new Map(); // user id -> {nickname, timer}
    this.reads = new Map(); // user id -> last_read_seq
    this.readSent = 0;
    this.readTimer = 0;
    this.typingSentAt = 0;
    this.unsupported = new Set(); // client frame types the server does not know
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
    this.members = new MembersPanel(this);
  }

  get maxSeq() { return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0; }
  get minSeq() { return this.seqs.length ? this.seqs[0] : 0; }
  get role() { return this.room ? this.room.role ?? null : null; }
  get kind() { return this.room ? this.room.kind || 'public' : 'public'; }

  start() {
    $('room-title').textContent = '';
    $('room-kind').textContent = '';
    $('messages').replaceChildren();
    $('online').replaceChildren();
    $('online-count').textContent = '';
    $('typing').textContent = '';
    $('chat-error').hidden = true;
    $('load-older').hidden = true;
    $('history-start').hidden = true;
    this.members.reset();
    this.renderPending();
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.resendTimer);
    clearTimeout(this.readTimer);
    for (const v of this.typing.values()) clearTimeout(v.timer);
    this.typing.clear();
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

  // connect fetches the room first: that finds a room that is gone or not
  // visible (404) and refreshes an expired access token, neither of which a
  // browser's failed WebSocket handshake would tell us.
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
    setStatus('connecting', this.loaded ? t('reconnecting') : t('connecting'), false);
    let room;
    try {
      room = await api('GET', `/chat/v1/room/${this.id}/`);
    } catch (err) {
      if (this.stopped || err.status === 401) return;
      if (err.status === 404) return this.app.gone(this, t('roomGone'));
      return this.retry(err.message);
    }
    if (this.stopped || this.suspended) return;
    this.applyRoom(room);
    this.open();
    if (this.extended) this.members.load();
  }

  applyRoom(room) {
    this.room = room;
    this.extended = typeof room.kind === 'string';
    $('room-title').textContent = room.name;
    document.title = `${room.name} · LiveChat`;
    this.renderKind();
    if (Number.isInteger(room.last_read_seq)) this.noteRead(me().id, room.last_read_seq);
    const msgs = Array.isArray(room.chat_messages) ? room.chat_messages : [];
    if (!this.loaded) {
      // Only the first load takes the room's latest messages: after that,
      // the socket's since= replay fills the gap, and merging the latest 50
      // here could leave a hole below them.
      this.loaded = true;
      for (const m of msgs) this.addMessage(m);
      if (msgs.length < HISTORY_PAGE || this.minSeq <= 1) this.markStart();
      else $('load-older').hidden = false;
      this.scrollToBottom();
    } else {
      // The detail shows edits and deletions of messages on screen that a
      // replay would not repeat.
      for (const m of msgs) if (this.bySeq.has(m.seq)) this.applyState(m);
    }
    this.online = new Set(Array.isArray(room.online) ? room.online : []);
    this.renderOnline();
  }

  renderKind() {
    const k = this.kind;
    $('room-kind').textContent = k === 'private' ? t('labelPrivate') : k === 'direct' ? t('labelDirect') : '';
    $('room-kind').hidden = !$('room-kind').textContent;
    this.members.renderButton();
  }

  open() {
    const token = session.auth.access;
    const rest = `since=${this.maxSeq}` + (this.extended ? `&events=${EVENTS}` : '');
    const ws = new WebSocket(socketURL(`/ws/chat/${this.id}/chat/`, rest));
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      if (session.auth && session.auth.access !== token) this.sendToken(); // renewed while connecting
      setStatus('open', t('connected'), false);
      if (me()) this.online.add(me().nickname);
      this.renderOnline();
      // The server keeps one message per client_id, so resending whatever
      // was not confirmed before the drop cannot duplicate it.
      for (const p of this.pending) ws.send(frameFor(p));
      this.renderPending();
      this.scheduleRead();
    };
    ws.onmessage = (ev) => {
      if (ws === this.ws) this.onFrame(ev.data);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearTyping();
      if (ev.code === 4004) return this.app.gone(this, t('removedFromRoom'));
      if (ev.code === 1008 || ev.code === 4008) this.attempt = Math.max(this.attempt, 3);
      this.retry(closeReason(ev));
    };
  }

  isOpen() {
    return !!(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  sendFrame(f) {
    if (this.isOpen()) this.ws.send(JSON.stringify(f));
  }

  // sendToken hands the renewed access token to the open socket, whose
  // authority would otherwise end with the token it was opened with.
  sendToken() {
    if (session.auth) this.sendFrame({ type: 'auth.refresh', token: session.auth.access });
  }

  retry(reason) {
    if (this.stopped || this.timer) return;
    this.renderPending();
    if (this.suspended) {
      setStatus('offline', t('offlineWait'), true);
      return;
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    setStatus('reconnecting', t('retryIn', { reason, s: Math.ceil(delay / 1000) }), true);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws || this.connecting) return;
    clearTimeout(this.timer);
    this.timer = 0;
    this.suspended = false;
    this.connect();
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
      case 'chat.message.update': return this.onChange(f, false);
      case 'chat.message.delete': return this.onChange(f, true);
      case 'chat.typing': return this.onTyping(f);
      case 'chat.read': return this.onReceipts(f);
      case 'chat.member.add': return this.members.onAdd(f);
      case 'chat.member.remove': return this.members.onRemove(f);
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
    // A server without typing or read markers answers those frames with
    // "unknown type": the page stops sending them and says nothing.
    const unknown = f.error_type === 'invalid_request' && typeof f.message === 'string' &&
      /unknown type/i.test(f.message) && /chat\.(typing|read)/.exec(f.message);
    if (unknown) {
      this.unsupported.add(unknown[0]);
      return;
    }
    showChatError(t('errorPrefix', { msg: f.message || f.error_type || '?' }));
    if (f.error_type !== 'storage_full' && f.error_type !== 'unavailable') return;
    if (!this.pending.length || this.resendTimer) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = 0;
      if (this.isOpen()) for (const p of this.pending) this.ws.send(frameFor(p));
    }, RESEND_AFTER_ERROR_MS);
  }

  onMessage(m) {
    const stick = this.nearBottom();
    const isNew = this.addMessage(m);
    if (Number.isInteger(m.sender_id)) {
      // Posting counts as reading, and ends the sender's typing line.
      this.noteRead(m.sender_id, m.seq);
      this.stopTyping(m.sender_id);
      this.renderReceipts();
    }
    this.settle(m, isNew);
    if (stick) this.scrollToBottom();
    this.scheduleRead();
  }

  // settle drops the pending entry that m confirms: by client_id when the
  // server echoes it, else the oldest pending one of ours with the same text.
  settle(m, isNew) {
    let i = -1;
    if (m.client_id) i = this.pending.findIndex((p) => p.client_id === m.client_id);
    if (i < 0 && isNew && isMine(m)) i = this.pending.findIndex((p) => p.text === m.message);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.savePending();
    this.renderPending();
  }

  // addMessage puts m in seq order and reports whether it was new. A message
  // already on screen takes m's state when m is a later change of it.
  addMessage(m) {
    const seq = Number.isInteger(m.seq) ? m.seq : null;
    if (seq !== null && this.bySeq.has(seq)) {
      this.applyState(m);
      return false;
    }
    const li = renderMessage(m, isMine(m));
    const list = $('messages');
    if (seq === null) {
      list.appendChild(li);
    } else {
      const i = upperBound(this.seqs, seq);
      if (i === this.seqs.length) list.appendChild(li);
      else list.insertBefore(li, this.bySeq.get(this.seqs[i]));
      this.seqs.splice(i, 0, seq);
      this.bySeq.set(seq, li);
      this.msgs.set(seq, { ...m });
    }
    fillMessage(li, m);
    this.setActionsFor(li, m);
    setDay(li);
    setDay(nextMessage(li));
    this.renderReceipt(li, m);
    return true;
  }

  setActionsFor(li, m) {
    const mine = isMine(m);
    const owner = this.role === 'owner' && this.kind !== 'direct';
    const canChange = this.extended && Number.isInteger(m.id);
    setActions(li, canChange && mine, canChange && (mine || owner));
  }

  // applyState takes a message object's state when its rev is newer.
  applyState(m) {
    const old = this.msgs.get(m.seq);
    if (!old || !(Number.isInteger(m.rev) && m.rev > (old.rev || 0))) return;
    this.replaceState(m.seq, { ...old, ...m });
  }

  // onChange applies chat.message.update and chat.message.delete frames by
  // the rev rule; messages not on screen are read from history later.
  onChange(f, deleted) {
    const old = this.msgs.get(f.seq);
    if (!old || old.id !== f.id || !Number.isInteger(f.rev) || f.rev <= (old.rev || 0)) return;
    const next = { ...old, rev: f.rev };
    if (deleted) Object.assign(next, { message: '', deleted_at: f.deleted_at, deleted_by: f.deleted_by });
    else Object.assign(next, { message: f.message, edited_at: f.edited_at });
    this.replaceState(f.seq, next);
  }

  replaceState(seq, m) {
    this.msgs.set(seq, m);
    const li = this.bySeq.get(seq);
    if (m.deleted_at) this.closeEditor(li);
    fillMessage(li, m);
    this.setActionsFor(li, m);
    this.renderReceipt(li, m);
  }

  // refreshActions redraws every message's buttons after the reader's role
  // changed (joined, left, or the room first loaded).
  refreshActions() {
    for (const [seq, li] of this.bySeq) this.setActionsFor(li, this.msgs.get(seq));
  }

  async loadOlder() {
    if (this.loadingOlder || this.reachedStart || !this.seqs.length || this.stopped) return;
    this.loadingOlder = true;
    const btn = $('load-older');
    btn.disabled = true;
    btn.textContent = t('loadingOlder');
    try {
      const page = await api('GET', `/chat/v1/room/${this.id}/messages/?before=${this.minSeq}&limit=${HISTORY_PAGE}`);
      if (this.stopped) return;
      const sc = $('scroller');
      const fromBottom = sc.scrollHeight - sc.scrollTop;
      for (const m of page) this.addMessage(m);
      sc.scrollTop = sc.scrollHeight - fromBottom; // keep what the reader was looking at
      if (!page.length || this.minSeq <= 1) this.markStart();
      btn.textContent = t('loadOlder');
    } catch (err) {
      if (err.status === 404) return this.app.gone(this, t('roomGone'));
      btn.textContent = t('loadOlderFailed');
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

  notice(text, testid) {
    const stick = this.nearBottom();
    const li = el('li', 'notice', text);
    li.dataset.testid = testid;
    $('messages').appendChild(li);
    if (stick) this.scrollToBottom();
  }

  onPresence(name, joined) {
    if (typeof name !== 'string') return;
    if (joined) this.online.add(name);
    else this.online.delete(name);
    this.renderOnline();
    this.notice(t(joined ? 'joined' : 'left', { name }), joined ? 'notice-join' : 'notice-leave');
  }

  renderOnline() {
    const names = [...this.online].sort((a, b) => a.localeCompare(b));
    $('online').replaceChildren(...names.map((n) => {
      const li = el('li', '', n);
      li.dataset.testid = 'online-user';
      return li;
    }));
    $('online-count').textContent = t('onlineCount', { n: names.length });
  }

  // ---- typing ----------------------------------------------------------------

  // onInput tells the room the reader is typing, at most once a second, and
  // that they stopped when the box is emptied.
  onInput(value) {
    if (!this.extended || !this.isOpen() || this.unsupported.has('chat.typing')) return;
    const now = Date.now();
    if (value.trim() === '') {
      if (this.typingSentAt) this.sendFrame({ type: 'chat.typing', typing: false });
      this.typingSentAt = 0;
      return;
    }
    if (now - this.typingSentAt < TYPING_EVERY_MS) return;
    this.typingSentAt = now;
    this.sendFrame({ type: 'chat.typing', typing: true });
  }

  onTyping(f) {
    if (!Number.isInteger(f.user_id) || (me() && f.user_id === me().id)) return;
    if (f.typing === false) return this.stopTyping(f.user_id);
    const old = this.typing.get(f.user_id);
    if (old) clearTimeout(old.timer);
    const ms = Number.isInteger(f.timeout_ms) && f.timeout_ms > 0 ? f.timeout_ms : TYPING_DEFAULT_MS;
    const timer = setTimeout(() => this.stopTyping(f.user_id), ms);
    this.typing.set(f.user_id, { nickname: String(f.nickname ?? ''), timer });
    this.renderTyping();
  }

  stopTyping(userId) {
    const v = this.typing.get(userId);
    if (!v) return;
    clearTimeout(v.timer);
    this.typing.delete(userId);
    this.renderTyping();
  }

  clearTyping() {
    for (const v of this.typing.values()) clearTimeout(v.timer);
    this.typing.clear();
    this.renderTyping();
  }

  renderTyping() {
    const names = [...this.typing.values()].map((v) => v.nickname);
    let text = '';
    if (names.length === 1) text = t('typing1', { a: names[0] });
    else if (names.length === 2) text = t('typing2', { a: names[0], b: names[1] });
    else if (names.length > 2) text = t('typingMany');
    $('typing').textContent = text;
  }

  // ---- read markers and receipts ---------------------------------------------

  noteRead(userId, seq) {
    if (!Number.isInteger(userId) || !Number.isInteger(seq)) return;
    if ((this.reads.get(userId) ?? -1) < seq) this.reads.set(userId, seq);
  }

  onReceipts(f) {
    if (!Array.isArray(f.reads)) return;
    for (const r of f.reads) this.noteRead(r.user_id, r.seq);
    this.renderReceipts();
  }

  renderReceipts() {
    for (const [seq, li] of this.bySeq) this.renderReceipt(li, this.msgs.get(seq));
  }

  // renderReceipt says, under one of the reader's own messages, who else
  // has read it: "Read" in a direct room, "Read by n" elsewhere.
  renderReceipt(li, m) {
    const box = li.querySelector('.receipt');
    if (!this.extended || !m || !isMine(m) || m.deleted_at) {
      box.hidden = true;
      return;
    }
    const mine = me().id;
    let n = 0;
    for (const [user, seq] of this.reads) if (user !== mine && seq >= m.seq) n++;
    box.hidden = n === 0;
    box.textContent = n === 0 ? '' : this.kind === 'direct' ? t('readOne') : t('readBy', { n });
  }

  // scheduleRead sends chat.read for the last message on screen, soon after
  // the screen changes, while the page is visible.
  scheduleRead() {
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = 0;
      this.sendRead();
    }, READ_DELAY_MS);
  }

  sendRead() {
    if (!this.extended || this.role === null || !this.isOpen() || document.visibilityState !== 'visible') return;
    if (this.unsupported.has('chat.read')) return;
    const seq = this.lastSeqOnScreen();
    const mine = me().id;
    if (seq <= this.readSent || seq <= (this.reads.get(mine) ?? 0)) return;
    this.readSent = seq;
    this.sendFrame({ type: 'chat.read', seq });
  }

  lastSeqOnScreen() {
    const sc = $('scroller');
    if (sc.clientHeight === 0) return 0;
    const bottom = sc.getBoundingClientRect().bottom;
    for (let i = this.seqs.length - 1; i >= 0; i--) {
      const li = this.bySeq.get(this.seqs[i]);
      if (li.getBoundingClientRect().top < bottom) return this.seqs[i];
    }
    return 0;
  }

  // ---- editing and deleting -------------------------------------------------

  // onAction runs a message's edit or delete button.
  onAction(li, action) {
    const m = this.msgs.get(Number(li.dataset.seq));
    if (!m) return;
    if (action === 'edit-message') this.startEdit(li, m);
    else if (action === 'delete-message') this.deleteMessage(li, m);
  }

  startEdit(li, m) {
    const open = li.querySelector('.edit-form');
    if (open) return open.querySelector('textarea').focus();
    const form = el('form', 'edit-form');
    form.noValidate = true;
    const input = el('textarea');
    input.rows = 2;
    input.value = m.message;
    input.setAttribute('aria-label', t('editLabel'));
    input.dataset.testid = 'edit-input';
    const save = el('button', '', t('save'));
    save.type = 'submit';
    save.dataset.testid = 'edit-save';
    const cancel = button(t('cancel'), 'secondary', 'edit-cancel');
    const row = el('div', 'row');
    row.append(save, cancel);
    form.append(input, row);
    li.querySelector('.text').hidden = true;
    li.querySelector('.actions').hidden = true;
    li.querySelector('.bubble').insertBefore(form, li.querySelector('.actions'));
    const done = () => {
      this.closeEditor(li);
      const edit = li.querySelector('[data-action="edit-message"]');
      if (edit) edit.focus();
    };
    cancel.addEventListener('click', done);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        done();
      } else if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (text === m.message) return done();
      save.disabled = true;
      try {
        const updated = await api('PATCH', `/chat/v1/message/${m.id}/`, { message: text });
        if (updated && Number.isInteger(updated.seq)) this.applyState(updated);
        done();
      } catch (err) {
        if (err.status !== 401) showChatError(errorText(err));
      } finally {
        save.disabled = false;
      }
    });
    input.focus();
  }

  closeEditor(li) {
    const form = li.querySelector('.edit-form');
    if (!form) return;
    form.remove();
    li.querySelector('.text').hidden = false;
    li.querySelector('.actions').hidden = false;
  }

  async deleteMessage(li, m) {
    if (!await confirmDialog(t('confirmDelete'), t('delete'))) return;
    try {
      await api('DELETE', `/chat/v1/message/${m.id}/`);
      // The socket's delete frame says it too; this covers a socket that is down.
      const now = await api('GET', `/chat/v1/message/${m.id}/`);
      if (now && Number.isInteger(now.seq)) this.applyState(now);
    } catch (err) {
      if (err.status !== 401) showChatError(errorText(err));
    }
  }

  // ---- sending -----------------------------------------------------------------

  send(text) {
    const p = { client_id: randomId(), text };
    this.pending.push(p);
    this.savePending();
    this.typingSentAt = 0; // the post ends the typing line on the server
    if (this.isOpen()) this.ws.send(frameFor(p));
    this.renderPending();
    this.scrollToBottom();
  }

  savePending() {
    if (this.pending.length) sessionStorage.setItem(PENDING_PREFIX + this.id, JSON.stringify(this.pending));
    else sessionStorage.removeItem(PENDING_PREFIX + this.id);
  }

  renderPending() {
    const online = this.isOpen();
    const u = me();
    $('pending').replaceChildren(...this.pending.map((p) => {
      const li = renderMessage({ message: p.text, nickname: u ? u.nickname : '', profile_picture_url: u && u.profile_picture_url }, true);
      fillMessage(li, { message: p.text });
      li.classList.add('pending');
      li.dataset.testid = 'pending-message';
      li.dataset.clientId = p.client_id;
      li.querySelector('time').textContent = online ? t('sending') : t('waitingConnection');
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
