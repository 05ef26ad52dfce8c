// MembersPanel lists a room's members beside its messages and changes them:
// the owner adds and removes people, a member leaves, anyone may join a
// public room, and each other member is one click from a direct message.
// chat.member.add and chat.member.remove frames keep it current; after a
// reconnect it is read again (those frames are not replayed).

import { t } from './i18n.js';
import { api, me } from './http.js';
import { $, el, button, avatar, errorText } from './messages.js';

const PAGE = 1000; // the server's largest members page

export class MembersPanel {
  constructor(room) {
    this.room = room;
    this.list = new Map(); // user id -> member
  }

  reset() {
    this.list.clear();
    $('member-list').replaceChildren();
    $('members-error').textContent = '';
    this.renderButton();
  }

  // load reads every member, page by page, with their read markers.
  async load() {
    const all = new Map();
    let after = 0;
    try {
      for (;;) {
        const page = await api('GET', `/chat/v1/room/${this.room.id}/members/?limit=${PAGE}` + (after ? `&after=${after}` : ''));
        if (this.room.stopped || !Array.isArray(page)) return;
        for (const m of page) if (m && m.user && Number.isInteger(m.user.id)) all.set(m.user.id, m);
        if (page.length < PAGE) break;
        after = page[page.length - 1].user.id;
      }
    } catch (err) {
      if (err.status === 404 && !this.room.stopped) this.room.app.gone(this.room, t('roomGone'));
      return;
    }
    this.list = all;
    for (const m of all.values()) this.room.noteRead(m.user.id, m.last_read_seq);
    this.room.renderReceipts();
    this.render();
  }

  get count() {
    const r = this.room.room;
    return r && Number.isInteger(r.member_count) ? r.member_count : this.list.size;
  }

  renderButton() {
    const b = $('members-btn');
    b.hidden = !this.room.extended;
    b.textContent = t('membersCount', { n: this.count });
  }

  name(user) {
    return user && typeof user.nickname === 'string' ? user.nickname : '?';
  }

  onAdd(f) {
    if (!f.user || !Number.isInteger(f.user.id)) return;
    const room = this.room.room;
    // The change may be known already: from this page's own call, or a
    // repeated frame. Only news gets a notice.
    const isNew = !this.list.has(f.user.id);
    if (isNew && room && Number.isInteger(room.member_count)) room.member_count++;
    this.list.set(f.user.id, { user: f.user, role: f.role || 'member', last_read_seq: null });
    if (me() && f.user.id === me().id && room) {
      room.role = f.role || 'member';
      this.room.refreshActions();
    }
    if (!isNew) return this.render();
    const name = this.name(f.user);
    if (f.by === f.user.id) this.room.notice(t('memberJoined', { name }), 'notice-member-add');
    else this.room.notice(t('memberAdded', { by: this.nameOf(f.by), name }), 'notice-member-add');
    this.render();
  }

  onRemove(f) {
    if (!f.user || !Number.isInteger(f.user.id)) return;
    const room = this.room.room;
    if (me() && f.user.id === me().id && room && room.role !== null) {
      room.role = null;
      this.room.refreshActions();
    }
    if (!this.list.delete(f.user.id)) return this.render();
    if (room && Number.isInteger(room.member_count)) room.member_count--;
    this.room.reads.delete(f.user.id);
    const name = this.name(f.user);
    if (f.by === f.user.id) this.room.notice(t('memberLeft', { name }), 'notice-member-remove');
    else this.room.notice(t('memberRemoved', { by: this.nameOf(f.by), name }), 'notice-member-remove');
    this.room.renderReceipts();
    this.render();
  }

  nameOf(id) {
    const m = this.list.get(id);
    return m ? this.name(m.user) : t('userTag', { id });
  }

  render() {
    this.renderButton();
    const self = me() ? me().id : 0;
    const kind = this.room.kind;
    const owner = this.room.role === 'owner';
    const members = [...this.list.values()].sort((a, b) => a.user.id - b.user.id);
    $('member-list').replaceChildren(...members.map((m) => {
      const li = el('li', 'member');
      li.dataset.testid = 'member';
      li.dataset.userId = String(m.user.id);
      const who = el('span', 'member-name', this.name(m.user));
      const tags = [];
      if (m.user.id === self) tags.push(t('you'));
      if (m.role === 'owner') tags.push(t('owner'));
      tags.push(t('userTag', { id: m.user.id }));
      const meta = el('span', 'member-meta', tags.join(' · '));
      const text = el('span', 'member-text');
      text.append(who, meta);
      const actions = el('span', 'member-actions');
      if (m.user.id !== self && kind !== 'direct') {
        const dm = button(t('messageUser'), 'link small', 'member-dm');
        dm.setAttribute('aria-label', `${t('messageUser')}: ${this.name(m.user)}`);
        dm.addEventListener('click', () => this.room.app.openDirect(m.user.id));
        actions.appendChild(dm);
      }
      if (m.user.id !== self && owner && kind !== 'direct') {
        const rm = button(t('remove'), 'link small danger', 'member-remove');
        rm.setAttribute('aria-label', `${t('remove')}: ${this.name(m.user)}`);
        rm.addEventListener('click', () => this.remove(m.user.id));
        actions.appendChild(rm);
      }
      li.append(avatar(m.user.profile_picture_url, this.name(m.user)), text, actions);
      return li;
    }));
    $('add-member-form').hidden = !(owner && kind !== 'direct');
    $('leave-btn').hidden = !(this.room.role === 'member' && kind !== 'direct');
    $('join-btn').hidden = !(this.room.role === null && kind === 'public' && this.room.extended);
  }

  async add(userId) {
    $('members-error').textContent = '';
    try {
      const m = await api('POST', `/chat/v1/room/${this.room.id}/members/`, { user: userId });
      // The chat.member.add frame says it too; an existing member is no news.
      if (m && m.user && !this.list.has(m.user.id)) {
        this.onAdd({ user: m.user, role: m.role, by: me().id });
      }
      return true;
    } catch (err) {
      if (err.status !== 401) $('members-error').textContent = errorText(err);
      return false;
    }
  }

  async remove(userId) {
    $('members-error').textContent = '';
    try {
      await api('DELETE', `/chat/v1/room/${this.room.id}/members/${userId}/`);
      const m = this.list.get(userId);
      if (m) this.onRemove({ user: m.user, by: me().id });
      return true;
    } catch (err) {
      if (err.status !== 401) $('members-error').textContent = errorText(err);
      return false;
    }
  }

  async leave() {
    if (await this.remove(me().id)) this.room.app.left(this.room);
  }

  join() {
    return this.add(me().id);
  }
}
