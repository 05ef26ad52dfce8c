// Inbox keeps the reader's own rooms (every room they are a member of) in
// order of activity, with unread badges, live through the inbox socket.
//
// To start without a gap it opens the socket first, then reads
// /chat/v1/room/inbox/, and only then applies the frames that arrived in
// between; an inbox.message no newer than the row's last message is one the
// read already counted. After a reconnect it does the same again.

import { t, shortWhen } from './i18n.js';
import { api, me, session, socketURL } from './http.js';
import { $, el, avatar } from './messages.js';

const PAGE = 30;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;

function time(iso) {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

function seqOf(row) {
  return row.last_message && Number.isInteger(row.last_message.seq) ? row.last_message.seq : 0;
}

export class Inbox {
  // onRooms runs when a room joins or leaves the list.
  constructor(onRooms) {
    this.onRooms = onRooms;
    this.rows = new Map(); // room id -> room with read state
    this.ws = null;
    this.buffer = null; // frames held while the list is read, else null
    this.next = null; // the following page's path
    this.attempt = 0;
    this.timer = 0;
    this.running = false;
    this.supported = true; // false on a server without the inbox
  }

  start() {
    if (this.running || !session.auth) return;
    this.running = true;
    this.opened = false;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000, 'leaving');
    }
    this.rows.clear();
    this.buffer = null;
    this.render();
  }

  open() {
    this.timer = 0;
    if (!this.running || !session.auth) return;
    const token = session.auth.access;
    const ws = new WebSocket(socketURL('/ws/inbox/'));
    this.ws = ws;
    this.buffer = [];
    ws.onopen = () => {
      if (ws !== this.ws) return;
      if (session.auth && session.auth.access !== token) this.sendToken();
      this.load(ws);
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (this.buffer) this.buffer.push(f);
      else this.apply(f);
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.buffer && !this.opened) return this.probe();
      this.retry();
    };
    ws.addEventListener('open', () => { this.opened = true; });
  }

  // probe tells a socket that could not open on a server without the inbox
  // (whose list answers 404: then the page shows no inbox) from one that is
  // down for now.
  async probe() {
    try {
      await api('GET', `/chat/v1/room/inbox/?limit=1`);
    } catch (err) {
      if (err.status === 404) {
        this.supported = false;
        this.buffer = null;
        this.render();
        return;
      }
    }
    this.retry();
  }

  retry() {
    if (!this.running || this.timer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt++;
    this.timer = setTimeout(() => this.open(), Math.round(base * (0.75 + Math.random() * 0.5)));
  }

  reconnectNow() {
    if (!this.running || this.ws) return;
    clearTimeout(this.timer);
    this.open();
  }

  sendToken() {
    if (session.auth && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'auth.refresh', token: session.auth.access }));
    }
  }

  // load reads the first page, then applies what the socket buffered.
  async load(ws) {
    let page;
    try {
      page = await api('GET', `/chat/v1/room/inbox/?limit=${PAGE}`);
    } catch (err) {
      if (ws !== this.ws) return;
      if (err.status === 404) this.supported = false;
      $('inbox-error').textContent = err.status === 404 || err.status === 401 ? '' : err.message;
      this.render();
      if (err.status !== 404) ws.close();
      return;
    }
    if (ws !== this.ws) return;
    this.attempt = 0;
    this.supported = true;
    $('inbox-error').textContent = '';
    this.rows.clear();
    this.takePage(page);
    const held = this.buffer || [];
    this.buffer = null;
    for (const f of held) this.apply(f);
    this.render();
  }

  takePage(page) {
    const results = page && Array.isArray(page.results) ? page.results : [];
    for (const r of results) if (r && Number.isInteger(r.id)) this.rows.set(r.id, r);
    this.next = null;
    if (page && typeof page.next === 'string') {
      try {
        const u = new URL(page.next, location.href);
        this.next = u.pathname + u.search; // same origin whatever host the server named
      } catch { /* no next page */ }
    }
  }

  async loadMore() {
    if (!this.next) return;
    const path = this.next;
    this.next = null;
    try {
      this.takePage(await api('GET', path));
    } catch (err) {
      this.next = path;
      if (err.status !== 401) $('inbox-error').textContent = err.message;
    }
    this.render();
  }

  apply(f) {
    switch (f && f.type) {
      case 'inbox.message': return this.onMessage(f);
      case 'inbox.read': return this.onRead(f);
      case 'inbox.room.add': return this.onAdd(f.room);
      case 'inbox.room.remove': return this.onRemove(f.room);
      default: return undefined;
    }
  }

  onMessage(f) {
    const lm = f.last_message;
    if (!Number.isInteger(f.room) || !lm || !Number.isInteger(lm.seq)) return;
    const row = this.rows.get(f.room);
    if (!row) return this.fetchRow(f.room);
    if (lm.seq <= seqOf(row)) return;
    row.last_message = lm;
    if (time(lm.created_at) > time(row.last_activity_at)) row.last_activity_at = lm.created_at;
    if (me() && lm.sender_id === me().id) {
      row.unread_count = 0;
      row.last_read_seq = lm.seq;
    } else {
      row.unread_count = (row.unread_count || 0) + 1;
    }
    this.render();
  }

  onRead(f) {
    const row = this.rows.get(f.room);
    if (!row) return;
    if (Number.isInteger(f.last_read_seq) && f.last_read_seq >= (row.last_read_seq || 0)) {
      row.last_read_seq = f.last_read_seq;
      if (Number.isInteger(f.unread_count)) row.unread_count = f.unread_count;
    }
    this.render();
  }

  onAdd(room) {
    if (!room || !Number.isInteger(room.id)) return;
    const old = this.rows.get(room.id);
    if (old && seqOf(old) > seqOf(room)) return;
    this.rows.set(room.id, room);
    this.render();
    if (!old) this.onRooms();
  }

  onRemove(id) {
    if (!this.rows.delete(id)) return;
    this.render();
    this.onRooms();
  }

  // fetchRow reads a room the list did not hold (beyond the first page, or
  // joined by posting) from its detail, which has the same read state.
  async fetchRow(id) {
    try {
      const room = await api('GET', `/chat/v1/room/${id}/`);
      delete room.chat_messages;
      delete room.online;
      if (this.running) this.onAdd(room);
    } catch { /* gone or not visible: nothing to show */ }
  }

  sorted() {
    return [...this.rows.values()].sort((a, b) =>
      time(b.last_activity_at) - time(a.last_activity_at) || b.id - a.id);
  }

  render() {
    const rows = this.sorted();
    $('inbox-card').hidden = !this.supported;
    $('inbox-list').replaceChildren(...rows.map(inboxItem));
    $('no-chats').hidden = rows.length > 0 || !!this.buffer;
    $('more-chats-btn').hidden = !this.next;
  }
}

function inboxItem(room) {
  const li = el('li');
  const a = el('a', 'room-link inbox-row');
  a.href = `#/rooms/${Number(room.id)}`;
  a.dataset.testid = 'inbox-room';
  a.dataset.roomId = String(room.id);
  const peer = room.kind === 'direct' && room.peer ? room.peer : null;
  const pic = avatar(peer ? peer.profile_picture_url : null, room.name);
  const main = el('span', 'inbox-main');
  const top = el('span', 'inbox-top');
  const name = el('span', 'room-name', room.name);
  top.appendChild(name);
  if (room.kind === 'private' || room.kind === 'direct') {
    top.appendChild(el('span', 'kind-tag', room.kind === 'private' ? t('labelPrivate') : t('labelDirect')));
  }
  const lm = room.last_message;
  let text = t('noMessagesYet');
  if (lm) text = lm.deleted_at ? t('deletedPreview') : `${lm.nickname || ''}: ${lm.message || ''}`;
  const preview = el('span', 'preview', text);
  preview.dataset.testid = 'inbox-preview';
  main.append(top, preview);
  const side = el('span', 'inbox-side');
  const when = el('span', 'when', shortWhen(room.last_activity_at));
  const n = Number.isInteger(room.unread_count) ? room.unread_count : 0;
  const badge = el('span', 'badge', n > 99 ? '99+' : String(n));
  badge.dataset.testid = 'unread-badge';
  badge.hidden = n === 0;
  badge.setAttribute('aria-hidden', 'true');
  const said = el('span', 'visually-hidden', n ? t('unread', { n }) : '');
  side.append(when, badge, said);
  a.append(pic, main, side);
  li.appendChild(a);
  return li;
}
