'use strict';
// The lmk review page: plain browser JavaScript served by lmk itself (no framework, nothing from a network).
// Coordinates are lmk's: (x, y) in original pixels with pixel centres at integers, so the SVG, whose viewBox spans
// the image's edges, draws a point at (x + 0.5, y + 0.5).

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const PAGE = 50;
const MAX_ZOOM = 16; // screen pixels per image pixel

const state = {
  info: null,
  query: { order: 'worst', landmark: '', status: 'all' },
  page: { total: 0, offset: 0, rows: [] },
  pos: -1,
  item: null,
  landmarks: [],
  selected: -1,
  view: { scale: 1, tx: 0, ty: 0, fit: 1 },
  full: false,
};

async function api(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

function showProblem(text) {
  const box = $('problems');
  box.hidden = false;
  box.textContent = text;
}

/** Event handlers' failures (the server gone, say) go to the message line instead of the console. */
function report(promise) {
  Promise.resolve(promise).catch((err) => showProblem(err.message));
}

function showProgress({ progress: p }) {
  $('progress').textContent = `${p.accepted} / ${p.total} reviewed`;
}

// --- the list -------------------------------------------------------------------------------------------

function listUrl(extra) {
  const q = new URLSearchParams({ ...state.query, limit: String(PAGE), ...extra });
  return `/api/list?${q}`;
}

async function loadPage(params) {
  const r = await api(listUrl(params));
  state.page = { total: r.total, offset: r.offset, rows: r.rows };
  showProgress(r);
  renderList();
}

function renderList() {
  const { rows, offset, total } = state.page;
  const list = $('list');
  list.replaceChildren(...rows.map((row, i) => {
    const li = document.createElement('li');
    li.dataset.index = String(row.index);
    li.classList.toggle('current', i === state.pos);
    li.classList.toggle('replaced', row.replaced);
    li.classList.toggle('accepted', row.accepted);
    li.classList.toggle('corrected', row.corrected);
    li.title = row.path;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = row.id;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = row.score.toFixed(3);
    li.append(name, score);
    li.addEventListener('click', () => report(openAt(i)));
    return li;
  }));
  const { order, landmark } = state.query;
  $('score-head').textContent = landmark !== '' ? `score of ${state.info.landmarks[Number(landmark)].code}` : order === 'mean' ? 'mean score' : 'lowest score';
  $('page-info').textContent = total ? `${offset + 1}-${offset + rows.length} of ${total}` : 'no images';
  list.querySelector('li.current')?.scrollIntoView({ block: 'nearest' });
}

async function openAt(pos) {
  const row = state.page.rows[pos];
  if (!row) return;
  state.pos = pos;
  renderList();
  await openItem(row.index);
}

async function step(delta) {
  const { rows, offset, total } = state.page;
  const pos = state.pos + delta;
  if (pos >= 0 && pos < rows.length) return openAt(pos);
  const nextOffset = offset + (delta > 0 ? PAGE : -PAGE);
  if (nextOffset < 0 || nextOffset >= total) return undefined;
  await loadPage({ offset: String(nextOffset) });
  return openAt(delta > 0 ? 0 : state.page.rows.length - 1);
}

// --- one image ------------------------------------------------------------------------------------------

async function openItem(index) {
  const item = await api(`/api/items/${index}`);
  state.item = item;
  state.landmarks = item.landmarks.map((p) => p.slice());
  state.selected = -1;
  state.full = false;
  document.body.dataset.shown = '';
  const stage = $('stage');
  stage.style.width = `${item.width}px`;
  stage.style.height = `${item.height}px`;
  const svg = $('marks');
  svg.setAttribute('viewBox', `0 0 ${item.width} ${item.height}`);
  svg.setAttribute('width', String(item.width));
  svg.setAttribute('height', String(item.height));
  const message = $('image-message');
  message.hidden = true;
  const img = $('image');
  img.removeAttribute('src');
  if (item.missing) {
    message.hidden = false;
    message.textContent = item.missing;
    document.body.dataset.shown = String(index);
  } else {
    img.onload = () => { document.body.dataset.shown = String(index); };
    img.onerror = async () => {
      message.hidden = false;
      message.textContent = await fetch(`/api/images/${index}/preview.jpg`).then((r) => r.json()).then((b) => b.error, () => 'the image could not be loaded');
      document.body.dataset.shown = String(index);
    };
    img.src = `/api/images/${index}/preview.jpg`;
  }
  location.replace(`#${new URLSearchParams({ ...state.query, i: String(index) })}`);
  fit();
  drawMarks();
  renderItemInfo();
  prefetchNext();
}

function prefetchNext() {
  const next = state.page.rows[state.pos + 1];
  if (next) new Image().src = `/api/images/${next.index}/preview.jpg`;
}

function renderItemInfo() {
  const item = state.item;
  $('item-title').textContent = item.path;
  $('item-title').title = item.file;
  const moved = movedNow();
  const status = [`mean score ${item.meanScore.toFixed(3)}`];
  if (item.replaced.length) status.push(`${item.replaced.length} replaced by the shape check`);
  if (moved.length) status.push(`${moved.length} moved`);
  status.push(item.accepted ? 'accepted' : 'not yet accepted');
  $('item-status').textContent = status.join(' · ');
  const names = state.info.landmarks;
  $('points').replaceChildren(...names.map((n, k) => {
    const tr = document.createElement('tr');
    tr.classList.toggle('selected', k === state.selected);
    const flag = moved.includes(k) ? '\u270e moved' : item.replaced.includes(k) ? '\u21ba replaced' : '';
    for (const [cls, text] of [['code', n.code], ['name', n.name], ['score', item.scores[k].toFixed(3)], ['flag', flag]]) {
      const td = document.createElement('td');
      td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    tr.addEventListener('click', () => zoomTo(k));
    return tr;
  }));
}

function movedNow() {
  const p = state.item.predicted;
  return state.landmarks.flatMap(([x, y], k) => (Math.hypot(x - p[k][0], y - p[k][1]) > 1e-3 ? [k] : []));
}

// Hue from red (score 0) to green (1): the eye finds the doubtful points first.
const scoreColour = (s) => `hsl(${Math.round(120 * Math.max(0, Math.min(1, s)))}, 85%, 50%)`;

function drawMarks() {
  const svg = $('marks');
  const item = state.item;
  const moved = movedNow();
  svg.replaceChildren(...state.landmarks.map(([x, y], k) => {
    const g = document.createElementNS(SVG, 'g');
    g.classList.add('mark');
    g.classList.toggle('moved', moved.includes(k));
    g.classList.toggle('replaced', item.replaced.includes(k));
    g.classList.toggle('selected', k === state.selected);
    const c = document.createElementNS(SVG, 'circle');
    c.dataset.k = String(k);
    c.setAttribute('cx', String(x + 0.5));
    c.setAttribute('cy', String(y + 0.5));
    c.setAttribute('fill', scoreColour(item.scores[k]));
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${state.info.landmarks[k].name} (score ${item.scores[k].toFixed(3)})`;
    c.append(title);
    c.addEventListener('pointerdown', (e) => startDrag(e, k));
    const t = document.createElementNS(SVG, 'text');
    t.textContent = state.info.landmarks[k].code;
    g.append(c, t);
    return g;
  }));
  sizeMarks();
}

// Marks keep their size on screen whatever the zoom.
function sizeMarks() {
  const s = state.view.scale;
  for (const g of $('marks').children) {
    const c = g.firstChild;
    const t = g.lastChild;
    c.setAttribute('r', String(6 / s));
    c.setAttribute('stroke-width', String(1.5 / s));
    t.setAttribute('x', String(Number(c.getAttribute('cx')) + 8 / s));
    t.setAttribute('y', String(Number(c.getAttribute('cy')) - 8 / s));
    t.setAttribute('font-size', String(13 / s));
    t.setAttribute('stroke-width', String(3 / s));
  }
}

// --- zoom and pan ---------------------------------------------------------------------------------------

function applyView() {
  const { scale, tx, ty } = state.view;
  $('stage').style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
  sizeMarks();
  // Past the preview's resolution, the full image (made once, then cached by the server and the browser).
  const img = $('image');
  if (!state.full && state.item && !state.item.missing && img.naturalWidth
    && scale * devicePixelRatio * state.item.width > img.naturalWidth * 1.05) {
    state.full = true;
    const index = state.item.index;
    const full = new Image();
    full.onload = () => { if (state.item.index === index) img.src = full.src; };
    full.src = `/api/images/${index}/full.jpg`;
  }
}

function fit() {
  const vp = $('viewport').getBoundingClientRect();
  const { width, height } = state.item;
  const scale = Math.min(vp.width / width, vp.height / height);
  state.view = { scale, fit: scale, tx: (vp.width - width * scale) / 2, ty: (vp.height - height * scale) / 2 };
  applyView();
}

function zoomAround(factor, cx, cy) {
  const v = state.view;
  const scale = Math.max(v.fit / 2, Math.min(MAX_ZOOM, v.scale * factor));
  const f = scale / v.scale;
  state.view = { ...v, scale, tx: cx - (cx - v.tx) * f, ty: cy - (cy - v.ty) * f };
  applyView();
}

function zoomTo(k) {
  state.selected = k;
  const vp = $('viewport').getBoundingClientRect();
  const scale = Math.max(state.view.scale, Math.min(MAX_ZOOM, state.view.fit * 4));
  const [x, y] = state.landmarks[k];
  state.view = { ...state.view, scale, tx: vp.width / 2 - (x + 0.5) * scale, ty: vp.height / 2 - (y + 0.5) * scale };
  drawMarks();
  applyView();
  renderItemInfo();
}

function setUpViewport() {
  const vp = $('viewport');
  vp.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = vp.getBoundingClientRect();
    zoomAround(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  vp.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !state.item) return;
    const start = { x: e.clientX, y: e.clientY, tx: state.view.tx, ty: state.view.ty };
    vp.setPointerCapture(e.pointerId);
    vp.classList.add('panning');
    const move = (m) => {
      state.view = { ...state.view, tx: start.tx + m.clientX - start.x, ty: start.ty + m.clientY - start.y };
      applyView();
    };
    const up = () => {
      vp.classList.remove('panning');
      vp.removeEventListener('pointermove', move);
      vp.removeEventListener('pointerup', up);
    };
    vp.addEventListener('pointermove', move);
    vp.addEventListener('pointerup', up);
  });
  window.addEventListener('resize', () => state.item && fit());
}

// --- moving points and saving ---------------------------------------------------------------------------

// The point moves by the pointer's offset (not to the pointer), so grabbing a mark off-centre does not make it jump.
function startDrag(e, k) {
  if (e.button !== 0) return;
  e.stopPropagation();
  const c = e.target;
  c.setPointerCapture(e.pointerId);
  const start = { x: e.clientX, y: e.clientY, p: state.landmarks[k].slice() };
  state.selected = k;
  const move = (m) => {
    const s = state.view.scale;
    state.landmarks[k] = [start.p[0] + (m.clientX - start.x) / s, start.p[1] + (m.clientY - start.y) / s];
    c.setAttribute('cx', String(state.landmarks[k][0] + 0.5));
    c.setAttribute('cy', String(state.landmarks[k][1] + 0.5));
    sizeMarks();
  };
  const up = (u) => {
    c.removeEventListener('pointermove', move);
    c.removeEventListener('pointerup', up);
    drawMarks();
    if (u.clientX !== start.x || u.clientY !== start.y) report(save(state.item.accepted));
    else renderItemInfo();
  };
  c.addEventListener('pointermove', move);
  c.addEventListener('pointerup', up);
}

async function save(accepted) {
  const item = state.item;
  try {
    const r = await api(`/api/items/${item.index}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ landmarks: state.landmarks, accepted }),
    });
    if (state.item.index === item.index) state.item = r.item;
    const row = state.page.rows.find((x) => x.index === item.index);
    if (row) Object.assign(row, { accepted: r.item.accepted, corrected: r.item.moved.length > 0 });
    showProgress(r);
    renderList();
    renderItemInfo();
    document.body.dataset.saved = `${item.index}:${r.item.reviewedAt}`;
  } catch (err) {
    throw new Error(`could not save ${item.path}: ${err.message}`);
  }
}

async function accept() {
  if (!state.item) return;
  await save(true);
  if (state.query.status === 'todo') {
    // The accepted image leaves this list: the next one takes its place.
    const pos = state.pos;
    await loadPage({ offset: String(state.page.offset) });
    if (state.page.rows.length) await openAt(Math.min(pos, state.page.rows.length - 1));
  } else await step(1);
}

async function resetToPrediction() {
  if (!state.item) return;
  state.landmarks = state.item.predicted.map((p) => p.slice());
  drawMarks();
  await save(state.item.accepted);
}

// --- start ----------------------------------------------------------------------------------------------

function setUpControls() {
  const names = state.info.landmarks;
  $('landmark').append(...names.map((n, k) => {
    const o = document.createElement('option');
    o.value = String(k);
    o.textContent = `${n.code}: ${n.name}`;
    return o;
  }));
  for (const id of ['order', 'landmark', 'status']) {
    $(id).value = state.query[id];
    $(id).addEventListener('change', () => report((async () => {
      state.query[id] = $(id).value;
      state.pos = -1;
      await loadPage({ offset: '0' });
      await openAt(0);
    })()));
  }
  $('prev-page').addEventListener('click', () => report((async () => {
    await loadPage({ offset: String(Math.max(0, state.page.offset - PAGE)) });
    await openAt(0);
  })()));
  $('next-page').addEventListener('click', () => report((async () => {
    if (state.page.offset + PAGE >= state.page.total) return;
    await loadPage({ offset: String(state.page.offset + PAGE) });
    await openAt(0);
  })()));
  $('accept').addEventListener('click', () => report(accept()));
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
    // Enter or space on a focused button is its click already.
    if (e.target instanceof HTMLButtonElement && (e.key === 'Enter' || e.key === ' ')) return;
    const vp = $('viewport').getBoundingClientRect();
    const actions = {
      j: () => step(1), ArrowDown: () => step(1), ArrowRight: () => step(1),
      k: () => step(-1), ArrowUp: () => step(-1), ArrowLeft: () => step(-1),
      a: accept, Enter: accept, r: resetToPrediction,
      0: fit, '+': () => zoomAround(1.5, vp.width / 2, vp.height / 2), '=': () => zoomAround(1.5, vp.width / 2, vp.height / 2),
      '-': () => zoomAround(1 / 1.5, vp.width / 2, vp.height / 2),
    };
    const action = actions[e.key];
    if (!action || !state.item) return;
    e.preventDefault();
    report(action());
  });
}

async function main() {
  const hash = new URLSearchParams(location.hash.slice(1));
  for (const key of Object.keys(state.query)) if (hash.has(key)) state.query[key] = hash.get(key);
  state.info = await api('/api/info');
  $('folder').textContent = state.info.outDir;
  if (state.info.problemCount) {
    const more = state.info.problemCount - state.info.problems.length;
    showProblem(`${state.info.problems.join('\n')}${more > 0 ? `\n... and ${more} more (see the terminal)` : ''}`);
  }
  setUpControls();
  setUpViewport();
  const wanted = hash.get('i');
  await loadPage(wanted !== null ? { find: wanted } : { offset: '0' });
  const at = wanted !== null ? state.page.rows.findIndex((r) => String(r.index) === wanted) : 0;
  await openAt(Math.max(0, at));
}

report(main());
