// How one message looks: its bubble, its state after edits and deletion,
// its read receipt, and the date divider above the first message of a day.
// Everything from the server goes on the page through textContent.

import { t, clock, fullTime, dayKey, dayLabel } from './i18n.js';

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function button(label, className, testid) {
  const b = el('button', className, label);
  b.type = 'button';
  if (testid) b.dataset.testid = testid;
  return b;
}

// safePicture is a picture URL the page may show: a path on this origin.
export function safePicture(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '';
}

export function avatar(pictureURL, name) {
  const span = el('span', 'avatar');
  span.setAttribute('aria-hidden', 'true');
  const pic = safePicture(pictureURL);
  if (pic) {
    const img = el('img');
    img.src = pic;
    img.alt = '';
    span.appendChild(img);
  } else {
    span.textContent = Array.from(name || '?')[0] || '?';
  }
  return span;
}

// renderMessage builds a message's element; fillMessage puts its current
// state in. mine marks the reader's own messages; canDelete adds the delete
// button (the sender, or a room owner).
export function renderMessage(m, mine) {
  const li = el('li', mine ? 'msg mine' : 'msg');
  li.dataset.testid = 'message';
  if (Number.isInteger(m.seq)) li.dataset.seq = String(m.seq);
  if (Number.isInteger(m.id)) li.dataset.id = String(m.id);
  li.dataset.sender = Number.isInteger(m.sender_id) ? `#${m.sender_id}` : m.sender || '';
  li.dataset.day = dayKey(m.created_at);

  const day = el('div', 'day');
  day.setAttribute('role', 'separator');
  day.dataset.testid = 'day-divider';
  day.hidden = true;
  day.textContent = dayLabel(m.created_at);

  const row = el('div', 'msg-row');
  const body = el('div', 'bubble');
  const meta = el('div', 'meta');
  const nick = el('span', 'nick', m.nickname || m.sender || '');
  const time = el('time');
  time.textContent = clock(m.created_at);
  if (time.textContent) {
    time.dateTime = m.created_at;
    time.title = fullTime(m.created_at);
  }
  const edited = el('span', 'edited', t('edited'));
  edited.dataset.testid = 'edited';
  edited.hidden = true;
  meta.append(nick, time, edited);
  const text = el('div', 'text');
  text.dataset.testid = 'message-text';
  const actions = el('div', 'actions');
  const receipt = el('div', 'receipt');
  receipt.dataset.testid = 'receipt';
  receipt.hidden = true;
  body.append(meta, text, actions, receipt);
  row.append(avatar(m.profile_picture_url, m.nickname || m.sender), body);
  li.append(day, row);
  return li;
}

// fillMessage shows m's current state: text or tombstone, the edited mark,
// and its rev, against which later frames are compared.
export function fillMessage(li, m) {
  const text = li.querySelector('.text');
  const deleted = !!m.deleted_at;
  li.classList.toggle('deleted', deleted);
  text.textContent = deleted ? t('deleted') : m.message;
  li.dataset.deleted = deleted ? '1' : '';
  li.querySelector('.edited').hidden = deleted || !m.edited_at;
  if (m.edited_at) li.querySelector('.edited').title = fullTime(m.edited_at);
  li.dataset.rev = String(Number.isInteger(m.rev) ? m.rev : 0);
}

export function setActions(li, canEdit, canDelete) {
  const actions = li.querySelector('.actions');
  if (li.dataset.deleted) {
    actions.replaceChildren();
    return;
  }
  const list = [];
  if (canEdit) list.push(button(t('edit'), 'link small', 'edit-message'));
  if (canDelete) list.push(button(t('delete'), 'link small danger', 'delete-message'));
  for (const b of list) b.dataset.action = b.dataset.testid;
  actions.replaceChildren(...list);
}

// setDay shows the date divider of li when the message before it is from
// another day, and groups a run of messages from one sender.
export function setDay(li) {
  if (!li || !li.classList.contains('msg')) return;
  let prev = li.previousElementSibling;
  while (prev && !prev.classList.contains('msg')) prev = prev.previousElementSibling;
  const newDay = !!li.dataset.day && (!prev || prev.dataset.day !== li.dataset.day);
  li.querySelector('.day').hidden = !newDay;
  const same = !newDay && !!prev && li.previousElementSibling === prev && prev.dataset.sender === li.dataset.sender;
  li.classList.toggle('continued', same);
}

// nextMessage is the message element after li, skipping notices.
export function nextMessage(li) {
  let n = li.nextElementSibling;
  while (n && !n.classList.contains('msg')) n = n.nextElementSibling;
  return n;
}

// errorText is every message of a DRF error body, or the error's own text.
export function errorText(err) {
  const body = err && err.body ? err.body : {};
  const parts = [];
  for (const [k, v] of Object.entries(body)) {
    if (k === 'code') continue;
    parts.push(Array.isArray(v) ? v.map(String).join(' ') : String(v));
  }
  return parts.length ? parts.join(' ') : err.message;
}

// confirmDialog asks a yes-or-no question in the page's modal dialog and
// resolves to true when the reader confirms.
export function confirmDialog(text, okLabel) {
  const dlg = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    const finish = (ok) => {
      $('confirm-ok').removeEventListener('click', yes);
      $('confirm-cancel').removeEventListener('click', no);
      dlg.removeEventListener('close', no);
      if (dlg.open) dlg.close();
      resolve(ok);
    };
    const yes = () => finish(true);
    const no = () => finish(false);
    $('confirm-ok').addEventListener('click', yes);
    $('confirm-cancel').addEventListener('click', no);
    dlg.addEventListener('close', no);
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}
