// LiveChat web client: sign up, log in, the reader's chats with unread
// badges, every room, creating rooms and direct messages, one room's live
// chat, and the profile.
//
// Plain browser JavaScript modules, no framework and no build step. Every
// string shown is in i18n.js. Everything that comes from the server is put
// on the page with textContent, never as HTML.

import { t, localize } from './i18n.js';
import {
  ApiError, api, publicCall, request, session, saveAuth, me, endSession,
  scheduleRenewal, onRenewed, onEnded,
} from './http.js';
import { $, avatar, safePicture } from './messages.js';
import { ChatRoom, PENDING_PREFIX, showChatError } from './room.js';
import { Inbox } from './inbox.js';

const ROOMS_PAGE = 50;
const MAX_MESSAGE_CHARS = 4096; // the server's default limit, in characters

// ---- forms -------------------------------------------------------------------

function clearFormErrors(form) {
  for (const e of form.querySelectorAll('[data-error-for], [data-form-error]')) e.textContent = '';
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
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
    if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
  }
  const general = [];
  if (body.non_field_errors) general.push(asText(body.non_field_errors));
  if (typeof body.detail === 'string') general.push(body.detail);
  for (const [field, msgs] of Object.entries(body)) {
    if (!used.has(field)) general.push(`${field}: ${asText(msgs)}`);
  }
  if (!general.length && !form.querySelector('[aria-invalid]')) general.push(err.message || t('somethingWrong'));
  const top = form.querySelector('[data-form-error]');
  if (top) top.textContent = general.join(' ');
}

function asText(v) {
  return Array.isArray(v) ? v.map(String).join(' ') : String(v);
}

async function withBusy(btn, fn) {
  btn.disabled = true;
  try {
    await fn();
  } finally {
    btn.disabled = false;
  }
}

// ---- views and routing ---------------------------------------------------------

const VIEWS = ['auth-view', 'rooms-view', 'chat-view'];

function showView(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  document.body.dataset.view = view;
}

function renderUser() {
  const u = me();
  $('who').hidden = !u;
  $('whoami').textContent = u ? u.nickname : '';
  $('who-avatar').replaceChildren(...(u ? avatar(u.profile_picture_url, u.nickname).childNodes : []));
}

let current = null; // the ChatRoom on screen, if any
// A room that joins or leaves the reader's chats joins or leaves the list of
// every room too (private and direct rooms are listed to members only).
const inbox = new Inbox(() => {
  if (document.body.dataset.view === 'rooms-view') loadRooms(undefined, true);
});

// app is what a room asks of the page around it. A room that is no longer
// on screen is not heard.
const app = {
  gone(room, message) {
    if (room !== current) return;
    leaveRoom();
    roomsFlash = message;
    location.hash = '#/rooms';
  },
  left(room) {
    if (room !== current) return;
    leaveRoom();
    location.hash = '#/rooms';
  },
  openDirect,
};

function route() {
  renderUser();
  if (!session.auth) {
    leaveRoom();
    inbox.stop();
    showView('auth-view');
    document.title = 'LiveChat';
    return;
  }
  inbox.start();
  const m = /^#\/rooms\/(\d+)$/.exec(location.hash);
  if (m) {
    const id = Number(m[1]);
    if (!current || current.id !== id) {
      leaveRoom();
      current = new ChatRoom(id, app);
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

onEnded((message) => {
  leaveRoom();
  route();
  $('login-error').textContent = message;
});

onRenewed(() => {
  if (current) current.sendToken();
  inbox.sendToken();
});

// ---- accounts ------------------------------------------------------------------

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
  const refresh = session.auth && session.auth.refresh;
  leaveRoom();
  inbox.stop();
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

// ---- rooms ---------------------------------------------------------------------

let roomsLoadSeq = 0;
let roomsFlash = ''; // an error to show once on the next rooms list

// loadRooms reads a page of every room; quiet keeps the message shown above.
async function loadRooms(after, quiet) {
  const token = ++roomsLoadSeq;
  if (!quiet) {
    $('rooms-error').textContent = roomsFlash;
    roomsFlash = '';
  }
  const q = `?limit=${ROOMS_PAGE}` + (after ? `&after=${after}` : '');
  try {
    const rooms = await api('GET', '/chat/v1/room/' + q);
    if (token !== roomsLoadSeq) return;
    if (!after) $('room-list').replaceChildren();
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
  const tag = room.kind === 'private' ? t('labelPrivate') : room.kind === 'direct' ? t('labelDirect') : '';
  id.textContent = (tag ? tag + ' · ' : '') + `#${room.id}`;
  a.append(name, id);
  li.appendChild(a);
  return li;
}

$('more-rooms-btn').addEventListener('click', (ev) => loadRooms(ev.currentTarget.dataset.after));
$('more-chats-btn').addEventListener('click', () => inbox.loadMore());

// parseIds reads "12, 34 56" as [12, 34, 56], or null when it is not that.
function parseIds(text) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.every((p) => /^\d+$/.test(p))) return null;
  return parts.map(Number);
}

$('create-room-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  withBusy($('create-room-btn'), async () => {
    clearFormErrors(form);
    const body = { name: $('room-name-input').value.trim() };
    const kind = form.elements.namedItem('kind').value;
    // A server without room kinds takes the original body: only ask for
    // what the reader chose.
    if (kind === 'private') body.kind = 'private';
    const members = parseIds($('room-members-input').value);
    if (members === null) {
      form.querySelector('[data-error-for="members"]').textContent = t('badIds');
      $('room-members-input').setAttribute('aria-invalid', 'true');
      return;
    }
    if (members.length) body.members = members;
    try {
      const room = await api('POST', '/chat/v1/room/', body);
      form.reset();
      if (room && room.kind) inbox.onAdd(stripDetail(room));
      location.hash = `#/rooms/${Number(room.id)}`;
    } catch (err) {
      if (err.status !== 401) showFormErrors(form, err);
    }
  });
});

function stripDetail(room) {
  const r = { ...room };
  delete r.chat_messages;
  delete r.online;
  return r;
}

// openDirect opens (or finds) the direct room with a user and goes there.
async function openDirect(userId) {
  const room = await api('POST', '/chat/v1/room/direct/', { user: userId });
  inbox.onAdd(stripDetail(room));
  location.hash = `#/rooms/${Number(room.id)}`;
  return room;
}

$('direct-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  withBusy($('direct-btn'), async () => {
    clearFormErrors(form);
    const id = Number($('direct-user-input').value);
    if (!Number.isInteger(id) || id <= 0) {
      form.querySelector('[data-error-for="user"]').textContent = t('badIds');
      return;
    }
    try {
      await openDirect(id);
      form.reset();
    } catch (err) {
      if (err.status !== 401) showFormErrors(form, err);
    }
  });
});

// ---- profile -------------------------------------------------------------------

function fillProfile() {
  const u = me();
  if (!u) return;
  $('profile-id').textContent = t('yourId', { id: u.id });
  $('profile-nickname').value = u.nickname || '';
  $('profile-hide-email').checked = !!u.hide_email;
  $('profile-picture').value = '';
  $('profile-remove-picture').checked = false;
  $('profile-remove-picture').disabled = !safePicture(u.profile_picture_url);
  $('profile-avatar').replaceChildren(...avatar(u.profile_picture_url, u.nickname).childNodes);
  $('profile-saved').textContent = '';
}

$('profile-btn').addEventListener('click', async () => {
  clearFormErrors($('profile-form'));
  fillProfile();
  $('profile-dialog').showModal();
  $('profile-nickname').focus();
  // The stored copy may predate a change made on another device.
  const shown = $('profile-nickname').value;
  try {
    const u = await api('GET', '/user/v1/profile/');
    if (u && session.auth) {
      saveAuth({ ...session.auth, user: u });
      renderUser();
      const untouched = $('profile-nickname').value === shown && !$('profile-picture').files.length;
      if ($('profile-dialog').open && untouched) fillProfile();
    }
  } catch { /* the stored profile stays */ }
});

$('profile-close').addEventListener('click', () => $('profile-dialog').close());

$('profile-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  withBusy($('profile-save'), async () => {
    clearFormErrors(form);
    $('profile-saved').textContent = '';
    const u = me();
    const file = $('profile-picture').files[0];
    const nickname = $('profile-nickname').value.trim();
    const hide = $('profile-hide-email').checked;
    let body;
    if (file) {
      // A picture goes as multipart; the other fields ride along.
      body = new FormData();
      body.append('nickname', nickname);
      body.append('hide_email', hide ? 'true' : 'false');
      body.append('profile_picture', file, file.name);
    } else {
      body = {};
      if (nickname !== u.nickname) body.nickname = nickname;
      if (hide !== !!u.hide_email) body.hide_email = hide;
      if ($('profile-remove-picture').checked) body.profile_picture = null;
    }
    try {
      const user = await api('PATCH', '/user/v1/profile/', body);
      if (user && session.auth) saveAuth({ ...session.auth, user: { ...session.auth.user, ...user } });
      renderUser();
      fillProfile();
      $('profile-saved').textContent = t('saved');
    } catch (err) {
      if (err.status !== 401) showFormErrors(form, err);
    }
  });
});

// ---- chat controls ---------------------------------------------------------------

function submitMessage() {
  const input = $('message-input');
  const text = input.value.trim();
  if (!text || !current) return;
  if (Array.from(text).length > MAX_MESSAGE_CHARS) {
    showChatError(t('tooLong', { n: MAX_MESSAGE_CHARS }));
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

$('message-input').addEventListener('input', () => {
  fitInput();
  if (current) current.onInput($('message-input').value);
});

$('messages').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b || !current) return;
  current.onAction(b.closest('li.msg'), b.dataset.action);
});

$('members-btn').addEventListener('click', () => {
  const panel = $('members-panel');
  panel.hidden = !panel.hidden;
  $('members-btn').setAttribute('aria-expanded', String(!panel.hidden));
  if (!panel.hidden && current) {
    current.members.load();
    const first = panel.querySelector('button:not([hidden]), input:not([hidden])');
    if (first) first.focus();
  }
});

$('add-member-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!current) return;
  const id = Number($('add-member-input').value);
  if (!Number.isInteger(id) || id <= 0) {
    $('members-error').textContent = t('badIds');
    return;
  }
  withBusy($('add-member-btn'), async () => {
    if (await current.members.add(id)) $('add-member-input').value = '';
  });
});

$('leave-btn').addEventListener('click', () => current && current.members.leave());
$('join-btn').addEventListener('click', () => current && current.members.join());

// A reader at the bottom stays there when the scroller shrinks: a banner
// or an error appears, or a phone's keyboard opens.
let atBottom = true;
$('scroller').addEventListener('scroll', () => {
  atBottom = current ? current.nearBottom() : true;
  if (current && $('scroller').scrollTop < 40) current.loadOlder();
  if (current) current.scheduleRead();
});
new ResizeObserver(() => {
  if (atBottom && current) current.scrollToBottom();
}).observe($('scroller'));
document.addEventListener('visibilitychange', () => current && current.scheduleRead());
$('load-older').addEventListener('click', () => current && current.loadOlder());
$('retry-btn').addEventListener('click', () => current && current.reconnectNow());
window.addEventListener('online', () => {
  if (current) current.reconnectNow();
  inbox.reconnectNow();
});
window.addEventListener('hashchange', route);

// __livechat is a small handle for tests and debugging in the console.
window.__livechat = {
  get ws() { return current ? current.ws : null; },
  get room() { return current; },
  get inbox() { return inbox; },
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
  endSession,
};

localize(document);
scheduleRenewal();
route();
