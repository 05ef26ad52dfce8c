// Every string the page shows, in each language it speaks, and the
// formatting of dates and times in that language.
//
// The page speaks the first of the browser's languages (navigator.languages)
// that this table has, and English otherwise. Messages from the server (DRF
// validation texts) are shown as the server wrote them.

const STRINGS = {
  en: {
    needsJS: 'LiveChat needs JavaScript.',
    logIn: 'Log in',
    signUp: 'Sign up',
    email: 'Email',
    password: 'Password',
    passwordAgain: 'Password again',
    nickname: 'Nickname',
    logOut: 'Log out',
    profile: 'Profile',

    yourChats: 'Your chats',
    noChats: 'No chats yet. Create a room or message someone.',
    moreChats: 'More chats',
    allRooms: 'All rooms',
    noRooms: 'No rooms yet. Create the first one.',
    moreRooms: 'More rooms',
    newRoom: 'New room',
    roomName: 'Room name',
    create: 'Create',
    kind: 'Who can see it',
    kindPublic: 'Public: everyone',
    kindPrivate: 'Private: members only',
    roomMembers: 'Members (user IDs, comma separated)',
    directTitle: 'Direct message',
    userId: 'User ID',
    open: 'Open',
    badIds: 'User IDs are whole numbers separated by commas.',
    labelPrivate: 'Private',
    labelDirect: 'Direct',
    unread: '{n} unread',
    noMessagesYet: 'No messages yet',
    deletedPreview: 'Message deleted',

    backToRooms: 'Back to rooms',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    connected: 'Connected',
    offlineWait: 'Offline. Messages you send wait until you reconnect.',
    retryIn: '{reason} Reconnecting in {s} s…',
    retryNow: 'Retry now',
    closeInvalid: 'Disconnected by the server: too many invalid frames.',
    closeExpired: 'Your access token expired.',
    closeSlow: 'Disconnected by the server: this connection was too slow to keep up.',
    closeTooLarge: 'Disconnected: a message was too large.',
    closeRestart: 'The server is restarting.',
    closeRoomProblem: 'The room had a problem on the server.',
    closeLost: 'Connection lost.',
    closeOther: 'Connection closed ({code}).',
    loadOlder: 'Load older messages',
    loadingOlder: 'Loading older messages…',
    loadOlderFailed: 'Could not load older messages. Try again',
    historyStart: 'This is the beginning of the conversation.',
    online: 'Online',
    onlineCount: '{n} online',
    onlineStale: 'Not connected: this list may be out of date.',
    message: 'Message',
    send: 'Send',
    sending: 'sending…',
    waitingConnection: 'waiting for connection…',
    joined: '{name} joined',
    left: '{name} left',
    memberJoined: '{name} joined the room',
    memberAdded: '{by} added {name}',
    memberLeft: '{name} left the room',
    memberRemoved: '{by} removed {name}',
    typing1: '{a} is typing…',
    typing2: '{a} and {b} are typing…',
    typingMany: 'Several people are typing…',
    edit: 'Edit',
    delete: 'Delete',
    save: 'Save',
    cancel: 'Cancel',
    close: 'Close',
    edited: 'edited',
    deleted: 'This message was deleted.',
    confirmDelete: 'Delete this message? Everyone will see that it was deleted.',
    editLabel: 'Edit message',
    readOne: 'Read',
    readBy: 'Read by {n}',
    members: 'Members',
    membersCount: 'Members ({n})',
    addMember: 'Add',
    addMemberLabel: 'Add a member by user ID',
    remove: 'Remove',
    leave: 'Leave room',
    joinRoom: 'Join this room',
    owner: 'owner',
    you: '(you)',
    messageUser: 'Message',
    userTag: 'ID {id}',

    roomGone: 'That room does not exist (it may have been deleted).',
    removedFromRoom: 'You are no longer a member of that room.',
    sessionExpired: 'Your session has expired. Please log in again.',
    cannotReach: 'Cannot reach the server. Check your connection.',
    serverAnswered: 'The server answered {status}.',
    unexpectedAnswer: 'Unexpected answer from the server ({status}).',
    somethingWrong: 'Something went wrong.',
    tooLong: 'A message can be at most {n} characters.',
    errorPrefix: 'Error: {msg}',

    profileTitle: 'Your profile',
    yourId: 'Your user ID: {id}',
    hideEmail: 'Hide my email address from other people',
    picture: 'Profile picture',
    pictureHint: 'JPEG, PNG, GIF or WebP, at most 2 MiB.',
    removePicture: 'Remove my picture',
    saved: 'Saved.',
  },
  ko: {
    needsJS: 'LiveChat을 쓰려면 자바스크립트가 필요합니다.',
    logIn: '로그인',
    signUp: '가입하기',
    email: '이메일',
    password: '비밀번호',
    passwordAgain: '비밀번호 확인',
    nickname: '닉네임',
    logOut: '로그아웃',
    profile: '프로필',

    yourChats: '내 채팅',
    noChats: '아직 채팅이 없습니다. 방을 만들거나 1:1 대화를 시작해 보세요.',
    moreChats: '채팅 더 보기',
    allRooms: '전체 방',
    noRooms: '아직 방이 없습니다. 첫 방을 만들어 보세요.',
    moreRooms: '방 더 보기',
    newRoom: '새 방',
    roomName: '방 이름',
    create: '만들기',
    kind: '공개 범위',
    kindPublic: '공개: 누구나',
    kindPrivate: '비공개: 멤버만',
    roomMembers: '멤버 (사용자 ID, 쉼표로 구분)',
    directTitle: '1:1 대화',
    userId: '사용자 ID',
    open: '열기',
    badIds: '사용자 ID는 쉼표로 구분한 숫자입니다.',
    labelPrivate: '비공개',
    labelDirect: '1:1',
    unread: '읽지 않은 메시지 {n}개',
    noMessagesYet: '아직 메시지가 없습니다',
    deletedPreview: '삭제된 메시지',

    backToRooms: '방 목록으로',
    connecting: '연결 중…',
    reconnecting: '다시 연결하는 중…',
    connected: '연결됨',
    offlineWait: '오프라인입니다. 보내는 메시지는 다시 연결되면 전송됩니다.',
    retryIn: '{reason} {s}초 후 다시 연결합니다…',
    retryNow: '지금 다시 연결',
    closeInvalid: '잘못된 요청이 많아 서버가 연결을 끊었습니다.',
    closeExpired: '접속 토큰이 만료되었습니다.',
    closeSlow: '연결이 너무 느려 서버가 연결을 끊었습니다.',
    closeTooLarge: '메시지가 너무 커서 연결이 끊겼습니다.',
    closeRestart: '서버가 다시 시작하는 중입니다.',
    closeRoomProblem: '서버에서 방에 문제가 생겼습니다.',
    closeLost: '연결이 끊겼습니다.',
    closeOther: '연결이 닫혔습니다 ({code}).',
    loadOlder: '이전 메시지 불러오기',
    loadingOlder: '이전 메시지를 불러오는 중…',
    loadOlderFailed: '이전 메시지를 불러오지 못했습니다. 다시 시도',
    historyStart: '대화의 처음입니다.',
    online: '접속 중',
    onlineCount: '{n}명 접속 중',
    onlineStale: '연결되어 있지 않아 목록이 최신이 아닐 수 있습니다.',
    message: '메시지',
    send: '보내기',
    sending: '보내는 중…',
    waitingConnection: '연결을 기다리는 중…',
    joined: '{name}님이 들어왔습니다',
    left: '{name}님이 나갔습니다',
    memberJoined: '{name}님이 방에 참여했습니다',
    memberAdded: '{by}님이 {name}님을 초대했습니다',
    memberLeft: '{name}님이 방을 나갔습니다',
    memberRemoved: '{by}님이 {name}님을 내보냈습니다',
    typing1: '{a}님이 입력 중…',
    typing2: '{a}님과 {b}님이 입력 중…',
    typingMany: '여러 명이 입력 중…',
    edit: '수정',
    delete: '삭제',
    save: '저장',
    cancel: '취소',
    close: '닫기',
    edited: '수정됨',
    deleted: '삭제된 메시지입니다.',
    confirmDelete: '이 메시지를 삭제할까요? 삭제했다는 사실은 모두에게 보입니다.',
    editLabel: '메시지 수정',
    readOne: '읽음',
    readBy: '{n}명 읽음',
    members: '멤버',
    membersCount: '멤버 ({n})',
    addMember: '추가',
    addMemberLabel: '사용자 ID로 멤버 추가',
    remove: '내보내기',
    leave: '방 나가기',
    joinRoom: '이 방에 참여하기',
    owner: '방장',
    you: '(나)',
    messageUser: '1:1 대화',
    userTag: 'ID {id}',

    roomGone: '존재하지 않는 방입니다 (삭제되었을 수 있습니다).',
    removedFromRoom: '더 이상 그 방의 멤버가 아닙니다.',
    sessionExpired: '세션이 만료되었습니다. 다시 로그인해 주세요.',
    cannotReach: '서버에 연결할 수 없습니다. 네트워크를 확인해 주세요.',
    serverAnswered: '서버 응답: {status}.',
    unexpectedAnswer: '서버에서 예상하지 못한 응답이 왔습니다 ({status}).',
    somethingWrong: '문제가 생겼습니다.',
    tooLong: '메시지는 최대 {n}자까지 보낼 수 있습니다.',
    errorPrefix: '오류: {msg}',

    profileTitle: '내 프로필',
    yourId: '내 사용자 ID: {id}',
    hideEmail: '다른 사람에게 내 이메일 주소 숨기기',
    picture: '프로필 사진',
    pictureHint: 'JPEG, PNG, GIF, WebP, 최대 2 MiB.',
    removePicture: '사진 삭제',
    saved: '저장했습니다.',
  },
};

// pickLanguage returns the first of the browser's languages that the table
// has ("ko-KR" speaks "ko"), or English.
export function pickLanguage(preferred) {
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (Object.hasOwn(STRINGS, base)) return base;
  }
  return 'en';
}

export const lang = pickLanguage(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);

// t returns the string key in the page's language with {name} placeholders
// filled from params; a key missing there falls back to English.
export function t(key, params) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (all, name) => (Object.hasOwn(params, name) ? String(params[name]) : all));
}

// localize translates the static page: data-i18n sets an element's text,
// data-i18n-placeholder, data-i18n-label and data-i18n-title its placeholder,
// aria-label and title.
export function localize(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}

function validDate(iso) {
  if (typeof iso !== 'string') return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

// clock is a message's time of day: "오후 3:04", "3:04 PM".
export function clock(iso) {
  const d = validDate(iso);
  return d ? d.toLocaleTimeString(lang, { hour: 'numeric', minute: '2-digit' }) : '';
}

export function fullTime(iso) {
  const d = validDate(iso);
  return d ? d.toLocaleString(lang) : '';
}

// dayKey names the local calendar day of a time, for date dividers.
export function dayKey(iso) {
  const d = validDate(iso);
  return d ? `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}` : '';
}

// dayLabel is a date divider's text: "2026년 12월 4일 금요일".
export function dayLabel(iso) {
  const d = validDate(iso);
  return d ? d.toLocaleDateString(lang, { dateStyle: 'full' }) : '';
}

// shortWhen is a room list's time: the time today, else the date.
export function shortWhen(iso) {
  const d = validDate(iso);
  if (!d) return '';
  if (dayKey(iso) === dayKey(new Date().toISOString())) return clock(iso);
  return d.toLocaleDateString(lang, { month: 'short', day: 'numeric' });
}
