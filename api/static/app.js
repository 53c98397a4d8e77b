/* The sanitation planning page: sign in with an API key, then the views the key's role allows.
 * Talks only to this service's own API (same origin); no CDN, no tile server unless configured. */
"use strict";

(function () {
  const KEY = "sanitation.key";
  const LANG = "sanitation.lang";
  const VIEWS = {
    planner: ["planner", "dispatcher", "coordinator", "incidents"],
    dispatcher: ["dispatcher", "coordinator", "incidents"],
    coordinator: ["coordinator"],
  };
  const KPIS = [
    "total_cost_cny", "distance_km", "driver_hours_h", "collected_t", "trucks_used",
    "points_due", "points_served", "points_unserved", "fixed_cost_cny", "distance_cost_cny",
    "time_cost_cny", "transfer_cost_cny", "gate_fees_cny", "station_cost_cny", "co2_kg",
  ];
  const HIGHER_IS_BETTER = new Set(["collected_t", "points_served"]);
  const SORTED_KPIS = ["cost_cny_per_t", "diverted_share"];  // on the county row of a sorted plan
  const COLOURS = { served: "#2e9d55", later: "#3a78c9", notdue: "#9aa3ad", unserved: "#d64541",
    incident: "#f08c00" };
  // sorted streams on the map: the four colours of China's classified bins (其他垃圾 grey, 易腐/厨余
  // 垃圾 green, 可回收物 blue, 有害垃圾 red: GB/T 19095-2019 as secondary sources describe it; the
  // shades are assumed, chosen so white text on each has a contrast of at least 4.5:1), keyed by
  // stream id or else by the Chinese name; any other stream takes the next of
  // OTHER_STREAM_COLOURS in the plan's order (docs/streams.md).
  const BIN = { grey: "#5f6b76", green: "#2e8540", blue: "#1f5fbf", red: "#c62828" };
  const STREAM_COLOURS = {
    residual: BIN.grey, 其他垃圾: BIN.grey, 干垃圾: BIN.grey,
    perishable: BIN.green, 易腐垃圾: BIN.green, 厨余垃圾: BIN.green, 湿垃圾: BIN.green, 餐厨垃圾: BIN.green,
    recyclable: BIN.blue, 可回收物: BIN.blue,
    hazardous: BIN.red, 有害垃圾: BIN.red,
  };
  const OTHER_STREAM_COLOURS = ["#7b3fa0", "#a85400", "#00796b", "#6d4c41", "#ad1457", "#37474f"];

  const state = {
    lang: localStorage.getItem(LANG) || "zh",
    me: null, config: { tile_url: null, tile_attribution: "" },
    view: null, scenarios: [], plans: [], networks: {}, maps: {},
    dispatch: { routes: [], streams: [], route: null, events: [], incidents: [], open: [], pick: null, diff: null },
    township: null, pick: null, pickLayer: null, jobTimer: null,
  };

  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  };
  const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || I18N.zh[key] || key;
  const tOr = (key, fallback) => (I18N[state.lang] && I18N[state.lang][key] !== undefined ? I18N[state.lang][key] : fallback);
  const html = (text) => String(text).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const fmt = (x, digits = 1) => (x === null || x === undefined ? "–" :
    Number(x).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB",
      { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  // sorted waste streams (分类收运): names from the API's `streams` (none: a county that does not
  // sort, and then no stream column or table is shown)
  const streamName = (streams, id) => {
    const s = (streams || []).find((x) => x.id === id);
    return s ? (state.lang === "zh" ? s.name_zh : s.name_en) : id;
  };
  const perCompartment = (parts) => parts.flatMap((p, i) => [i ? " · " : "", el("span", { class: "nowrap", text: p })]);
  const compartmentLoads = (streams, route, kg) => perCompartment((route.compartments || [])
    .map((c) => `${streamName(streams, c.stream)} ${fmt((kg || {})[c.stream] || 0, 0)}`));
  const compartmentFill = (streams, route) => (route.compartments || [])
    .map((c) => `${streamName(streams, c.stream)} ${fmt(c.collected_kg / 1000, 2)}/${fmt(c.capacity_kg / 1000, 1)}`);
  const showStreamColumns = (table, on) => { for (const th of table.querySelectorAll("th.stream-col")) th.hidden = !on; };
  function streamColours(streams) {
    // stream id → colour (STREAM_COLOURS, then OTHER_STREAM_COLOURS in turn)
    const out = {};
    let other = 0;
    for (const s of streams || []) {
      out[s.id] = STREAM_COLOURS[s.id] || STREAM_COLOURS[s.name_zh]
        || OTHER_STREAM_COLOURS[other++ % OTHER_STREAM_COLOURS.length];
    }
    return out;
  }
  const streamDot = (colour) => el("i", { class: "dot", style: `background:${colour}` });
  function colouredIcon(options, colour, stream) {
    // a divIcon whose element carries the stream and its colour (kept when Leaflet re-creates it)
    const icon = L.divIcon(options);
    const create = icon.createIcon.bind(icon);
    icon.createIcon = (old) => {
      const node = create(old);
      node.style.background = colour;
      node.dataset.stream = stream;
      return node;
    };
    return icon;
  }

  // ---- API -----------------------------------------------------------------------------------
  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    const key = sessionStorage.getItem(KEY);
    if (key) headers["X-API-Key"] = key;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    const answer = await fetch(path, { method: options.method || "GET", headers, body: options.body });
    if (options.raw) {
      if (!answer.ok) throw new Error(await detail(answer));
      return answer;
    }
    if (!answer.ok) {
      const error = new Error(await detail(answer));
      error.status = answer.status;
      throw error;
    }
    return answer.json();
  }
  async function detail(answer) {
    try {
      const body = await answer.json();
      if (typeof body.detail === "string") return `${answer.status}: ${body.detail}`;
      return `${answer.status}: ${JSON.stringify(body.detail)}`;
    } catch (_) {
      return `${answer.status} ${answer.statusText}`;
    }
  }
  function say(text, kind = "error") {
    const box = $("#message");
    box.textContent = text;
    box.className = `message ${kind}`;
    box.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 4000);
  }
  const guard = (fn) => async (...args) => {
    try { await fn(...args); } catch (error) { say(error.message); }
  };

  // ---- language ------------------------------------------------------------------------------
  function applyLang() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = t("app_title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    $("#lang").textContent = state.lang === "zh" ? "English" : "中文";
    if (state.me) showWho();
  }
  function toggleLang() {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG, state.lang);
    applyLang();
    if (state.view) refresh(state.view);
  }

  // ---- sign in -------------------------------------------------------------------------------
  async function signIn(key) {
    sessionStorage.setItem(KEY, key);
    try {
      state.me = await api("/me");
    } catch (error) {
      sessionStorage.removeItem(KEY);
      state.me = null;
      say(error.status === 401 ? `${t("bad_key")} (${error.message})` : error.message);
      return;
    }
    $("#view-signin").hidden = true;
    $("#signout").hidden = false;
    const allowed = VIEWS[state.me.role] || [];
    await loadCommon();
    for (const b of document.querySelectorAll("#tabs button")) b.hidden = !allowed.includes(b.dataset.view);
    $("#tabs").hidden = allowed.length < 2;
    showWho();
    await show(allowed[0]);
    document.body.dataset.role = state.me.role;
  }
  function showWho() {
    const who = $("#who");
    const towns = state.me.townships.map(townName).join("、");
    who.textContent = `${t("role_" + state.me.role)}${towns ? " · " + towns : ""}`;
    who.dataset.role = state.me.role;
    who.hidden = false;
  }
  function signOut() {
    sessionStorage.removeItem(KEY);
    location.reload();
  }
  async function loadCommon() {
    state.scenarios = await api("/scenarios");
    if (state.me.role !== "coordinator") state.plans = await api("/plans");
  }
  function townName(code) {
    for (const s of state.scenarios) for (const tw of s.townships) if (tw.code === code) return tw.name;
    return code;
  }
  function scenarioName(id) {
    const s = state.scenarios.find((x) => x.id === id);
    return s ? s.name : `#${id}`;
  }

  // ---- views ---------------------------------------------------------------------------------
  async function show(view) {
    state.view = view;
    for (const s of document.querySelectorAll("main > .view")) s.hidden = s.id !== `view-${view}`;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
    document.body.dataset.view = view;
    await refresh(view);
  }
  async function refresh(view) {
    try {
      if (view === "planner") await plannerView();
      else if (view === "dispatcher") await dispatcherView();
      else if (view === "coordinator") await coordinatorView();
      else if (view === "incidents") await incidentsView();
    } catch (error) {
      say(error.message);
    }
  }

  // ---- maps ----------------------------------------------------------------------------------
  function getMap(id) {
    if (state.maps[id]) {
      setTimeout(() => state.maps[id].map.invalidateSize(), 0);
      return state.maps[id];
    }
    const map = L.map(id, { zoomControl: true, attributionControl: true, preferCanvas: false });
    map.attributionControl.setPrefix(false);
    if (state.config.tile_url) {
      L.tileLayer(state.config.tile_url, { maxZoom: 19, attribution: state.config.tile_attribution }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    const entry = { map, roads: L.layerGroup().addTo(map), layer: L.layerGroup().addTo(map), scenario: null };
    state.maps[id] = entry;
    map.setView([30.13, 116.7], 12);
    if (window.ResizeObserver) {
      new ResizeObserver(() => map.invalidateSize({ animate: false })).observe(document.getElementById(id));
    }
    return entry;
  }
  // Every redraw of a map takes a ticket: a draw overtaken by a newer one stops at its next await,
  // so quick clicks never leave two trucks' markers on one map. When a draw completes, the map
  // element says what it shows (data-drawn="D1/small_3t#1 2026-03-02"), for scripts and browser tests.
  function startDraw(entry) {
    entry.ticket = (entry.ticket || 0) + 1;
    entry.map.getContainer().dataset.drawn = "";
    return entry.ticket;
  }
  function staleMap(id) {
    // called first thing when a choice changes, before any await: the map no longer shows it
    if (state.maps[id]) startDraw(state.maps[id]);
  }
  function finishDraw(entry, ticket, what) {
    if (ticket === entry.ticket) entry.map.getContainer().dataset.drawn = what;
  }
  function fit(entry, options) {
    // no animation: Leaflet drops a second fitBounds while a zoom animation runs
    entry.map.invalidateSize({ animate: false });
    if (entry.bounds && entry.bounds.isValid()) {
      entry.map.fitBounds(entry.bounds, Object.assign({ animate: false }, options || {}));
    }
  }
  async function network(scenarioId) {
    if (!state.networks[scenarioId]) {
      state.networks[scenarioId] = await api(`/scenarios/${scenarioId}/network.geojson`);
    }
    return state.networks[scenarioId];
  }
  async function drawNetwork(entry, scenarioId, onRoadClick) {
    if (entry.scenario === scenarioId) return;
    const data = await network(scenarioId);
    entry.roads.clearLayers();
    const roads = { type: "FeatureCollection", features: data.features.filter((f) => f.properties.feature === "road") };
    const layer = L.geoJSON(roads, {
      style: (f) => ({
        color: "#8d99a6",
        weight: (f.properties.width_m || 4) >= 6 ? 3 : 1.6,
        opacity: 0.85,
      }),
      onEachFeature: (f, l) => {
        if (onRoadClick) l.on("click", (e) => onRoadClick(e, f));
      },
    });
    entry.roads.addLayer(layer);
    for (const f of data.features) {
      const p = f.properties;
      if (p.feature === "road") continue;
      const [lon, lat] = f.geometry.coordinates;
      const cls = p.feature === "station" ? "fac station" : p.feature === "depot" ? "fac depot" : "fac disposal";
      const label = p.feature === "station" ? "站" : p.feature === "depot" ? "场" : "厂";
      const size = p.feature === "depot" ? [16, 16] : [22, 22];
      const marker = L.marker([lat, lon], {
        icon: L.divIcon({ className: cls, html: label, iconSize: size }), zIndexOffset: -100,
      });
      marker.bindTooltip(html(`${p.name} (${p.id})`));
      entry.roads.addLayer(marker);
    }
    const bounds = layer.getBounds();
    entry.bounds = bounds;
    fit(entry, { padding: [20, 20] });
    entry.scenario = scenarioId;
    // nothing synthetic may pass for real: say so on the map
    if (entry.badge) entry.badge.remove();
    entry.badge = null;
    if (data.features.some((f) => f.properties.synthetic)) {
      const scenario = state.scenarios.find((x) => x.id === scenarioId);
      const badge = L.control({ position: "topright" });
      badge.onAdd = () => el("div", { class: "synthetic-badge", title: scenario ? scenario.notes.join("\n") : "",
        text: t("synthetic_map") });
      entry.badge = badge.addTo(entry.map);
    }
  }

  // ---- planner -------------------------------------------------------------------------------
  async function plannerView(scenarioId) {
    state.scenarios = await api("/scenarios");
    state.plans = await api("/plans");
    const body = $("#scenario-table tbody");
    body.replaceChildren(...state.scenarios.map((s) => el("tr", { "data-id": s.id },
      el("td", { text: s.id }),
      el("td", {}, s.name, ...s.notes.map((n) => el("div", { class: "note", text: n }))),
      el("td", { text: t("kind_" + s.kind) }),
      el("td", { text: s.plan_date }), el("td", { class: "num", text: s.townships.length }),
      el("td", { class: "num", text: s.n_points }), el("td", { class: "num", text: s.n_vehicles }),
      el("td", { class: "num", text: fmt(s.waste_t_per_day, 1) }))));
    const select = $("#plan-scenario");
    const chosen = scenarioId ? String(scenarioId) : select.value;
    select.replaceChildren(...state.scenarios.map((s) => el("option", { value: s.id, text: `#${s.id} ${s.name}` })));
    if (chosen) select.value = chosen;
    const parent = $("#w-parent");
    const chosenParent = parent.value;
    parent.replaceChildren(...state.scenarios.map((s) => el("option", { value: s.id, text: `#${s.id} ${s.name}` })));
    if (chosenParent) parent.value = chosenParent;
    syncPlanDate();
    renderPlans();
    if (state.compare) renderCompare();  // in the language shown
    if (!state.jobId) {
      const active = [...await api("/jobs?state=running"), ...await api("/jobs?state=queued")];
      if (active.length) watchJob(Math.max(...active.map((j) => j.id)));
    }
  }
  function syncPlanDate() {
    const s = state.scenarios.find((x) => String(x.id) === $("#plan-scenario").value);
    if (s) $("#plan-date").value = s.plan_date;
  }
  function renderPlans() {
    const body = $("#plan-table tbody");
    const checked = new Set([...document.querySelectorAll("#plan-table input:checked")].map((i) => i.value));
    body.replaceChildren(...state.plans.map((p) => {
      const k = p.county_kpis || {};
      return el("tr", { "data-id": p.id },
        el("td", {}, el("input", { type: "checkbox", value: p.id, disabled: p.status !== "done",
          checked: checked.has(String(p.id)) })),
        el("td", { text: p.version ? `${p.id} · ${t("version")} ${p.version} ← #${p.parent_plan_id}` : p.id,
          title: p.version ? `${t("version")} ${p.version} ${t("of_plan")} #${p.root_plan_id}, ${t("based_on")} ${t("version")} ${p.based_on_version} (#${p.parent_plan_id})` : "" }),
        el("td", { text: scenarioName(p.scenario_id) }),
        el("td", { text: p.dates.length > 2 ? `${p.dates[0]} … ${p.dates[p.dates.length - 1]} (${p.dates.length} ${t("days_n")})`
          : p.dates.join(", "), title: p.dates.join(", ") }), el("td", { text: p.engine }),
        el("td", {}, el("span", { class: `badge s-${p.status}`, text: t("state_" + p.status) })),
        el("td", { class: "num", text: fmt(k.total_cost_cny, 0) }),
        el("td", { class: "num", text: fmt(k.distance_km, 1) }),
        el("td", {}, ...(p.status === "done" ? [el("button", { type: "button", class: "small", "data-open": p.id,
          text: t("open_routes"), onclick: guard(() => openRoutes(p.id)) }), fileMenu(p)] : [])));
    }));
  }
  function fileMenu(plan) {
    // the plan's output files (GeoPackage for QGIS, workbooks, CSV, maps); per-truck sheets are
    // downloaded from the dispatcher view
    const files = plan.files.filter((f) => !f.startsWith("route_sheets/"));
    return el("select", { class: "small files", "data-files": plan.id, title: t("download_files"),
      onchange: guard(async (event) => {
        const name = event.target.value;
        event.target.value = "";
        if (name) await downloadFile(plan, name);
      }) },
    el("option", { value: "", text: t("download_files") }), ...files.map((f) => el("option", { value: f, text: f })));
  }
  async function downloadFile(plan, name) {
    // saved under the plan's own scenario (or what-if) name, so files of two what-ifs differ
    const answer = await api(`/plans/${plan.id}/files/${name}`, { raw: true });
    const label = scenarioName(plan.scenario_id).replace(/[\\/:*?"<>|\s]+/g, "_");
    saveBlob(await answer.blob(), `${label}_plan${plan.id}_${name.replace(/\//g, "_")}`);
  }
  function saveBlob(blob, filename) {
    const link = el("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 5000);
  }
  async function openRoutes(planId) {
    state.openPlan = { id: String(planId), keep: false };  // dispatcherView selects it
    await show("dispatcher");
  }
  async function startPlan(event) {
    event.preventDefault();
    const sid = $("#plan-scenario").value;
    const body = { engine: $("#plan-engine").value, time_limit_s: Number($("#plan-limit").value) };
    const span = document.querySelector("input[name=plan-span]:checked").value;
    if ($("#plan-date").value) body[span === "week" ? "week" : "date"] = $("#plan-date").value;
    const job = await api(`/scenarios/${sid}/plans`, { method: "POST", json: body });
    watchJob(job.job_id);
  }
  function watchJob(jobId) {
    clearTimeout(state.jobTimer);
    state.jobId = jobId;
    $("#job").hidden = false;
    $("#job-cancel").hidden = false;
    $("#job-id").textContent = `#${jobId}`;
    const tick = async () => {
      let job;
      try { job = await api(`/jobs/${jobId}`); } catch (error) { say(error.message); return; }
      const badge = $("#job-state");
      badge.textContent = t("state_" + job.state);
      badge.className = `badge s-${job.state}`;
      badge.dataset.state = job.state;
      const share = job.state === "done" ? 1 : job.total ? job.done / job.total : 0;
      $("#job-bar").style.width = `${Math.round(share * 100)}%`;
      const running = !["done", "failed", "cancelled"].includes(job.state);
      $("#job-stage").textContent = [tOr("stage_" + job.stage, job.stage), job.total ? `${job.done}/${job.total}` : "",
        running ? job.detail : "", job.error || ""].filter(Boolean).join(" · ");
      if (["done", "failed", "cancelled"].includes(job.state)) {
        $("#job-cancel").hidden = true;
        state.jobId = null;
        state.plans = await api("/plans");
        renderPlans();
        return;
      }
      state.jobTimer = setTimeout(tick, 700);
    };
    tick();
  }
  async function cancelJob() {
    if (state.jobId) await api(`/jobs/${state.jobId}/cancel`, { method: "POST" });
  }
  async function deriveWhatIf(event) {
    event.preventDefault();
    let overrides = {};
    const text = $("#w-overrides").value.trim();
    if (text) {
      try { overrides = JSON.parse(text); } catch (_) { say(t("bad_json")); return; }
    }
    const body = { name: $("#w-name").value.trim(), overrides,
      closed_road_ids: $("#w-roads").value.split(/[,，\s]+/).filter(Boolean) };
    if ($("#w-date").value) body.date = $("#w-date").value;
    const made = await api(`/scenarios/${$("#w-parent").value}/whatifs`, { method: "POST", json: body });
    say(`${t("whatif_made")}: #${made.id} ${made.name}`, "ok");
    $("#whatif-form").reset();
    await plannerView(made.id);
  }
  async function uploadScenario(event) {
    event.preventDefault();
    const file = $("#upload-file").files[0];
    if (!file) { say(t("upload_choose")); return; }
    const form = new FormData();
    form.append("file", file);
    const s = await api("/scenarios", { method: "POST", body: form });
    say(`${t("uploaded")}: #${s.id} ${s.name}`, "ok");
    $("#upload-form").reset();
    await plannerView(s.id);  // the upload is the scenario to plan next
  }
  async function comparePlans() {
    const ids = [...document.querySelectorAll("#plan-table input:checked")].map((i) => Number(i.value))
      .sort((a, b) => a - b);  // the oldest plan is the base of the deltas
    if (!ids.length) return;
    state.compare = await api(`/compare?plans=${ids.join(",")}`);
    renderCompare();
  }
  function renderCompare() {
    const data = state.compare;
    if (!data) return;
    $("#compare-card").hidden = false;
    const head = el("tr", {}, el("th", { text: t("kpi") }),
      ...data.rows.map((r) => el("th", { class: "num", text: `#${r.plan_id} ${r.scenario}` })));
    $("#compare-table thead").replaceChildren(head);
    $("#compare-table tbody").replaceChildren(...KPIS.map((k) => el("tr", { "data-kpi": k },
      el("td", { text: t("kpi_" + k) }),
      ...data.rows.map((r, i) => {
        const pct = r.delta_pct[k];
        const better = HIGHER_IS_BETTER.has(k) ? pct > 0 : pct < 0;
        const delta = i > 0 && pct !== null && pct !== undefined && pct !== 0
          ? el("span", { class: better ? "down" : "up", text: ` ${pct > 0 ? "+" : ""}${fmt(pct, 1)}%` }) : null;
        const digits = /_(t|km|h)$/.test(k) ? 1 : 0;
        return el("td", { class: "num" }, fmt(r.kpis[k], digits), delta);
      }))),
    // a sorted plan's county row adds its cost per tonne and diverted share (no deltas)
    ...SORTED_KPIS.filter((k) => data.rows.some((r) => r.kpis[k] !== undefined && r.kpis[k] !== null))
      .map((k) => el("tr", { "data-kpi": k }, el("td", { text: t("kpi_" + k) }),
        ...data.rows.map((r) => el("td", { class: "num", text: sortedKpi(k, r.kpis[k]) })))));
    renderStreamKpis(data);
    const select = $("#chart-kpi");
    const chosen = select.value || "total_cost_cny";
    select.replaceChildren(...KPIS.map((k) => el("option", { value: k, text: t("kpi_" + k) })));
    select.value = chosen;
    drawChart();
  }
  const share = (part, whole) => (whole ? `${fmt(100 * part / whole, 1)}%` : "–");
  const sortedKpi = (k, x) => (x === null || x === undefined ? "–"
    : k === "diverted_share" ? `${fmt(100 * x, 1)}%` : fmt(x, 0));
  function renderStreamKpis(data) {
    // the KPI rows by stream of each sorted plan compared: tonnes, its shares of the county's km
    // and cost, cost per tonne and the share diverted from waste-to-energy and landfill
    const sorted = data.rows.filter((r) => (r.stream_kpis || []).length);
    $("#compare-streams").hidden = !sorted.length;
    if (!sorted.length) return;
    const heads = ["plan", "stream", "kpi_collected_t", "share_km", "share_cost", "kpi_cost_cny_per_t", "kpi_diverted_share"];
    $("#compare-streams-table thead").replaceChildren(el("tr", {},
      ...heads.map((h, i) => el("th", { class: i > 1 ? "num" : null, text: t(h) }))));
    $("#compare-streams-table tbody").replaceChildren(...sorted.flatMap((r) => {
      const colours = streamColours(r.streams);
      const county = r.kpis;
      const row = (attrs, label, k) => el("tr", Object.assign({ "data-plan": r.plan_id }, attrs),
        el("td", { text: `#${r.plan_id}` }), label,
        el("td", { class: "num", text: fmt(k.collected_t, 2) }),
        el("td", { class: "num", text: share(k.distance_km, county.distance_km) }),
        el("td", { class: "num", text: share(k.total_cost_cny, county.total_cost_cny) }),
        el("td", { class: "num", text: sortedKpi("cost_cny_per_t", k.cost_cny_per_t) }),
        el("td", { class: "num", text: sortedKpi("diverted_share", k.diverted_share) }));
      return [
        ...r.stream_kpis.map((k) => row({ "data-stream": k.id },
          el("td", {}, streamDot(colours[k.id]), streamName(r.streams, k.id)), k)),
        row({ class: "total" }, el("td", { text: t("county_total") }), county),
      ];
    }));
  }
  function niceMax(x) {
    const step = 10 ** Math.floor(Math.log10(x / 4));
    for (const m of [1, 2, 2.5, 5, 10]) if (step * m * 4 >= x) return step * m * 4;
    return step * 40;
  }
  function drawChart() {
    const data = state.compare;
    const k = $("#chart-kpi").value;
    const values = data.rows.map((r) => Number(r.kpis[k]) || 0);
    const max = niceMax(Math.max(...values, 1e-9));
    const W = 460, H = 240, left = 48, bottom = 40, top = 24;
    const bw = Math.min(70, (W - left - 10) / values.length * 0.6);
    const step = (W - left - 10) / values.length;
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("kpi_" + k));
    const add = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [a, v] of Object.entries(attrs)) n.setAttribute(a, v);
      if (text !== undefined) n.textContent = text;
      svg.append(n);
      return n;
    };
    const y0 = H - bottom;
    add("line", { x1: left, y1: y0, x2: W - 5, y2: y0, stroke: "#5b6670" });
    for (let g = 0; g <= 4; g++) {
      const y = y0 - (y0 - top) * g / 4;
      add("line", { x1: left, y1: y, x2: W - 5, y2: y, stroke: "#e3e7eb" });
      add("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, fmt(max * g / 4, max < 8 ? 1 : 0));
    }
    values.forEach((v, i) => {
      const h = (y0 - top) * v / max;
      const x = left + step * i + (step - bw) / 2;
      add("rect", { x, y: y0 - h, width: bw, height: h, fill: i === 0 ? "#5b6c80" : "#2f7fbf", rx: 2,
        "data-plan": data.rows[i].plan_id });
      add("text", { x: x + bw / 2, y: y0 - h - 5, "text-anchor": "middle", class: "val" }, fmt(v, v < 100 ? 1 : 0));
      add("text", { x: x + bw / 2, y: y0 + 16, "text-anchor": "middle", class: "axis" }, `#${data.rows[i].plan_id}`);
      add("text", { x: x + bw / 2, y: y0 + 30, "text-anchor": "middle", class: "axis small" },
        data.rows[i].scenario.slice(0, 14));
    });
    $("#chart").replaceChildren(svg);
  }

  // ---- dispatcher ----------------------------------------------------------------------------
  async function dispatcherView() {
    state.plans = await api("/plans");
    const done = state.plans.filter((p) => p.status === "done");
    const select = $("#d-plan");
    const wanted = state.openPlan;  // { id, keep date/station/truck } from openRoutes or replan
    state.openPlan = null;
    const chosen = wanted ? wanted.id : select.value;
    select.replaceChildren(...done.map((p) => el("option", { value: p.id,
      text: `#${p.id} ${scenarioName(p.scenario_id)} · ${p.dates[0]}${p.dates.length > 1 ? "…" : ""}${p.version ? ` · ${t("version")} ${p.version}` : ""}` })));
    if (!done.length) {
      say(t("no_plan"), "info");
      return;
    }
    if (chosen && done.some((p) => String(p.id) === chosen)) select.value = chosen;
    await onPlan(wanted ? wanted.keep : true);
  }
  function currentPlan() {
    return state.plans.find((p) => String(p.id) === $("#d-plan").value);
  }
  async function onPlan(keep) {
    staleMap("d-map");
    const plan = currentPlan();
    if (!plan) return;
    const dates = $("#d-date");
    const oldDate = dates.value;
    dates.replaceChildren(...plan.dates.map((d) => el("option", { value: d, text: d })));
    if (keep && plan.dates.includes(oldDate)) dates.value = oldDate;
    const scenario = state.scenarios.find((s) => s.id === plan.scenario_id);
    const stations = $("#d-station");
    const oldStation = stations.value;
    stations.replaceChildren(el("option", { value: "", text: t("all") }),
      ...(scenario ? scenario.stations : []).map((s) => el("option", { value: s.station_id, text: `${s.name} (${s.station_id})` })));
    if (keep) stations.value = oldStation;
    const open = await api(`/incidents?scenario_id=${plan.scenario_id}&status=open`);
    state.dispatch.open = open;
    state.dispatch.incidents = state.dispatch.incidents.filter((id) => open.some((i) => i.id === id));
    renderEvents();
    await loadDiff(plan);
    await onDay(keep);
  }
  async function onDay(keep) {
    staleMap("d-map");
    const plan = currentPlan();
    const q = new URLSearchParams({ date: $("#d-date").value });
    if ($("#d-station").value) q.set("station", $("#d-station").value);
    const answer = await api(`/plans/${plan.id}/routes?${q}`);
    state.dispatch.routes = answer.routes;
    state.dispatch.streams = answer.streams || [];
    state.dispatch.colours = streamColours(state.dispatch.streams);
    state.dispatch.unserved = answer.unserved;
    renderStreamControls();
    const trucks = $("#d-truck");
    const old = trucks.value;
    trucks.replaceChildren(...answer.routes.map((r) => el("option", { value: r.vehicle_id,
      text: `${r.vehicle_id} · ${r.vehicle_type_name} · ${r.n_stops}${t("stops_n")}` })),
    ...(answer.routes.length ? [el("option", { value: "*", text: `${t("all_trucks")} (${answer.routes.length})` })] : []));
    const known = answer.routes.some((r) => r.vehicle_id === old) || (old === "*" && answer.routes.length > 0);
    if (keep && known) trucks.value = old;
    renderTrucks();
    await onTruck();
  }
  function renderStreamControls() {
    // a sorted plan: the stream filter and the legend of the stream colours (none otherwise)
    const streams = state.dispatch.streams;
    const sorted = streams.length > 0;
    $("#d-stream-box").hidden = !sorted;
    $("#d-legend-stop").hidden = sorted;
    const legend = $("#d-stream-legend");
    legend.hidden = !sorted;
    const select = $("#d-stream");
    const old = select.value;
    select.replaceChildren(el("option", { value: "", text: t("all_streams") }),
      ...streams.map((s) => el("option", { value: s.id, text: streamName(streams, s.id) })));
    select.value = streams.some((s) => s.id === old) ? old : "";
    legend.replaceChildren(...streams.map((s) => el("span", { "data-stream": s.id },
      streamDot(state.dispatch.colours[s.id]), el("span", { text: streamName(streams, s.id) }))));
  }
  function streamShown() {
    // the stream the map shows ("": every stream)
    return state.dispatch.streams.length ? $("#d-stream").value : "";
  }
  const collects = (route, stream) => !stream || route.visits.some((v) => v.kind === "stop" && v.stream === stream);
  function renderTrucks() {
    const names = stationNames();
    const streams = state.dispatch.streams;
    showStreamColumns($("#d-trucks"), streams.length > 0);
    $("#d-trucks tbody").replaceChildren(...state.dispatch.routes.map((r) => el("tr", {
      "data-vehicle": r.vehicle_id, class: r.vehicle_id === $("#d-truck").value ? "selected" : "",
      onclick: guard(async () => { $("#d-truck").value = r.vehicle_id; await onTruck(); }),
    },
    el("td", { text: r.vehicle_id }), el("td", { text: r.vehicle_type_name }),
    el("td", { text: names[r.station_id] || r.station_id }), el("td", { text: hhmm(r.depot_departure_s) }),
    el("td", { text: hhmm(r.depot_return_s) }), el("td", { class: "num", text: r.n_stops }),
    el("td", { class: "num", text: r.n_unloads }), el("td", { class: "num", text: fmt(r.collected_kg / 1000, 2) }),
    el("td", { class: "num", text: fmt(r.distance_m / 1000, 1) }),
    streams.length ? el("td", { class: "stream-col" }, ...perCompartment(compartmentFill(streams, r))) : null,
    el("td", {},
      el("button", { type: "button", class: "act-down", text: t("broke_down"),
        onclick: (e) => { e.stopPropagation(); truckDown(r); } }),
      el("button", { type: "button", class: "act-late", text: t("late_here"),
        onclick: (e) => { e.stopPropagation(); pickPosition(r); } })))));
    for (const row of document.querySelectorAll("#d-trucks tbody tr")) {
      row.classList.toggle("changed", changedTrucks().has(row.dataset.vehicle));
    }
    const un = state.dispatch.unserved || [];
    $("#d-unserved").replaceChildren(...(un.length ? [el("h3", { text: `${t("unserved_title")} (${un.length})` }),
      el("ul", { class: "unserved" }, ...un.map((u) => el("li", { text: `${u.name} (${u.point_id}) — ${u.reason}` })))] : []));
  }
  function stationNames() {
    const plan = currentPlan();
    const scenario = plan && state.scenarios.find((s) => s.id === plan.scenario_id);
    const names = {};
    if (scenario) for (const s of scenario.stations) names[s.station_id] = s.name;
    return names;
  }
  const hhmm = (s) => (s === null || s === undefined ? "–" :
    `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}`);
  async function onTruck() {
    const plan = currentPlan();
    const route = state.dispatch.routes.find((r) => r.vehicle_id === $("#d-truck").value) || null;
    state.dispatch.route = route;
    for (const row of document.querySelectorAll("#d-trucks tbody tr")) {
      row.classList.toggle("selected", route && row.dataset.vehicle === route.vehicle_id);
    }
    const entry = getMap("d-map");
    const ticket = startDraw(entry);
    await drawNetwork(entry, plan.scenario_id, roadClicked);
    if (ticket !== entry.ticket) return;
    if (!entry.pickBound) {
      entry.map.on("click", mapClicked);
      entry.pickBound = true;
    }
    entry.layer.clearLayers();
    const summary = $("#d-summary");
    const stops = $("#d-stops tbody");
    $("#d-xlsx").disabled = !route;
    $("#d-print").disabled = !route;
    $("#d-stops").classList.remove("overview");
    if ($("#d-truck").value === "*") {
      await drawAllTrucks(entry, plan, ticket);
      return;
    }
    if (!route) {
      summary.replaceChildren(el("div", { class: "card muted", text: t("no_routes") }));
      stops.replaceChildren();
      finishDraw(entry, ticket, "none");
      return;
    }
    const names = stationNames();
    const streams = state.dispatch.streams;
    const sorted = streams.length > 0;
    showStreamColumns($("#d-stops"), sorted);
    const card = (label, value) => el("div", { class: "stat" }, el("div", { class: "label", text: label }),
      el("div", { class: "value", text: value }));
    summary.replaceChildren(
      card(t("truck"), `${route.vehicle_id}`), card(t("vehicle_type"), route.vehicle_type_name),
      card(t("date"), route.date), card(t("station"), names[route.station_id] || route.station_id),
      card(`${t("depart")} – ${t("return")}`, `${hhmm(route.depot_departure_s)} – ${hhmm(route.depot_return_s)}`),
      card(t("n_stops"), `${route.n_stops} / ${route.n_unloads} ${t("unload")}`),
      card(t("collected_t"), fmt(route.collected_kg / 1000, 2)), card(t("distance_km"), fmt(route.distance_m / 1000, 1)),
      sorted && route.compartments ? card(t("compartments"), compartmentFill(streams, route).join(" · ")) : null);
    const moved = changedStops(route.vehicle_id);
    stops.replaceChildren(...route.visits.map((v) => el("tr", {
      class: `${v.kind}${v.kind === "stop" && moved.has(v.id) ? " changed" : ""}`, "data-order": v.order, "data-id": v.id, "data-kind": v.kind,
      onmouseenter: () => highlight(v.order),
    },
    el("td", { class: "num", text: v.order }),
    el("td", {}, el("span", { class: `tag ${v.kind}`, text: t(v.kind) })),
    el("td", {}, v.name, el("span", { class: "pid", text: v.id })),
    sorted ? el("td", { class: "stream-col" }, ...(v.stream ? [el("span", { class: "nowrap" },
      streamDot(state.dispatch.colours[v.stream]), streamName(streams, v.stream))] : [])) : null,
    el("td", { text: v.arrival }),
    el("td", { class: "num", text: v.kind === "unload" ? `−${fmt(v.load_kg, 0)}` : fmt(v.load_kg, 0) }),
    el("td", { class: "num", text: fmt(v.load_after_kg, 0) }),
    sorted ? el("td", { class: "stream-col" }, ...compartmentLoads(streams, route, v.load_after_by_stream_kg)) : null,
    el("td", { class: "print-only" }))));
    // route line along the roads (stored GeoJSON), then the visits on top
    const q = new URLSearchParams({ date: route.date, vehicle: route.vehicle_id });
    const geo = await api(`/plans/${plan.id}/routes.geojson?${q}`);
    if (ticket !== entry.ticket) return;
    const lines = geo.features.filter((f) => f.properties.feature === "route");
    const line = L.geoJSON({ type: "FeatureCollection", features: lines },
      { style: { color: "#1f6fd1", weight: 5, opacity: 0.8 }, interactive: false });  // roads stay clickable
    // a sorted plan: stops in their stream's colour; with a stream chosen, only its stops (and the
    // route only if it collects that stream)
    const only = streamShown();
    const shown = collects(route, only);
    if (shown) entry.layer.addLayer(line);
    entry.markers = {};
    const beside = new Map();  // a point's streams are stops at one place: side by side
    for (const v of route.visits.filter((x) => x.kind === "stop" && (!only || x.stream === only))) {
      const options = { className: `vmark stop${moved.has(v.id) ? " changed" : ""}`, html: `${v.order}`, iconSize: [24, 24] };
      const place = `${v.lat},${v.lon}`;
      const k = beside.get(place) || 0;
      beside.set(place, k + 1);
      if (sorted && k) options.iconAnchor = [12 - 22 * k, 12];
      const icon = sorted ? colouredIcon(options, state.dispatch.colours[v.stream], v.stream) : L.divIcon(options);
      const m = L.marker([v.lat, v.lon], { icon, zIndexOffset: 1000 });
      m.bindTooltip(html(`${v.order}. ${v.name}${v.stream ? ` · ${streamName(streams, v.stream)}` : ""} · ${v.arrival} · ${fmt(v.load_kg, 0)} kg`));
      entry.layer.addLayer(m);
      entry.markers[v.order] = m;
    }
    // one marker per unload site, listing every unload visit there (卸 7·14·23)
    const sites = new Map();
    for (const v of route.visits.filter((x) => x.kind === "unload" && shown)) {
      if (!sites.has(v.id)) sites.set(v.id, []);
      sites.get(v.id).push(v);
    }
    for (const [id, vs] of sites) {
      const orders = vs.length > 3 ? `×${vs.length}` : vs.map((v) => v.order).join("·");
      const m = L.marker([vs[0].lat, vs[0].lon], { icon: L.divIcon({ className: "vmark unload",
        html: `${t("unload_mark")}${orders}`, iconSize: [Math.max(30, 14 + 8 * orders.length), 20] }), zIndexOffset: 500 });
      m.bindTooltip(vs.map((v) => html(`${v.order}. ${v.name} (${id}) · ${v.arrival} · −${fmt(v.load_kg, 0)} kg`)).join("<br>"));
      entry.layer.addLayer(m);
      for (const v of vs) entry.markers[v.order] = m;
    }
    const bounds = line.getBounds();
    for (const v of route.visits) bounds.extend([v.lat, v.lon]);
    entry.bounds = bounds;
    fit(entry, { padding: [30, 30] });
    $(".print-head h1").textContent = `${t("route_sheet")} · ${route.vehicle_id} · ${route.date}`;
    $("#print-meta").textContent = `${t("plan")} #${plan.id} · ${scenarioName(plan.scenario_id)} · ${plan.engine} · ${t("printed")} ${new Date().toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false })}`;
    entry.map.getContainer().dataset.stream = only;
    finishDraw(entry, ticket, `${route.vehicle_id} ${route.date}`);
  }
  const PALETTE = ["#1f6fd1", "#d64541", "#2e9d55", "#8e44ad", "#e67e22", "#16a085", "#c0392b",
    "#2c3e50", "#b7950b", "#7f8c8d"];
  async function drawAllTrucks(entry, plan, ticket) {
    // the day's overview: every truck's route in its own colour
    const routes = state.dispatch.routes;
    const colour = Object.fromEntries(routes.map((r, i) => [r.vehicle_id, PALETTE[i % PALETTE.length]]));
    const q = new URLSearchParams({ date: $("#d-date").value });
    if ($("#d-station").value) q.set("station", $("#d-station").value);
    const geo = await api(`/plans/${plan.id}/routes.geojson?${q}`);
    if (ticket !== entry.ticket) return;
    // a sorted plan: stops filled in their stream's colour; with a stream chosen, only its stops
    // and the routes collecting it
    const streams = state.dispatch.streams;
    const only = streamShown();
    const shown = new Set(routes.filter((r) => collects(r, only)).map((r) => r.vehicle_id));
    const lines = L.geoJSON({ type: "FeatureCollection", features: geo.features.filter((f) => f.properties.feature === "route"
      && shown.has(f.properties.vehicle_id)) },
    { style: (f) => ({ color: colour[f.properties.vehicle_id] || "#555", weight: 4, opacity: 0.8 }),
      onEachFeature: (f, l) => l.bindTooltip(html(f.properties.vehicle_id)) });
    entry.layer.addLayer(lines);
    const bounds = lines.getBounds();
    // a point's streams are stops at one place: drawn as rings, the first the widest
    const drawn = (v) => v.kind === "stop" && (!only || v.stream === only);
    const left = new Map();
    for (const r of routes) for (const v of r.visits.filter(drawn)) left.set(`${v.lat},${v.lon}`, (left.get(`${v.lat},${v.lon}`) || 0) + 1);
    for (const r of routes) {
      for (const v of r.visits.filter((x) => x.kind === "stop")) {
        bounds.extend([v.lat, v.lon]);
        if (!drawn(v)) continue;
        const place = `${v.lat},${v.lon}`;
        left.set(place, left.get(place) - 1);
        const radius = streams.length ? 5 + 4 * left.get(place) : 5;
        const m = L.circleMarker([v.lat, v.lon], { radius, color: "#fff", weight: 1.5,
          fillColor: streams.length ? state.dispatch.colours[v.stream] : colour[r.vehicle_id], fillOpacity: 1, className: "allstop" })
          .bindTooltip(html(`${r.vehicle_id} · ${v.order}. ${v.name}${v.stream ? ` · ${streamName(streams, v.stream)}` : ""} · ${v.arrival}`));
        entry.layer.addLayer(m);
        if (v.stream) m.getElement().setAttribute("data-stream", v.stream);
      }
    }
    entry.bounds = bounds;
    fit(entry, { padding: [30, 30] });
    entry.markers = {};
    const total = (k) => routes.reduce((a, r) => a + r[k], 0);
    const card = (label, value) => el("div", { class: "stat" }, el("div", { class: "label", text: label }),
      el("div", { class: "value", text: value }));
    $("#d-summary").replaceChildren(card(t("date"), $("#d-date").value),
      card(t("trucks_of_day"), routes.length), card(t("n_stops"), total("n_stops")),
      card(t("n_unloads"), total("n_unloads")), card(t("collected_t"), fmt(total("collected_kg") / 1000, 2)),
      card(t("distance_km"), fmt(total("distance_m") / 1000, 1)));
    $("#d-stops").classList.add("overview");
    $("#d-stops tbody").replaceChildren(...routes.map((r) => el("tr", { class: "legend-row", "data-vehicle": r.vehicle_id,
      onclick: guard(async () => { $("#d-truck").value = r.vehicle_id; await onTruck(); }) },
      el("td", {}, el("i", { class: "dot", style: `background:${colour[r.vehicle_id]}` })),
      el("td", { colspan: 5, text: `${r.vehicle_id} · ${r.vehicle_type_name} · ${r.n_stops}${t("stops_n")}` }))));
    entry.map.getContainer().dataset.stream = only;
    finishDraw(entry, ticket, `* ${$("#d-date").value}`);
  }
  function highlight(order) {
    const entry = state.maps["d-map"];
    if (!entry || !entry.markers) return;
    for (const [o, m] of Object.entries(entry.markers)) {
      const node = m.getElement();
      if (node) node.classList.toggle("hot", Number(o) === order);
    }
  }
  // ---- re-planning the day (issue 16): events, the re-plan job, what changed ----------------------
  function atTime() {
    return $("#d-at").value || "10:00";
  }
  function loadAt(route, at) {
    // the planned load on board at HH:MM: after the last visit started by then
    const [h, m] = at.split(":").map(Number);
    const done = route.visits.filter((v) => v.start_s <= h * 3600 + m * 60);
    return done.length ? done[done.length - 1].load_after_kg : 0;
  }
  function addEvent(event) {
    state.dispatch.events = state.dispatch.events.filter((e) =>
      !(e.vehicle && e.vehicle === event.vehicle && e.type === event.type));
    state.dispatch.events.push(event);
    renderEvents();
  }
  function truckDown(route) {
    addEvent({ type: "truck_down", vehicle: route.vehicle_id, time: atTime() });
  }
  function setPick(pick) {
    state.dispatch.pick = pick;
    $("#d-road-mode").classList.toggle("active", Boolean(pick && pick.kind === "road"));
    const hint = $("#d-pick-hint");
    hint.hidden = !pick;
    hint.textContent = pick ? t(pick.kind === "road" ? "pick_road" : "pick_position") : "";
  }
  function pickPosition(route) {
    $("#d-load").value = String(loadAt(route, atTime()));
    setPick({ kind: "position", vehicle: route.vehicle_id });
  }
  function mapClicked(e) {
    const pick = state.dispatch.pick;
    if (!pick || pick.kind !== "position") return;
    const load = Math.max(0, Math.round(Number($("#d-load").value) || 0));
    addEvent({ type: "position", vehicle: pick.vehicle, time: atTime(),
      lon: Number(e.latlng.lng.toFixed(6)), lat: Number(e.latlng.lat.toFixed(6)), load_kg: load });
    setPick(null);
  }
  function roadClicked(e, feature) {
    const pick = state.dispatch.pick;
    const road = feature.properties.road_id;
    if (!pick || pick.kind !== "road" || !road) return;
    const closed = state.dispatch.events.find((x) => x.type === "road_closed" && x.from === atTime());
    if (closed) {
      if (!closed.roads.includes(road)) closed.roads.push(road);
      renderEvents();
    } else {
      addEvent({ type: "road_closed", roads: [road], from: atTime() });
    }
  }
  function eventText(e) {
    const what = t(`ev_${e.type}`);
    if (e.type === "road_closed") return `${what} ${e.roads.join(", ")} · ${e.from}`;
    if (e.type === "position") return `${e.vehicle} ${what} ${e.lon}, ${e.lat} · ${e.time} · ${e.load_kg} kg`;
    return `${e.vehicle} ${what} · ${e.time}`;
  }
  function renderEvents() {
    const list = $("#d-events");
    const items = state.dispatch.events.map((e, i) => el("li", { "data-type": e.type, "data-vehicle": e.vehicle || "" },
      eventText(e), el("button", { type: "button", text: t("remove"),
        onclick: () => { state.dispatch.events.splice(i, 1); renderEvents(); } })));
    for (const id of state.dispatch.incidents) {
      const i = state.dispatch.open.find((x) => x.id === id);
      items.push(el("li", { "data-incident": id }, `#${id} ${t(i ? i.kind : "")} ${i && i.point_id ? i.point_id : ""}`,
        el("button", { type: "button", text: t("remove"), onclick: () => {
          state.dispatch.incidents = state.dispatch.incidents.filter((x) => x !== id);
          renderEvents();
        } })));
    }
    list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: t("no_events") })]));
    // coordinators' open reports: one click makes one an event of this re-plan
    const open = state.dispatch.open.filter((i) => !state.dispatch.incidents.includes(i.id));
    $("#d-incidents").replaceChildren(...(open.length ? [el("h3", { text: t("incident_events") }),
      el("ul", { class: "events" }, ...open.map((i) => el("li", { "data-incident": i.id },
        `#${i.id} ${t(i.kind)} ${i.point_id || i.road_ids.join(", ")} ${i.note}`,
        // the API says which event a report becomes, or why it becomes none (never dropped)
        i.replan_event
          ? el("button", { type: "button", class: "as-event", text: `${t("as_event")}: ${t("ev_" + i.replan_event)}`,
            onclick: () => { state.dispatch.incidents.push(i.id); renderEvents(); } })
          : el("span", { class: "no-event muted", text: `${t("no_event")}: ${i.no_event_why}` }))))] : []));
  }
  async function loadDiff(plan) {
    state.dispatch.diff = null;
    if (plan.version) {
      state.dispatch.diff = await api(`/plans/${plan.root_plan_id}/versions/${plan.version}/diff`);
    }
    const diff = state.dispatch.diff;
    $("#d-print-changed").disabled = !diff || !diff.changed_trucks.length;
    $("#d-diff").replaceChildren(...(diff ? [el("p", { id: "d-diff-summary" },
      `${t("version")} ${diff.version} · ${diff.at} · ${t("moved_stops")} ${diff.stops_moved} · `
      + `${t("share_unchanged")} ${fmt(diff.share_unchanged * 100, 0)}% · `
      + `${t("changed_trucks")}: ${diff.changed_trucks.join(", ") || t("none")}`)] : []));
  }
  function changedTrucks() {
    return new Set(state.dispatch.diff ? state.dispatch.diff.changed_trucks : []);
  }
  function changedStops(vehicle) {
    const diff = state.dispatch.diff;
    return new Set(diff ? diff.changes.filter((c) => c.new_vehicle === vehicle).map((c) => c.point_id) : []);
  }
  async function replanDay() {
    const plan = currentPlan();
    if (!plan) return;
    const body = { at: atTime(), events: state.dispatch.events, incident_ids: state.dispatch.incidents,
      engine: plan.engine, time_limit_s: Math.min(plan.time_limit_s, 10), seed: plan.seed };
    // a plan of several days (a week): the day shown is the one re-planned, the others stay
    if ((plan.dates || []).length > 1) body.day = $("#d-date").value;
    const job = await api(`/plans/${plan.id}/replan`, { method: "POST", json: body });
    $("#d-replan-day").disabled = true;
    const status = $("#d-replan-day-state");
    const tick = async () => {
      const j = await api(`/jobs/${job.job_id}`);
      status.textContent = `${t("replanning")} ${t("state_" + j.state)}`;
      if (!["done", "failed", "cancelled"].includes(j.state)) { setTimeout(guard(tick), 1000); return; }
      $("#d-replan-day").disabled = false;
      if (j.state === "done") {
        state.dispatch.events = [];
        state.dispatch.incidents = [];
        state.openPlan = { id: String(job.plan_id), keep: true };
        await dispatcherView();
      }
      status.textContent = j.state === "done" ? `${t("replanned")} #${job.plan_id}` : `${t("state_" + j.state)} ${j.error || ""}`;
    };
    await tick();
  }
  async function printChanged() {
    const plan = currentPlan();
    const diff = state.dispatch.diff;
    if (!plan || !diff) return;
    const q = new URLSearchParams({ date: $("#d-date").value });
    const answer = await api(`/plans/${plan.id}/routes?${q}`);
    const changed = changedTrucks();
    const sheets = answer.routes.filter((r) => changed.has(r.vehicle_id)).map((r) => {
      const moved = changedStops(r.vehicle_id);
      return el("section", { "data-vehicle": r.vehicle_id },
        el("h1", { text: `${t("route_sheet")} · ${r.vehicle_id} · ${r.date}` }),
        el("p", { class: "muted", text: `${t("plan")} #${plan.id} · ${t("version")} ${diff.version} · ${diff.at}` }),
        el("table", { class: "data stops" }, el("tbody", {}, ...r.visits.map((v) => el("tr", {
          class: v.kind === "stop" && moved.has(v.id) ? "changed" : "", "data-id": v.id },
        el("td", { class: "num", text: v.order }), el("td", { text: t(v.kind) }),
        el("td", { text: `${v.name} (${v.id})` }), el("td", { text: v.arrival }),
        el("td", { class: "num", text: fmt(v.load_kg, 0) }), el("td", { class: "num", text: fmt(v.load_after_kg, 0) }))))));
    });
    $("#d-print-sheets").replaceChildren(...sheets);
    document.body.classList.add("print-changed");
    try { window.print(); } finally { document.body.classList.remove("print-changed"); }
  }
  async function downloadXlsx() {
    const route = state.dispatch.route;
    if (!route) return;
    const plan = currentPlan();
    const q = new URLSearchParams({ date: route.date, vehicle: route.vehicle_id });
    const answer = await api(`/plans/${plan.id}/route-sheet?${q}`, { raw: true });
    saveBlob(await answer.blob(), `${route.date}_${route.vehicle_id.replace(/[^\w.-]+/g, "_")}.xlsx`);
  }

  // ---- coordinator ---------------------------------------------------------------------------
  function townshipChoices() {
    if (state.me.role === "coordinator") return state.me.townships.map((c) => ({ code: c, name: townName(c) }));
    const seen = new Map();
    for (const s of state.scenarios) for (const tw of s.townships) if (!seen.has(tw.code)) seen.set(tw.code, tw);
    return [...seen.values()];
  }
  async function coordinatorView() {
    const select = $("#c-township");
    const chosen = select.value;
    const choices = townshipChoices();
    select.replaceChildren(...choices.map((tw) => el("option", { value: tw.code, text: `${tw.name} (${tw.code})` })));
    if (chosen && choices.some((c) => c.code === chosen)) select.value = chosen;
    await loadTownship(true);
  }
  async function loadTownship(keepDate) {
    staleMap("c-map");
    const code = $("#c-township").value;
    if (!code) return;
    const q = new URLSearchParams();
    const dates = $("#c-date");
    if (keepDate && dates.value) q.set("date", dates.value);
    let summary;
    try {
      summary = await api(`/townships/${code}/summary?${q}`);
    } catch (error) {
      if (q.has("date")) summary = await api(`/townships/${code}/summary`);
      else throw error;
    }
    state.township = summary;
    dates.replaceChildren(...summary.dates.map((d) => el("option", { value: d, text: d })));
    if (summary.date) dates.value = summary.date;
    $("#c-plan").textContent = summary.plan_id ? `${t("plan")} #${summary.plan_id} · ${scenarioName(summary.scenario_id)}`
      : t("no_plan");
    state.incidents = await api(`/incidents?township=${code}`);
    renderTownship();
  }
  function pointStatus(p, s) {
    const open = new Set(state.incidents.filter((i) => i.status === "open" && i.point_id).map((i) => i.point_id));
    if (open.has(p.point_id)) return "incident";
    if (s.service.some((v) => v.point_id === p.point_id)) return "served";
    if (s.unserved.some((u) => u.point_id === p.point_id)) return "unserved";
    if (s.date && p.collection_days.some((d) => d > s.date)) return "later";
    return "notdue";
  }
  async function renderTownship() {
    const s = state.township;
    const statuses = Object.fromEntries(s.points.map((p) => [p.point_id, pointStatus(p, s)]));
    const count = (k) => Object.values(statuses).filter((x) => x === k).length;
    const stationNamesList = s.stations.map((x) => `${x.name}`).join("、") || "–";
    const card = (label, value, cls) => el("div", { class: `stat ${cls || ""}` }, el("div", { class: "label", text: label }),
      el("div", { class: "value", text: value }));
    const openIncidents = state.incidents.filter((i) => i.status === "open").length;
    $("#c-summary").replaceChildren(
      card(t("township"), `${s.name}`), card(t("date"), s.date || "–"),
      card(t("stations_serving"), stationNamesList),
      card(t("due_n"), s.service.length + s.unserved.length),
      card(t("served_n"), s.service.length, "ok"), card(t("unserved_n"), s.unserved.length, s.unserved.length ? "bad" : ""),
      card(t("incidents_n"), openIncidents, openIncidents ? "warn" : ""));
    const visit = Object.fromEntries(s.service.map((v) => [v.point_id, v]));
    const why = Object.fromEntries(s.unserved.map((u) => [u.point_id, u.reason]));
    const stations = Object.fromEntries(s.stations.map((x) => [x.station_id, x.name]));
    const rank = { incident: 0, unserved: 1, served: 2, later: 3, notdue: 4 };
    const filter = $("#c-filter").value;
    const shown = s.points.filter((p) => !filter || statuses[p.point_id] === filter)
      .sort((a, b) => rank[statuses[a.point_id]] - rank[statuses[b.point_id]]
        || (visit[a.point_id] ? visit[a.point_id].arrival_s : 1e9) - (visit[b.point_id] ? visit[b.point_id].arrival_s : 1e9)
        || a.point_id.localeCompare(b.point_id));
    const filterBox = $("#c-filter");
    const chosenFilter = filterBox.value;
    filterBox.replaceChildren(el("option", { value: "", text: `${t("all")} (${s.points.length})` }),
      ...Object.keys(rank).map((k) => el("option", { value: k, text: `${t("st_" + k)} (${count(k)})` })));
    filterBox.value = chosenFilter;
    $("#c-points tbody").replaceChildren(...shown.map((p) => el("tr", { "data-id": p.point_id, "data-status": statuses[p.point_id] },
      el("td", { text: `${p.name} (${p.point_id})` }), el("td", { text: p.village }),
      el("td", { text: t("freq_" + p.frequency) }),
      el("td", {}, el("span", { class: `tag st-${statuses[p.point_id]}`, text: t("st_" + statuses[p.point_id]) })),
      el("td", { class: "days", text: p.collection_days.map((d) => d.slice(5)).join(" ") }),
      el("td", { text: visit[p.point_id] ? visit[p.point_id].arrival : "" }),
      el("td", { text: visit[p.point_id] ? visit[p.point_id].vehicle_id : "" }),
      el("td", { text: p.station_id ? (stations[p.station_id] || p.station_id) : "–" }),
      el("td", { text: why[p.point_id] || "" }))));
    renderStreamDays(s);
    renderIncidentRows($("#c-incidents tbody"), state.incidents, false);
    // map
    const entry = getMap("c-map");
    const ticket = startDraw(entry);
    await drawNetwork(entry, s.scenario_id, (e) => { if (reportKind() === "blocked_road") pickRoad(e.latlng); });
    const net = await network(s.scenario_id);
    if (ticket !== entry.ticket) return;
    entry.layer.clearLayers();
    const where = {};
    for (const f of net.features) if (f.properties.feature === "station") where[f.properties.id] = f.geometry.coordinates;
    for (const p of s.points) {
      if (p.station_id && where[p.station_id]) {
        const [lon, lat] = where[p.station_id];
        entry.layer.addLayer(L.polyline([[p.lat, p.lon], [lat, lon]],
          { color: "#6b7785", weight: 1, dashArray: "4 4", opacity: 0.7, interactive: false }));
      }
    }
    for (const x of s.stations) {
      if (!where[x.station_id]) continue;
      const [lon, lat] = where[x.station_id];
      entry.layer.addLayer(L.marker([lat, lon], { icon: L.divIcon({ className: "fac station mine", html: "站",
        iconSize: [26, 26] }) }).bindTooltip(html(`${x.name} (${x.station_id})`), { permanent: true, direction: "right", className: "label-tip" }));
    }
    const bounds = L.latLngBounds([]);
    for (const x of s.stations) if (where[x.station_id]) bounds.extend([where[x.station_id][1], where[x.station_id][0]]);
    for (const p of s.points) {
      const st = statuses[p.point_id];
      const m = L.circleMarker([p.lat, p.lon], { radius: 8, color: "#fff", weight: 2, fillColor: COLOURS[st],
        fillOpacity: 1, className: `pt pt-${p.point_id}` });
      const few = s.points.length <= 40;
      m.bindTooltip(html(few ? `${p.name}${visit[p.point_id] ? " " + visit[p.point_id].arrival : ""}`
        : `${p.name} (${p.point_id}) · ${t("st_" + st)}${visit[p.point_id] ? " · " + visit[p.point_id].arrival : ""}`),
      few ? { permanent: true, direction: "right", offset: [8, 0], className: "point-tip" } : {});
      m.on("click", (e) => {
        L.DomEvent.stopPropagation(e);
        if (reportKind() === "overflow") pickPoint(p);
        else pickRoad(e.latlng);
      });
      entry.layer.addLayer(m);
      bounds.extend([p.lat, p.lon]);
    }
    for (const i of state.incidents.filter((x) => x.kind === "blocked_road" && x.status === "open" && x.lat !== null)) {
      entry.layer.addLayer(L.marker([i.lat, i.lon], { icon: L.divIcon({ className: "blocked", html: "<b></b>", iconSize: [20, 20] }),
        zIndexOffset: 2000 })
        .bindTooltip(html(`#${i.id} ${t("blocked_road")} ${i.note || ""}`)));
    }
    entry.bounds = bounds.isValid() ? bounds.pad(0.15) : entry.bounds;
    fit(entry, { maxZoom: 16 });
    if (!entry.clickBound) {
      entry.map.on("click", (e) => { if (reportKind() === "blocked_road") pickRoad(e.latlng); });
      entry.clickBound = true;
    }
    state.pick = null;
    showPick();
    finishDraw(entry, ticket, `${s.code} ${s.date || ""}`);
  }
  function renderStreamDays(s) {
    // sorted streams: on which weekdays of the plan each stream of each point is collected
    const streams = s.streams || [];
    $("#c-streams-card").hidden = !streams.length;
    if (!streams.length) return;
    $("#c-streams thead").replaceChildren(el("tr", {}, el("th", { text: t("point") }), el("th", { text: t("village") }),
      ...streams.map((x) => el("th", { "data-stream": x.id, text: streamName(streams, x.id) }))));
    $("#c-streams tbody").replaceChildren(...s.points.map((p) => {
      const of = Object.fromEntries((p.streams || []).map((x) => [x.stream, x]));
      return el("tr", { "data-id": p.point_id }, el("td", { text: `${p.name} (${p.point_id})` }), el("td", { text: p.village }),
        ...streams.map((x) => {
          const d = of[x.id];
          if (!d) return el("td", { "data-stream": x.id, text: "–" });
          return el("td", { "data-stream": x.id, title: d.collection_days.join(" ") },
            el("span", { class: "weekdays", text: d.weekdays.map((w) => t(`wd_${w}`)).join(t("wd_sep")) || "–" }),
            el("span", { class: "days", text: ` (${t("freq_" + d.frequency)})` }),
            d.unserved_days.length ? el("span", { class: "tag st-unserved",
              text: `${t("st_unserved")} ${d.unserved_days.map((u) => u.slice(5)).join(" ")}` }) : null);
        }));
    }));
  }
  const reportKind = () => document.querySelector("input[name=r-kind]:checked").value;
  function pickPoint(p) {
    state.pick = { kind: "overflow", point_id: p.point_id, label: `${p.name} (${p.point_id})`, lat: p.lat, lon: p.lon };
    showPick();
  }
  function pickRoad(latlng) {
    state.pick = { kind: "blocked_road", lon: Number(latlng.lng.toFixed(6)), lat: Number(latlng.lat.toFixed(6)),
      label: `${latlng.lat.toFixed(5)}, ${latlng.lng.toFixed(5)}` };
    showPick();
  }
  function showPick() {
    const box = $("#r-where");
    const entry = state.maps["c-map"];
    if (state.pickLayer && entry) entry.map.removeLayer(state.pickLayer);
    state.pickLayer = null;
    if (!state.pick || state.pick.kind !== reportKind()) {
      box.textContent = t(reportKind() === "overflow" ? "choose_point" : "choose_road");
      box.classList.add("muted");
      $("#r-submit").disabled = true;
      return;
    }
    box.textContent = state.pick.label;
    box.classList.remove("muted");
    $("#r-submit").disabled = false;
    if (entry) {
      state.pickLayer = L.circleMarker([state.pick.lat, state.pick.lon], { radius: 14, color: "#f08c00", weight: 3,
        fill: false, interactive: false }).addTo(entry.map);
    }
  }
  async function submitReport(event) {
    event.preventDefault();
    if (!state.pick || !state.township) return;
    const body = { kind: state.pick.kind, scenario_id: state.township.scenario_id, note: $("#r-note").value };
    if (body.kind === "overflow") body.point_id = state.pick.point_id;
    else { body.lon = state.pick.lon; body.lat = state.pick.lat; body.township_code = state.township.code; }
    const made = await api("/incidents", { method: "POST", json: body });
    say(`${t("reported")} #${made.id}`, "ok");
    $("#r-note").value = "";
    state.pick = null;
    state.incidents = await api(`/incidents?township=${state.township.code}`);
    await renderTownship();
  }
  function pointLabel(id) {
    const p = state.township && state.township.points.find((x) => x.point_id === id);
    return p ? `${p.name} (${id})` : id;
  }
  function renderIncidentRows(body, rows, withActions) {
    body.replaceChildren(...rows.map((i) => el("tr", { "data-id": i.id, "data-kind": i.kind, "data-status": i.status },
      el("td", { text: i.id }), el("td", { text: t(i.kind) }),
      ...(withActions ? [el("td", { text: scenarioName(i.scenario_id) }), el("td", { text: townName(i.township_code) })] : []),
      el("td", { text: i.point_id ? pointLabel(i.point_id) : (i.lat !== null ? `${i.lat.toFixed(5)}, ${i.lon.toFixed(5)}` : "–") +
        (i.road_ids.length ? ` [${i.road_ids.join(", ")}]` : "") }),
      el("td", { text: i.note }),
      el("td", {}, el("span", { class: `badge i-${i.status}`, text: t("status_" + i.status) + (i.plan_id ? ` #${i.plan_id}` : "") })),
      el("td", { text: new Date(i.created_at.endsWith("Z") || i.created_at.includes("+") ? i.created_at : i.created_at + "Z")
        .toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false }) }),
      ...(withActions ? [el("td", {}, i.status === "used" ? "" : el("button", { type: "button", class: "small",
        text: i.status === "open" ? t("dismiss") : t("reopen"),
        onclick: guard(async () => {
          await api(`/incidents/${i.id}`, { method: "PATCH", json: { status: i.status === "open" ? "dismissed" : "open" } });
          await incidentsView();
        }) }))] : []))));
  }

  // ---- incidents (staff) ---------------------------------------------------------------------
  async function incidentsView() {
    const status = $("#i-status").value;
    const rows = await api(status ? `/incidents?status=${status}` : "/incidents");
    renderIncidentRows($("#i-table tbody"), rows, true);
  }

  function refitMaps() {
    for (const entry of Object.values(state.maps)) fit(entry, { padding: [30, 30] });
  }

  // ---- start ---------------------------------------------------------------------------------
  async function init() {
    try { state.config = await (await fetch("/web/config")).json(); } catch (_) { /* no base map */ }
    applyLang();
    $("#lang").addEventListener("click", toggleLang);
    $("#signout").addEventListener("click", signOut);
    $("#signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("#key").value.trim()); });
    for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => show(b.dataset.view));
    $("#plan-form").addEventListener("submit", guard(startPlan));
    $("#plan-scenario").addEventListener("change", syncPlanDate);
    $("#upload-form").addEventListener("submit", guard(uploadScenario));
    $("#whatif-form").addEventListener("submit", guard(deriveWhatIf));
    $("#job-cancel").addEventListener("click", guard(cancelJob));
    $("#d-replan-day").addEventListener("click", guard(replanDay));
    $("#d-print-changed").addEventListener("click", guard(printChanged));
    $("#d-road-mode").addEventListener("click", () => setPick(state.dispatch.pick && state.dispatch.pick.kind === "road" ? null : { kind: "road" }));
    $("#compare-btn").addEventListener("click", guard(comparePlans));
    $("#chart-kpi").addEventListener("change", drawChart);
    $("#d-plan").addEventListener("change", guard(() => onPlan(false)));
    $("#d-date").addEventListener("change", guard(() => onDay(true)));
    $("#d-station").addEventListener("change", guard(() => onDay(false)));
    $("#d-truck").addEventListener("change", guard(onTruck));
    $("#d-stream").addEventListener("change", guard(onTruck));
    $("#d-print").addEventListener("click", () => window.print());
    $("#d-xlsx").addEventListener("click", guard(downloadXlsx));
    $("#c-township").addEventListener("change", guard(() => loadTownship(false)));
    $("#c-date").addEventListener("change", guard(() => loadTownship(true)));
    $("#c-filter").addEventListener("change", guard(renderTownship));
    $("#i-status").addEventListener("change", guard(incidentsView));
    for (const r of document.querySelectorAll("input[name=r-kind]")) r.addEventListener("change", showPick);
    $("#report-form").addEventListener("submit", guard(submitReport));
    window.addEventListener("beforeprint", refitMaps);
    window.addEventListener("afterprint", refitMaps);
    window.matchMedia("print").addEventListener("change", refitMaps);
    document.body.dataset.ready = "1";
    const key = sessionStorage.getItem(KEY);
    if (key) await signIn(key);
  }
  window.sanitationApp = { state, show };
  init();
})();
