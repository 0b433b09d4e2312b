/* hugo-pos checkout widget (DESIGN §7): vanilla JS, no dependencies, no build step.
 * Reads window.HUGO_POS_CONFIG (config.js) and menu.json, then enhances the markup of the
 * hugo-pos partials: [data-hugo-pos-menu], [data-hugo-pos-menus], [data-hugo-pos-add],
 * [data-hugo-pos-cart]. Without it the menus still work: each has a plain WhatsApp link.
 * Carts live in localStorage per location; orders go to the relay (POST /v1/orders with an
 * Idempotency-Key) and always also to WhatsApp. */
(() => {
  'use strict';
  const C = window.HUGO_POS_CONFIG;
  if (!C || window.HugoPos) return;
  const doc = document;
  const W = (window.HugoPos = {}); // hooks for tests and benchmarks: ready, money, openAt
  const RELAY = (C.relayUrl || '').replace(/\/+$/, '');
  const SRC = (doc.currentScript && doc.currentScript.src) || location.href;
  const LANG = doc.documentElement.lang || navigator.language || 'en';
  // Texts come from config.js (hugo_pos/write.py DEFAULT_STRINGS + locations.yaml `strings:`).
  const S = (k, v) => String((C.strings || {})[k] || k)
    .replace(/\{(\w+)\}/g, (_, n) => (v && n in v ? v[n] : ''));
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const $ = (sel, root) => (root || doc).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || doc).querySelectorAll(sel));

  // -- storage ----------------------------------------------------------------------------------
  const get = (k, d) => {
    try { const v = localStorage.getItem('hugo-pos:' + k); return v ? JSON.parse(v) : d; } catch (e) { return d; }
  };
  const put = (k, v) => { try { localStorage.setItem('hugo-pos:' + k, JSON.stringify(v)); } catch (e) { /* private mode */ } };

  // -- money: integer minor units in, the locale's currency format out -------------------------
  let NF;
  const money = (a) => {
    const mu = C.minorUnits, s = 10 ** mu, n = Math.abs(a);
    const dec = (a < 0 ? '-' : '') + Math.floor(n / s) + (mu ? '.' + String(n % s).padStart(mu, '0') : '');
    try {
      NF = NF || new Intl.NumberFormat(LANG, { style: 'currency', currency: C.currency, minimumFractionDigits: mu, maximumFractionDigits: mu });
      return NF.format(dec);
    } catch (e) { return C.currency + ' ' + dec; }
  };

  // -- opening hours (used when the relay cannot say): same rules as hugo_pos/hours.py ------------
  const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], DTF = {};
  const openAt = (hours, tz, when) => {
    if (hours == null) return true;
    const p = {};
    try {
      (DTF[tz] = DTF[tz] || new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }))
        .formatToParts(when).forEach((x) => { p[x.type] = x.value; });
    } catch (e) { return true; }
    const d = DAYS.indexOf(p.weekday.slice(0, 3).toLowerCase()), m = p.hour * 60 + +p.minute;
    const any = (day, f) => (hours[DAYS[(day + 7) % 7]] || []).some((r) => {
      const [s, e] = r.split('-').map((t) => t.split(':')[0] * 60 + +t.split(':')[1]);
      return f(s, e > s ? e : e + 1440);
    });
    return any(d, (s, e) => s <= m && m < e) || any(d - 1, (s, e) => e > 1440 && m < e - 1440);
  };

  // -- state ---------------------------------------------------------------------------------------
  let M; // menu.json
  let cur; // the current location id
  const idx = {}, live = {}, carts = {};
  const locCfg = (id) => (C.locations || []).find((l) => l.id === id) || { id, name: id, fulfilment: ['pickup'] };
  const index = (loc) => {
    if (idx[loc]) return idx[loc];
    const L = M.locations[loc], v = {}, o = {};
    if (L) {
      Object.keys(L.items).forEach((k) => {
        const it = L.items[k];
        it.variants.forEach((x) => { v[x.id] = { k, it, x }; });
        it.modifier_groups.forEach((g) => g.options.forEach((x) => { o[x.id] = { g, x }; }));
      });
    }
    return (idx[loc] = { L, v, o });
  };
  const cart = (loc) => {
    if (!carts[loc]) {
      const c = (carts[loc] = get('cart:' + loc, null) || { l: [], f: '', p: {} });
      if (c.v !== M.version) c.p = {}; // prices the relay sent apply to the menu they were for
    }
    return carts[loc];
  };
  const save = (loc) => put('cart:' + loc, Object.assign(cart(loc), { v: M.version }));
  // Another tab changed a cart: read it again rather than overwrite it with this tab's copy.
  addEventListener('storage', (e) => {
    if (M && e.key && e.key.startsWith('hugo-pos:cart:')) { delete carts[e.key.slice(14)]; paintCart(); }
  });
  let painted = false; // the first paint is done: opening hours may be worked out now
  const openMemo = {};
  const isOpen = (loc) => {
    const a = live[loc];
    if (a && a.open != null) return a.open;
    // Until the relay answers, and during the first paint, assume open: Intl's first use costs
    // ~30 ms; refresh() repaints with the real answer right after.
    if ((RELAY && !a) || !painted) return true;
    const l = locCfg(loc), t = Math.floor(Date.now() / 60000), m = openMemo[loc];
    if (m && m.t === t) return m.v;
    openMemo[loc] = { t, v: openAt(l.hours, l.timezone, new Date()) };
    return openMemo[loc].v;
  };
  const why = (r) => S({ sold_out: 'sold_out', not_for_sale_here: 'not_available', variable_price: 'variable_price' }[r] || 'not_online');
  const vReason = (loc, x) => {
    const a = live[loc] || {};
    if (a.sold && a.sold.has(x.id)) return 'sold_out';
    if (!x.available && !(x.reason === 'sold_out' && a.back && a.back.has(x.id))) return x.reason || 'sold_out';
    return x.price == null ? 'variable_price' : '';
  };
  const oReason = (loc, x) => {
    const a = live[loc] || {};
    return (a.sold && a.sold.has(x.id)) || (!x.available && !(a.back && a.back.has(x.id))) ? 'sold_out' : '';
  };
  const itemReason = (loc, it) => {
    const rs = it.variants.map((x) => vReason(loc, x));
    return rs.includes('') ? '' : rs[0];
  };
  const lineName = (it, x) => (it.variants.length === 1 || x.name === it.name ? it.name : `${it.name} (${x.name})`);
  const priceOf = (loc, id, base) => (id in cart(loc).p ? cart(loc).p[id] : base);
  // A cart line with its names, prices and why it cannot be ordered now ('' if it can).
  const info = (loc, line) => {
    const I = index(loc), f = I.v[line.id];
    if (!f) return { name: line.id, mods: [], total: 0, reason: 'not_for_sale_here' };
    const opts = line.m.map((id) => I.o[id]);
    let reason = vReason(loc, f.x);
    if (!reason && opts.some((o) => !o || oReason(loc, o.x))) reason = 'sold_out';
    const unit = priceOf(loc, f.x.id, f.x.price || 0) +
      opts.reduce((t, o) => t + (o ? priceOf(loc, o.x.id, o.x.price) : 0), 0);
    return { name: lineName(f.it, f.x), mods: opts.map((o) => (o ? o.x.name : '?')), unit, total: unit * line.q, reason };
  };
  const totals = (loc) => cart(loc).l.reduce((t, l) => ({ n: t.n + l.q, a: t.a + info(loc, l).total }), { n: 0, a: 0 });

  // -- announcements -------------------------------------------------------------------------------
  let liveRegion;
  const say = (text) => {
    liveRegion.textContent = '';
    setTimeout(() => { liveRegion.textContent = text; }, 60);
  };
  const summary = (loc) => { const t = totals(loc); return S('now', { n: t.n, total: money(t.a) }); };

  // -- menus and add buttons -----------------------------------------------------------------------
  const paintAdds = (root) => $$('[data-hugo-pos-add]', root).forEach((el) => {
    const loc = el.dataset.location, key = el.dataset.hugoPosAdd;
    const it = M.locations[loc] && M.locations[loc].items[key];
    if (!it) { el.textContent = ''; return; }
    const r = itemReason(loc, it), closed = !isOpen(loc);
    // A reason menu.json already gives is in the markup; live ones (sold out now, closed) are not.
    el.innerHTML = r && !it.variants.some((x) => x.available) ? ''
      : r || closed ? `<strong class="hugo-pos-unavailable" data-reason="${r || 'closed'}">${esc(r ? why(r) : S('closed_short'))}</strong>`
        : `<button type="button" class="hugo-pos-add-btn" data-k="${esc(key)}" data-loc="${esc(loc)}">${esc(S('add_to_cart'))}<span class="hugo-pos-vh">: ${esc(it.name)}</span></button>`;
  });
  const paintMenus = () => {
    $$('[data-hugo-pos-menus]').forEach((w) => {
      const mine = $(`[data-hugo-pos-menu][data-location="${CSS.escape(cur)}"]`, w);
      $$('[data-hugo-pos-menu]', w).forEach((s) => { s.hidden = !!mine && s !== mine; });
      const nav = $('[data-hugo-pos-locations]', w);
      if (nav) nav.hidden = true;
    });
    $$('[data-hugo-pos-menu]').forEach((s) => {
      const loc = s.dataset.location, open = isOpen(loc);
      let p = $('.hugo-pos-open', s);
      if (!p) {
        p = doc.createElement('p');
        p.id = 'hugo-pos-open-' + loc;
        (($('.hugo-pos-order', s) || s.firstChild) || s).after(p);
      }
      p.className = 'hugo-pos-open ' + (open ? 'is-open' : 'is-closed');
      p.textContent = S(open ? 'open' : 'closed');
    });
    paintAdds();
  };

  // -- the cart --------------------------------------------------------------------------------------
  let box; // the cart element
  const pickers = () => $$('select[data-hp-loc]').forEach((s) => { s.value = cur; });
  const pickerHtml = (id) => `<p class="hugo-pos-picker"><label for="${id}">${esc(S('order_from'))}</label> ` +
    `<select id="${id}" data-hp-loc>${(C.locations || []).filter((l) => M.locations[l.id])
      .map((l) => `<option value="${esc(l.id)}">${esc(l.name)}</option>`).join('')}</select></p>`;
  const mountCart = () => {
    box = $('[data-hugo-pos-cart]');
    if (!box) {
      box = doc.createElement('section');
      box.className = 'hugo-pos-cart';
      box.setAttribute('data-hugo-pos-cart', '');
      const menus = $$('[data-hugo-pos-menus],[data-hugo-pos-menu]').filter((m) => !m.parentElement.closest('[data-hugo-pos-menus]'));
      const last = menus[menus.length - 1];
      if (last) last.after(box); else ($('main') || doc.body).append(box);
    }
    box.id = box.id || 'hugo-pos-cart';
    box.setAttribute('aria-labelledby', 'hugo-pos-cart-title');
    const c = get('customer', {});
    const field = (n, type, extra) => `<p class="hugo-pos-field" data-hp-f="${n}"><label for="hp-${n}">${esc(S(n === 'note' ? 'order_note' : n))}</label>` +
      (type === 'area' ? `<textarea id="hp-${n}" name="${n}" ${extra}>${esc(c[n])}</textarea>`
        : `<input id="hp-${n}" name="${n}" type="${type}" value="${esc(c[n])}" ${extra}>`) + '</p>';
    box.innerHTML = `<h2 id="hugo-pos-cart-title">${esc(S('cart'))}</h2>${pickerHtml('hugo-pos-loc')}` +
      '<p class="hugo-pos-open" id="hugo-pos-cart-open" data-hp-open></p><div data-hp-lines></div>' +
      '<form class="hugo-pos-form" data-hp-form><fieldset class="hugo-pos-fulfilment" data-hp-ful></fieldset>' +
      field('name', 'text', 'autocomplete="name" required maxlength="100"') +
      field('phone', 'tel', 'autocomplete="tel" required maxlength="40" pattern="\\+?[0-9 \\(\\)\\.\\/\\-]{7,25}"') +
      field('address', 'area', 'autocomplete="street-address" maxlength="300" rows="2"') +
      field('note', 'text', 'maxlength="500"') +
      '<p class="hugo-pos-error" role="alert" id="hugo-pos-cart-error" data-hp-err></p>' +
      `<button type="submit" class="hugo-pos-send" data-hp-send aria-describedby="hugo-pos-cart-open hugo-pos-cart-error">${esc(S(RELAY ? 'checkout' : 'whatsapp'))}</button></form>` +
      '<div class="hugo-pos-result" data-hp-result></div>';
    const form = $('[data-hp-form]', box);
    form.addEventListener('input', (e) => {
      if (e.target.name === 'f') { cart(cur).f = e.target.value; save(cur); paintForm(); return; }
      const k = {}; ['name', 'phone', 'address', 'note'].forEach((n) => { k[n] = form.elements[n].value; });
      put('customer', k);
    });
    form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
    box.addEventListener('click', onCartClick);
  };
  const paintForm = () => {
    const l = locCfg(cur), ful = l.fulfilment && l.fulfilment.length ? l.fulfilment : ['pickup'];
    const fs = $('[data-hp-ful]', box), ca = cart(cur);
    if (fs.dataset.loc !== cur) { // rebuilt only for another location: keeps keyboard focus
      const f = ful.includes(ca.f) ? ca.f : ful[0];
      fs.dataset.loc = cur;
      fs.innerHTML = `<legend>${esc(S('how'))}</legend>` + ful.map((m) => `<label class="hugo-pos-choice"><input type="radio" name="f" value="${m}"${m === f ? ' checked' : ''}> ${esc(S(m))}</label>`).join('');
    }
    const on = $('input[name="f"]:checked', fs), addr = $('[data-hp-f="address"]', box);
    addr.hidden = !on || on.value !== 'delivery';
    $('textarea', addr).required = !addr.hidden;
  };
  const paintCart = () => {
    if (!box) return;
    const loc = cur, ca = cart(loc), open = isOpen(loc);
    const focused = doc.activeElement && doc.activeElement.closest && doc.activeElement.closest('[data-hp-lines] [data-a]');
    const keep = focused && [focused.dataset.a, focused.dataset.i];
    pickers();
    const o = $('[data-hp-open]', box);
    o.className = 'hugo-pos-open ' + (open ? 'is-open' : 'is-closed');
    o.textContent = S(open ? 'open' : 'closed');
    const t = totals(loc);
    $('[data-hp-lines]', box).innerHTML = ca.l.length ? '<ul class="hugo-pos-lines">' + ca.l.map((line, i) => {
      const x = info(loc, line), n = esc(x.name);
      return `<li class="hugo-pos-line${x.reason ? ' is-unavailable' : ''}"><p class="hugo-pos-line-name"><span class="hugo-pos-line-qty">${line.q} ×</span> ${n}` +
        (x.mods.length ? ` <span class="hugo-pos-line-mods">+ ${esc(x.mods.join(', '))}</span>` : '') +
        (line.n ? ` <span class="hugo-pos-line-note">“${esc(line.n)}”</span>` : '') +
        (x.reason ? ` <strong class="hugo-pos-unavailable">${esc(why(x.reason))}</strong>` : '') +
        `</p><p class="hugo-pos-line-tools"><button type="button" data-a="dec" data-i="${i}" aria-label="${esc(S('less'))}: ${n}">−</button>` +
        `<button type="button" data-a="inc" data-i="${i}" aria-label="${esc(S('more'))}: ${n}"${line.q >= 99 ? ' disabled' : ''}>+</button>` +
        `<button type="button" data-a="del" data-i="${i}" class="hugo-pos-remove">${esc(S('remove'))}<span class="hugo-pos-vh">: ${n}</span></button>` +
        `<span class="hugo-pos-line-total">${money(x.total)}</span></p></li>`;
    }).join('') + `</ul><p class="hugo-pos-total">${esc(S('total'))} <strong data-hp-total>${money(t.a)}</strong></p>`
      : `<p class="hugo-pos-empty">${esc(S('empty_cart'))}</p>`;
    if (keep) {
      const again = $(`[data-hp-lines] [data-a="${keep[0]}"][data-i="${keep[1]}"]`, box) || $('[data-hp-lines] [data-a]', box);
      (again || $('#hugo-pos-cart-title')).focus();
    }
    paintForm();
    const blocked = !ca.l.length || !open || ca.l.some((l) => info(loc, l).reason);
    $('[data-hp-send]', box).disabled = blocked || busy;
    $$('.hugo-pos-bar').forEach((b) => { // money() only when shown: Intl's first use is slow
      b.hidden = !t.n;
      if (t.n) b.textContent = `${S('cart')}: ${t.n} · ${money(t.a)}`;
    });
    paintResult();
  };
  const onCartClick = (e) => {
    const b = e.target.closest('[data-a]');
    if (busy || !b || !b.closest('[data-hp-lines]')) return; // no edits while an order is sent
    const ca = cart(cur), i = +b.dataset.i, line = ca.l[i];
    if (!line) return;
    const name = info(cur, line).name;
    if (b.dataset.a === 'inc') line.q = Math.min(99, line.q + 1);
    else if (b.dataset.a === 'dec' && line.q > 1) line.q -= 1;
    else ca.l.splice(i, 1);
    save(cur);
    pending = null;
    paintCart();
    say((ca.l[i] === line ? `${line.q} × ${name}. ` : S('removed', { what: name }) + ' ') + summary(cur));
  };
  const setLoc = (loc, remember) => {
    if (!M.locations[loc]) return;
    cur = loc;
    if (remember) put('loc', loc);
    paintMenus();
    paintCart();
    refresh(loc);
  };

  // -- the item dialog: variant, modifiers with min/max, quantity, note ----------------------------
  let dlg, opener;
  const rule = (g) => (g.min === g.max ? S('choose_exactly', { n: g.min }) : g.min === 0 ? S('choose_up_to', { n: g.max })
    : S('choose_between', { min: g.min, max: g.max }));
  const openItem = (loc, key, from) => {
    const it = M.locations[loc].items[key];
    opener = from;
    if (!dlg) {
      dlg = doc.createElement('dialog');
      dlg.className = 'hugo-pos-dialog';
      dlg.setAttribute('aria-labelledby', 'hugo-pos-dlg-title');
      doc.body.append(dlg);
      dlg.addEventListener('close', () => { if (opener && opener.isConnected) opener.focus(); });
      dlg.addEventListener('input', () => dlgUpdate());
      dlg.addEventListener('click', (e) => { if (e.target.dataset.a === 'close') dlg.close(); });
      dlg.addEventListener('submit', (e) => { e.preventDefault(); dlgAdd(); });
    }
    dlg.dataset.loc = loc;
    dlg.dataset.k = key;
    const first = it.variants.find((x) => !vReason(loc, x));
    const price = (p) => (p ? ' · ' + money(p) : '');
    dlg.innerHTML = `<form class="hugo-pos-item-form"><h2 id="hugo-pos-dlg-title">${esc(it.name)}</h2>` +
      (it.description ? `<p class="hugo-pos-dlg-desc">${esc(it.description)}</p>` : '') +
      (it.variants.length > 1 ? `<fieldset><legend>${esc(S('choose'))}</legend>` + it.variants.map((x) => {
        const r = vReason(loc, x);
        return `<label class="hugo-pos-choice"><input type="radio" name="v" value="${esc(x.id)}"${r ? ' disabled' : ''}${x === first ? ' checked' : ''}> ${esc(x.name)}${price(priceOf(loc, x.id, x.price))}${r ? ` <strong class="hugo-pos-unavailable">${esc(why(r))}</strong>` : ''}</label>`;
      }).join('') + '</fieldset>' : '') +
      it.modifier_groups.map((g, gi) => {
        const one = g.min === 1 && g.max === 1;
        return `<fieldset data-g="${gi}"><legend>${esc(g.name)} <span class="hugo-pos-rule">(${esc(rule(g))})</span></legend>` + g.options.map((x) => {
          const r = oReason(loc, x);
          return `<label class="hugo-pos-choice"><input type="${one ? 'radio' : 'checkbox'}" name="g${gi}" value="${esc(x.id)}"${r ? ' disabled data-out' : ''}${one && !r ? ' required' : ''}> ${esc(x.name)}${x.price ? ' + ' + money(priceOf(loc, x.id, x.price)) : ''}${r ? ` <strong class="hugo-pos-unavailable">${esc(why(r))}</strong>` : ''}</label>`;
        }).join('') + '</fieldset>';
      }).join('') +
      `<p class="hugo-pos-field"><label for="hp-q">${esc(S('quantity'))}</label> <input id="hp-q" name="q" type="number" min="1" max="99" value="1" inputmode="numeric" required></p>` +
      `<p class="hugo-pos-field"><label for="hp-n">${esc(S('note'))}</label> <input id="hp-n" name="n" maxlength="200"></p>` +
      '<p class="hugo-pos-error" role="alert" data-hp-derr></p>' +
      `<p class="hugo-pos-actions"><button type="button" data-a="close">${esc(S('cancel'))}</button> ` +
      `<button type="submit" class="hugo-pos-primary">${esc(S('add_to_cart'))} · <span data-hp-dtotal></span></button></p></form>`;
    dlgUpdate();
    dlg.showModal();
  };
  const dlgRead = () => {
    const loc = dlg.dataset.loc, it = M.locations[loc].items[dlg.dataset.k], f = $('form', dlg);
    const v = it.variants.length > 1 ? (f.elements.v ? $('input[name="v"]:checked', f) : null) : { value: it.variants[0].id };
    const m = $$('[data-g] input:checked', f).map((i) => i.value);
    const q = Math.max(1, Math.min(99, parseInt(f.elements.q.value, 10) || 1));
    return { loc, it, f, id: v && v.value, m, q, n: f.elements.n.value.trim() };
  };
  const dlgUpdate = () => {
    const r = dlgRead(), I = index(r.loc);
    $$('[data-g]', r.f).forEach((fs) => {
      const g = r.it.modifier_groups[fs.dataset.g], boxes = $$('input[type="checkbox"]', fs);
      const full = boxes.filter((b) => b.checked).length >= g.max;
      boxes.forEach((b) => { b.disabled = b.hasAttribute('data-out') || (full && !b.checked); });
    });
    const unit = r.id && I.v[r.id] ? priceOf(r.loc, r.id, I.v[r.id].x.price || 0) + r.m.reduce((t, id) => t + priceOf(r.loc, id, I.o[id].x.price), 0) : 0;
    $('[data-hp-dtotal]', dlg).textContent = money(unit * r.q);
  };
  const dlgAdd = () => {
    if (busy) return;
    const r = dlgRead(), err = $('[data-hp-derr]', dlg);
    const bad = r.it.modifier_groups.find((g) => {
      const n = r.m.filter((id) => g.options.some((o) => o.id === id)).length;
      return n < g.min || n > g.max;
    });
    if (!r.id || bad) {
      err.textContent = bad ? S('need', { group: bad.name, rule: rule(bad) }) : S('choose');
      return;
    }
    if (r.loc !== cur) setLoc(r.loc, true);
    const ca = cart(r.loc), same = ca.l.find((l) => l.id === r.id && l.n === r.n && l.m.join() === r.m.join());
    if (same) same.q = Math.min(99, same.q + r.q); else ca.l.push({ id: r.id, m: r.m, q: r.q, n: r.n });
    save(r.loc);
    pending = null;
    dlg.close();
    paintCart();
    const I = index(r.loc);
    say(S('added', { what: `${r.q} × ${lineName(r.it, I.v[r.id].x)}` }) + ' ' + summary(r.loc));
  };

  // -- live availability from the relay ------------------------------------------------------------
  const refresh = async (loc) => {
    if (RELAY) {
      try {
        const r = await fetch(`${RELAY}/v1/locations/${encodeURIComponent(loc)}/availability`, { cache: 'no-store' });
        if (!r.ok) throw new Error(r.status);
        const a = await r.json();
        live[loc] = { open: a.open, sold: new Set(a.sold_out || []), back: new Set(a.available || []) };
      } catch (e) { live[loc] = live[loc] || {}; }
    }
    $$(`[data-hugo-pos-menu][data-location="${CSS.escape(loc)}"]`).forEach((s) => { s.dataset.live = live[loc] && 'open' in live[loc] ? 'relay' : 'hours'; });
    paintMenus();
    paintCart();
  };

  // -- checkout ----------------------------------------------------------------------------------
  let pending = null, busy = false; // pending: {b: body, k: Idempotency-Key} of the last attempt
  const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  // the id the relay gives the order (relay/service.py order_id_for), even if no answer comes
  const orderId = async (k) => {
    try {
      let n = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(k))).slice(0, 5).reduce((a, b) => a * 256 + b), s = '';
      for (let i = 8; i--; n = Math.floor(n / 32)) s = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ'[n % 32] + s;
      return s.slice(0, 4) + '-' + s.slice(4);
    } catch (e) { return ''; } // no crypto.subtle outside https and localhost
  };
  const form = () => $('[data-hp-form]', box).elements;
  const waText = (loc, body, id) => {
    const l = locCfg(loc), ca = cart(loc);
    const lines = (notes, max) => {
      const shown = max == null ? ca.l : ca.l.slice(0, max), out = [`Order${id ? ' ' + id : ''} · ${l.name}`];
      shown.forEach((line) => {
        const x = info(loc, line);
        out.push(`${line.q} × ${x.name}${x.mods.map((m) => ' + ' + m).join('')} — ${money(x.total)}`);
        if (notes && line.n) out.push(`   (${line.n})`);
      });
      if (shown.length < ca.l.length) out.push(`… and ${ca.l.length - shown.length} more`);
      out.push(`Total: ${money(totals(loc).a)}`);
      const f = body.fulfilment.replace('_', '-');
      out.push(`${f[0].toUpperCase() + f.slice(1)} for ${body.customer.name}, ${body.customer.phone}`);
      if (body.customer.address) out.push('Address: ' + body.customer.address.slice(0, notes ? 300 : 120));
      if (notes && body.note) out.push('Note: ' + body.note);
      return out.join('\n');
    };
    const digits = (l.whatsapp || '').replace(/\D/g, '');
    let url;
    for (const [notes, max] of [[true], [false], [false, 10], [false, 3], [false, 0]]) {
      url = `https://wa.me/${digits}?text=${encodeURIComponent(lines(notes, max))}`;
      if (url.length < 2000) break;
    }
    return url;
  };
  const shown = {}; // the last outcome per location; only placed orders outlive the page
  const result = (loc, r) => { shown[loc] = r; if (r.id) put('order:' + loc, Object.assign(r, { t: r.t || Date.now() })); paintResult(); };
  const placed = (loc) => { const r = get('order:' + loc, null); return r && Date.now() - r.t < 432e5 ? r : null; }; // 12 h
  const paintResult = () => {
    const r = shown[cur] || placed(cur), el = $('[data-hp-result]', box);
    if (!el) return;
    el.innerHTML = !r ? '' : (r.id ? `<p class="hugo-pos-order-id">${esc(S('order_sent'))}. ${esc(S('order_number'))}: <strong data-hp-order>${esc(r.id)}</strong></p>` +
      `<p>${esc(S('status'))}: <span data-hp-status="${esc(r.s)}">${esc(S('status_' + r.s))}</span></p>` : `<p class="hugo-pos-${r.why === 'relay_down' ? 'error' : 'note'}">${esc(S(r.why))}</p>` +
      (r.ref ? `<p class="hugo-pos-order-id">${esc(S('order_number'))}: <strong data-hp-ref>${esc(r.ref)}</strong></p>` : '')) +
      `<p><a class="hugo-pos-whatsapp" data-hp-wa href="${esc(r.wa)}" target="_blank" rel="noopener">${esc(S('whatsapp'))}</a></p>`;
  };
  const err = (text) => { const e = $('[data-hp-err]', box); e.textContent = text || ''; };
  const send = async () => {
    if (busy) return;
    const loc = cur, ca = cart(loc), f = form(), t = totals(loc);
    const ful = $('input[name="f"]:checked', box);
    const body = {
      location: loc,
      items: ca.l.map((l) => ({ id: l.id, quantity: l.q, modifiers: l.m, note: l.n || '' })),
      customer: { name: f.name.value.trim(), phone: f.phone.value.trim() },
      fulfilment: ful ? ful.value : 'pickup', note: f.note.value.trim(), menu_version: M.version,
      expected_total: t.a,
    };
    if (body.fulfilment === 'delivery') body.customer.address = f.address.value.trim();
    err('');
    if (!RELAY) { const wa = waText(loc, body); result(loc, { why: 'whatsapp_only', wa }); window.open(wa, '_blank', 'noopener'); return; }
    const b = JSON.stringify(body);
    if (!pending || pending.b !== b) pending = { b, k: newKey() };
    busy = true;
    const btn = $('[data-hp-send]', box);
    btn.disabled = true;
    btn.textContent = S('sending');
    const id = await orderId(pending.k), wa = waText(loc, body, id);
    let r, data = {};
    try {
      for (let tries = 0; tries < 5; tries += 1) {
        const ac = new AbortController(), timer = setTimeout(() => ac.abort(), 15000);
        try {
          r = await fetch(RELAY + '/v1/orders', { method: 'POST', body: b, signal: ac.signal,
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': pending.k } });
          data = await r.json().catch(() => ({}));
        } finally { clearTimeout(timer); }
        if (!(r.status === 409 && data.error && data.error.code === 'in_progress')) break;
        await new Promise((ok) => setTimeout(ok, 1000));
      }
    } catch (e) { r = null; }
    busy = false;
    btn.textContent = S('checkout');
    const e = data.error || {};
    if (r && r.status === 201) {
      pending = null;
      ca.l = []; ca.p = {};
      save(loc);
      result(loc, { id: data.order_id, s: data.status, wa: data.whatsapp_url });
      paintCart();
      say(`${S('order_sent')}. ${S('order_number')}: ${data.order_id}`);
      window.open(data.whatsapp_url, '_blank', 'noopener');
      poll(loc, data.order_id, 1500);
    } else if (!r || r.status >= 500) {
      result(loc, { why: 'relay_down', wa, ref: id });
      paintCart();
      say(S('relay_down'));
      window.open(wa, '_blank', 'noopener');
    } else {
      if (e.code === 'price_changed') {
        (e.lines || []).forEach((l) => { ca.p[l.id] = l.unit_price; (l.modifiers || []).forEach((m) => { ca.p[m.id] = m.price; }); });
        save(loc);
      } else if (e.code === 'closed') {
        live[loc] = Object.assign(live[loc] || {}, { open: false });
      } else if (e.code === 'unavailable' || e.code === 'unknown_item') {
        const m = /^items\[(\d+)\](\.modifiers\[(\d+)\])?/.exec(e.field || ''), line = m && ca.l[+m[1]];
        if (line) {
          const a = (live[loc] = live[loc] || {});
          (a.sold = a.sold || new Set()).add(m[2] ? line.m[+m[2]] : line.id);
          e.message = `${info(loc, line).name}: ${why(e.reason || 'sold_out')}`;
        }
      }
      paintMenus();
      paintCart();
      const text = e.code === 'price_changed' ? S('price_changed') : e.code === 'closed' ? S('closed')
        : e.code === 'rate_limited' ? S('rate_limited', { n: r.headers.get('Retry-After') || 60 }) : e.message || String(r.status);
      err(text);
      say(text);
      const fix = /^customer\.(name|phone|address)$/.exec(e.field || '');
      if (fix) doc.getElementById('hp-' + fix[1]).focus();
    }
  };
  const polls = {};
  const poll = (loc, id, wait, until = Date.now() + 6e5) => { // follow it for 10 minutes
    clearTimeout(polls[loc]);
    polls[loc] = setTimeout(async () => {
      try {
        const r = await fetch(`${RELAY}/v1/orders/${encodeURIComponent(id)}`, { cache: 'no-store' });
        const o = r.ok && (await r.json()), last = get('order:' + loc, {});
        if (o && last.id === id && o.status !== last.s) {
          result(loc, Object.assign(last, { s: o.status }));
          if (loc === cur) say(`${S('status')}: ${S('status_' + o.status)}`);
        }
        if (o && /completed|cancelled/.test(o.status)) return;
      } catch (e) { /* try again later */ }
      if (Date.now() < until) poll(loc, id, Math.min(wait * 2, 30000), until);
    }, wait);
  };

  // -- start -------------------------------------------------------------------------------------
  const start = async () => {
    const menus = $$('[data-hugo-pos-menu]');
    if (!menus.length && !$('[data-hugo-pos-add],[data-hugo-pos-cart]')) return;
    const r = await fetch(new URL('menu.json', SRC), { cache: 'no-cache' });
    M = await r.json();
    performance.mark('hugo-pos:render-start');
    liveRegion = doc.createElement('div');
    liveRegion.className = 'hugo-pos-vh';
    liveRegion.setAttribute('role', 'status');
    doc.body.append(liveRegion);
    const here = [...new Set(menus.map((s) => s.dataset.location))];
    const single = here.length === 1 && !$('[data-hugo-pos-menus]');
    cur = single ? here[0] : get('loc', '');
    if (!M.locations[cur]) cur = here[0] || Object.keys(M.locations)[0];
    $$('[data-hugo-pos-menus]').forEach((w) => {
      const p = doc.createElement('div');
      p.innerHTML = pickerHtml('hugo-pos-menus-loc');
      w.prepend(p.firstChild);
    });
    menus.forEach((s) => {
      const bar = doc.createElement('a');
      bar.className = 'hugo-pos-bar';
      bar.href = '#hugo-pos-cart';
      bar.hidden = true;
      s.append(bar);
    });
    mountCart();
    doc.addEventListener('change', (e) => { if (e.target.matches('select[data-hp-loc]')) { setLoc(e.target.value, true); say(summary(cur)); } });
    doc.addEventListener('click', (e) => {
      const b = e.target.closest('.hugo-pos-add-btn');
      if (b) openItem(b.dataset.loc, b.dataset.k, b);
    });
    paintMenus();
    paintCart();
    performance.mark('hugo-pos:render-end');
    painted = true;
    const last = placed(cur);
    if (last && last.id && !/completed|cancelled/.test(last.s)) poll(cur, last.id, 1000);
    // Every location the page can order from (menus and add buttons), then the page is ready.
    const locs = new Set([cur, ...here, ...$$('[data-hugo-pos-add]').map((e) => e.dataset.location)]);
    await Promise.all([...locs].filter((l) => M.locations[l]).map(refresh));
    doc.documentElement.dataset.hugoPos = 'ready';
    setInterval(() => { if (!doc.hidden) refresh(cur); }, 60000);
  };
  W.ready = doc.readyState === 'loading'
    ? new Promise((ok) => doc.addEventListener('DOMContentLoaded', () => ok(start())))
    : start();
  W.money = money;
  W.openAt = openAt;
})();
