// The Nexus agent console: a single-page app on the public REST API and the official
// socket.io-client, with no build step. State lives in `state`; each region of the page has
// its own render function, called when what it shows changes.
import { io } from "/vendor/socket.io.esm.min.js";
import { ApiError, api } from "/console/api.js";
import { h, size, when } from "/console/dom.js";

const STATUSES = ["open", "pending", "snoozed", "resolved"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
const RANK = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4 };

const state = {
  me: null, agents: [], teams: [], canned: [], channels: [],
  filters: { status: "open,pending", assignee: "", team: "", priority: "", channel: "", label: "", q: "" },
  tickets: new Map(), order: [], cursor: null,
  ticket: null, messages: [], contact: null,
  socket: null, live: "connecting",
};
const app = document.getElementById("app");
let regions = {};

api.onUnauthorized = () => logout({ revoke: false, reason: "Your session ended. Log in again." });

// --- Start, login, logout -------------------------------------------------------------------

async function boot() {
  if (!api.token) return showLogin();
  try {
    state.me = await api.get("/me");
  } catch (error) {
    if (error.status === 401) return showLogin();
    return showLogin(error.message);
  }
  await showConsole();
}

function showLogin(message = "") {
  document.title = "Log in · Nexus";
  const error = h("p", { class: "error", role: "alert", id: "login-error" }, message);
  const email = h("input", { id: "login-email", type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", type: "password", name: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "login", "aria-labelledby": "login-title", on: { submit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const session = await api.post("/auth/login", { email: email.value, password: password.value });
      api.setToken(session.token);
      state.me = session.agent;
      await showConsole();
    } catch (failure) {
      error.textContent = failure.message;
      password.select();
    }
  } } },
  h("h1", { id: "login-title" }, "Nexus"),
  h("p", {}, "Log in to answer your customers."),
  h("label", { for: "login-email" }, "Email"), email,
  h("label", { for: "login-password" }, "Password"), password,
  error,
  h("button", { type: "submit", id: "login-submit" }, "Log in"));
  app.replaceChildren(h("main", { class: "login-page" }, form));
  email.focus();
}

async function logout({ revoke = true, reason = "" } = {}) {
  if (state.socket) {
    state.socket.removeAllListeners();
    state.socket.disconnect();
    state.socket = null;
  }
  if (revoke) await api.post("/auth/logout").catch(() => {});
  api.setToken(null);
  Object.assign(state, { me: null, ticket: null, messages: [], contact: null, tickets: new Map(), order: [] });
  showLogin(reason);
}

// --- The console's frame --------------------------------------------------------------------

async function showConsole() {
  document.title = "Nexus";
  regions = {
    live: h("span", { class: "live", role: "status", id: "live-state" }),
    filters: h("form", { class: "filters", role: "search", "aria-label": "Filter tickets" }),
    list: h("ul", { class: "tickets", id: "ticket-list", "aria-label": "Tickets" }),
    more: h("div", { class: "more" }),
    channels: h("ul", { class: "channels", "aria-label": "Channels" }),
    conversation: h("section", { class: "conversation", id: "conversation", "aria-label": "Conversation", tabindex: "-1" }),
    contact: h("aside", { class: "contact", "aria-label": "Contact" }),
  };
  app.replaceChildren(
    h("header", { class: "top" },
      h("h1", {}, "Nexus"), regions.live,
      h("span", { class: "me" }, `${state.me.name} (${state.me.role})`),
      h("button", { type: "button", id: "logout", on: { click: () => logout() } }, "Log out")),
    h("div", { class: "layout" },
      h("nav", { class: "side", "aria-label": "Tickets and channels" }, regions.filters, regions.list, regions.more,
        h("h2", { class: "small" }, "Channels"), regions.channels),
      h("main", { class: "main" }, regions.conversation),
      regions.contact));
  renderFilters();
  renderConversation();
  const [agents, teams, canned] = await Promise.all([
    api.get("/agents"), api.get("/teams"), api.get("/canned-responses"),
  ].map((p) => p.catch(() => ({ items: [] }))));
  Object.assign(state, { agents: agents.items, teams: teams.items, canned: canned.items });
  connectSocket();
  await Promise.all([loadTickets(), loadChannels()]);
  const wanted = Number(location.hash.replace("#/tickets/", ""));
  if (wanted) openTicket(wanted, { focus: false });
}

function setLive(value) {
  state.live = value;
  const text = { connecting: "Connecting…", live: "Live", down: "Disconnected: reconnecting…" }[value];
  regions.live.textContent = text;
  regions.live.dataset.state = value;
}

// --- Real time ------------------------------------------------------------------------------

function connectSocket() {
  setLive("connecting");
  const socket = io({ auth: { token: api.token }, transports: ["websocket", "polling"] });
  state.socket = socket;
  socket.on("connect", () => {
    const wasDown = state.live === "down";
    setLive("live");
    // Events are at most once: after a drop, refetch what is on screen.
    if (wasDown) refetchAll();
  });
  socket.on("disconnect", async (reason) => {
    setLive("down");
    if (reason === "io server disconnect") {
      // The server dropped us, which it does when the token is revoked: check before retrying.
      try {
        await api.get("/me");
        socket.connect();
      } catch (error) {
        if (error.status !== 401) setTimeout(() => socket.connect(), 2000);
      }
    }
  });
  socket.on("connect_error", async (error) => {
    setLive("down");
    if (error.data && error.data.code === "unauthorized") {
      try { await api.get("/me"); } catch { /* onUnauthorized logs out */ }
    }
  });
  socket.on("ticket.created", (ticket) => upsertTicket(ticket));
  socket.on("ticket.updated", (ticket) => upsertTicket(ticket));
  socket.on("message.created", (message) => upsertMessage(message));
  socket.on("message.updated", (message) => upsertMessage(message));
}

async function refetchAll() {
  await Promise.all([loadTickets(), loadChannels()]);
  if (state.ticket) await openTicket(state.ticket.id, { focus: false });
}

function matches(ticket) {
  const f = state.filters;
  if (f.status && !f.status.split(",").includes(ticket.status)) return false;
  if (f.assignee === "me" && ticket.assignee_id !== state.me.id) return false;
  if (f.assignee === "none" && ticket.assignee_id != null) return false;
  if (f.team === "none" && ticket.team_id != null) return false;
  if (f.team && f.team !== "none" && ticket.team_id !== Number(f.team)) return false;
  if (f.priority && ticket.priority !== f.priority) return false;
  if (f.channel && ticket.channel !== f.channel) return false;
  if (f.label && !ticket.labels.includes(f.label)) return false;
  return true;
}

let searchRefetch = null;
function upsertTicket(ticket) {
  if (state.filters.q) {
    // A search cannot be evaluated here: ask the API again, once per burst.
    clearTimeout(searchRefetch);
    searchRefetch = setTimeout(loadTickets, 300);
  } else if (matches(ticket)) {
    state.tickets.set(ticket.id, ticket);
    if (!state.order.includes(ticket.id)) state.order.push(ticket.id);
  } else {
    state.tickets.delete(ticket.id);
    state.order = state.order.filter((id) => id !== ticket.id);
  }
  sortTickets();
  renderList();
  if (state.ticket && state.ticket.id === ticket.id) {
    state.ticket = ticket;
    renderConversation({ keepComposer: true });
  }
}

function upsertMessage(message) {
  if (!state.ticket || message.ticket_id !== state.ticket.id) return;
  const index = state.messages.findIndex((m) => m.id === message.id);
  if (index >= 0) {
    const current = state.messages[index];
    // Statuses only move forward; a late event must not undo a newer one.
    if ((RANK[message.status] ?? 9) < (RANK[current.status] ?? 9) && current.status !== "failed") return;
    state.messages[index] = message;
  } else {
    state.messages.push(message);
  }
  renderMessages();
}

function sortTickets() {
  const at = (id) => state.tickets.get(id)?.last_message_at || "";
  state.order = state.order.filter((id) => state.tickets.has(id)).sort((a, b) => at(b).localeCompare(at(a)) || b - a);
}

// --- Ticket list ----------------------------------------------------------------------------

function select(id, label, value, options) {
  return [h("label", { for: id }, label),
    h("select", { id, on: { change: (event) => setFilter(value, event.target.value) } },
      ...options.map(([optionValue, text]) => h("option", { value: optionValue, selected: state.filters[value] === optionValue }, text)))];
}

function renderFilters() {
  const search = h("input", { id: "filter-q", type: "search", value: state.filters.q, placeholder: "Words, a name, or #123" });
  regions.filters.replaceChildren(
    h("label", { for: "filter-q" }, "Search"), search,
    ...select("filter-status", "Status", "status", [["open,pending", "Open and pending"], ["", "Any status"],
      ...STATUSES.map((s) => [s, s[0].toUpperCase() + s.slice(1)])]),
    ...select("filter-assignee", "Assignee", "assignee", [["", "Anyone"], ["me", "Me"], ["none", "Unassigned"]]),
    ...select("filter-team", "Team", "team", [["", "Any team"], ["none", "No team"], ...state.teams.map((t) => [String(t.id), t.name])]),
    ...select("filter-priority", "Priority", "priority", [["", "Any priority"], ...PRIORITIES.map((p) => [p, p])]),
    ...select("filter-channel", "Channel", "channel", [["", "Any channel"], ...state.channels.map((c) => [c.name, c.name])]),
    h("label", { for: "filter-label" }, "Label"),
    h("input", { id: "filter-label", value: state.filters.label, on: { change: (e) => setFilter("label", e.target.value.trim()) } }),
    h("button", { type: "submit" }, "Search"));
  regions.filters.onsubmit = (event) => { event.preventDefault(); setFilter("q", search.value.trim()); };
}

function setFilter(name, value) {
  state.filters[name] = value;
  loadTickets();
}

async function loadTickets(more = false) {
  const params = new URLSearchParams({ limit: "50" });
  for (const [name, value] of Object.entries(state.filters)) if (value) params.set(name, value);
  if (more && state.cursor) params.set("cursor", state.cursor);
  try {
    const page = await api.get(`/tickets?${params}`);
    if (!more) { state.tickets = new Map(); state.order = []; }
    for (const ticket of page.items) { state.tickets.set(ticket.id, ticket); state.order.push(ticket.id); }
    state.cursor = page.next_cursor;
    sortTickets();
    renderList();
  } catch (error) {
    regions.list.replaceChildren(h("li", { class: "error", role: "alert" }, `Could not load tickets: ${error.message}`));
  }
}

function contactName(ticket) {
  const contact = ticket.contact || {};
  return contact.name || contact.identities?.[0]?.display_name || contact.identities?.[0]?.address || `Contact ${contact.id}`;
}

function renderList() {
  if (!state.order.length) {
    regions.list.replaceChildren(h("li", { class: "empty" }, "No tickets match."));
  } else {
    regions.list.replaceChildren(...state.order.map((id) => {
      const ticket = state.tickets.get(id);
      const current = state.ticket && state.ticket.id === id;
      return h("li", { "data-ticket-id": id },
        h("button", { type: "button", class: `ticket${current ? " current" : ""}`, "aria-current": current ? "true" : false,
          on: { click: () => openTicket(id) } },
          h("span", { class: "who" }, contactName(ticket)),
          h("span", { class: `badge status-${ticket.status}` }, ticket.status),
          ticket.priority !== "normal" ? h("span", { class: `badge priority-${ticket.priority}` }, ticket.priority) : null,
          h("span", { class: "subject" }, ticket.subject || "(no subject)"),
          h("span", { class: "meta" }, `#${ticket.id} · ${ticket.channel} · ${when(ticket.last_message_at)}`)));
    }));
  }
  regions.more.replaceChildren(state.cursor
    ? h("button", { type: "button", on: { click: () => loadTickets(true) } }, "Load more") : "");
}

async function loadChannels() {
  try {
    state.channels = (await api.get("/channels")).items;
  } catch {
    return;
  }
  regions.channels.replaceChildren(...state.channels.map((c) => h("li", { "data-channel": c.name },
    h("span", { class: `dot state-${c.state}`, "aria-hidden": "true" }),
    h("span", {}, `${c.name} (${c.type}): ${c.state}`),
    c.error ? h("span", { class: "error" }, ` ${c.error}`) : null,
    c.details && c.details.demo_page ? h("a", { href: c.details.demo_page, target: "_blank", rel: "noopener" }, " demo page") : null)));
  renderFilters();
}

// --- One conversation -----------------------------------------------------------------------

async function openTicket(id, { focus = true } = {}) {
  try {
    const [ticket, page] = await Promise.all([api.get(`/tickets/${id}`), api.get(`/tickets/${id}/messages?limit=200`)]);
    state.ticket = ticket;
    state.messages = page.items;
    history.replaceState(null, "", `#/tickets/${id}`);
    renderList();
    renderConversation();
    state.contact = await api.get(`/contacts/${ticket.contact.id}`).catch(() => ticket.contact);
    renderContact();
    if (focus) regions.conversation.querySelector("h2")?.focus();
  } catch (error) {
    if (error.status === 404) { state.ticket = null; renderConversation(); }
    regions.conversation.prepend(h("p", { class: "error", role: "alert" }, `Could not open ticket ${id}: ${error.message}`));
  }
}

async function patchTicket(changes) {
  try {
    state.ticket = await api.patch(`/tickets/${state.ticket.id}`, changes);
    upsertTicket(state.ticket);
  } catch (error) {
    flash(error.message);
  }
}

function flash(text) {
  const node = regions.conversation.querySelector(".flash");
  if (node) node.textContent = text;
}

function renderConversation({ keepComposer = false } = {}) {
  const ticket = state.ticket;
  if (!ticket) {
    regions.conversation.replaceChildren(h("p", { class: "empty" }, "Choose a ticket to read the conversation."));
    regions.contact.replaceChildren();
    return;
  }
  const composer = keepComposer && regions.composer ? regions.composer : buildComposer();
  regions.composer = composer;
  regions.messages = h("ol", { class: "messages", id: "messages", "aria-label": "Messages", "aria-live": "polite" });
  const assignee = h("select", { id: "action-assignee", on: { change: (e) => patchTicket({ assignee_id: e.target.value ? Number(e.target.value) : null }) } },
    h("option", { value: "" }, "Unassigned"),
    ...state.agents.map((a) => h("option", { value: a.id, selected: ticket.assignee_id === a.id }, a.name)));
  const team = h("select", { id: "action-team", on: { change: (e) => patchTicket({ team_id: e.target.value ? Number(e.target.value) : null }) } },
    h("option", { value: "" }, "No team"),
    ...state.teams.map((t) => h("option", { value: t.id, selected: ticket.team_id === t.id }, t.name)));
  const priority = h("select", { id: "action-priority", on: { change: (e) => patchTicket({ priority: e.target.value }) } },
    ...PRIORITIES.map((p) => h("option", { value: p, selected: ticket.priority === p }, p)));
  const labels = h("input", { id: "action-labels", value: ticket.labels.join(", "), placeholder: "billing, vip" });
  const snoozeUntil = h("input", { id: "action-snooze-until", type: "datetime-local" });
  const resolved = ticket.status === "resolved";
  regions.conversation.replaceChildren(
    h("header", { class: "ticket-head" },
      h("h2", { tabindex: "-1" }, `#${ticket.id} ${ticket.subject || "(no subject)"}`),
      h("p", { class: "meta" }, `${contactName(ticket)} · ${ticket.channel} · `, h("span", { class: `badge status-${ticket.status}`, id: "ticket-status" }, ticket.status),
        ticket.snoozed_until ? ` until ${when(ticket.snoozed_until)}` : "")),
    h("div", { class: "actions", role: "group", "aria-label": "Ticket actions" },
      h("label", { for: "action-assignee" }, "Assignee"), assignee,
      h("label", { for: "action-team" }, "Team"), team,
      h("label", { for: "action-priority" }, "Priority"), priority,
      h("form", { class: "inline", on: { submit: (e) => { e.preventDefault(); patchTicket({ labels: labels.value.split(",").map((l) => l.trim()).filter(Boolean) }); } } },
        h("label", { for: "action-labels" }, "Labels"), labels, h("button", { type: "submit" }, "Save labels")),
      h("form", { class: "inline", on: { submit: (e) => {
        e.preventDefault();
        if (!snoozeUntil.value) return flash("Choose when the ticket should wake up.");
        patchTicket({ snoozed_until: new Date(snoozeUntil.value).toISOString() });
      } } }, h("label", { for: "action-snooze-until" }, "Snooze until"), snoozeUntil, h("button", { type: "submit", id: "action-snooze" }, "Snooze")),
      h("button", { type: "button", id: "action-resolve", class: resolved ? "" : "primary",
        on: { click: () => patchTicket({ status: resolved ? "open" : "resolved" }) } }, resolved ? "Reopen" : "Resolve")),
    h("p", { class: "flash", role: "status" }),
    regions.messages,
    composer);
  renderMessages();
}

function statusText(message) {
  if (message.direction !== "outbound" || message.private) return "";
  if (message.status === "failed") return `failed: ${message.error_text || message.error_code || "unknown error"}`;
  return message.status;
}

function renderMessages() {
  if (!regions.messages) return;
  const atBottom = regions.messages.scrollHeight - regions.messages.scrollTop - regions.messages.clientHeight < 40;
  regions.messages.replaceChildren(...state.messages.map((message) => {
    const kind = message.private ? "note" : message.direction === "inbound" ? "inbound" : "outbound";
    const author = message.private ? "Private note" : message.direction === "inbound"
      ? (message.sender?.display_name || contactName(state.ticket))
      : (state.agents.find((a) => a.id === message.author_id)?.name || (message.author_id ? "Agent" : "Automatic"));
    return h("li", { class: `message ${kind}`, "data-message-id": message.id, "data-status": message.status },
      h("p", { class: "author" }, author, h("span", { class: "meta" }, ` · ${when(message.created_at)}`)),
      message.text ? h("p", { class: "text" }, message.text) : null,
      message.attachments.length ? h("ul", { class: "files", "aria-label": "Attachments" }, ...message.attachments.map((file) => h("li", {},
        file.note ? h("span", {}, `${file.filename}: ${file.note}`)
          : h("button", { type: "button", class: "link", on: { click: () => download(file) } }, `${file.filename} (${size(file.size)})`)))) : null,
      statusText(message) ? h("p", { class: `delivery delivery-${message.status}` }, `Delivery: ${statusText(message)}`,
        message.status === "failed" ? h("button", { type: "button", class: "link", on: { click: () => retry(message) } }, " Retry") : null) : null);
  }));
  if (atBottom || regions.messages.dataset.fresh !== String(state.ticket.id)) {
    regions.messages.scrollTop = regions.messages.scrollHeight;
    regions.messages.dataset.fresh = String(state.ticket.id);
  }
}

async function download(file) {
  try {
    const response = await api.request("GET", `/attachments/${file.id}`, undefined, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    h("a", { href: url, download: file.filename }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    flash(`Could not download ${file.filename}: ${error.message}`);
  }
}

async function retry(message) {
  try {
    upsertMessage(await api.post(`/messages/${message.id}/retry`));
  } catch (error) {
    flash(error.message);
  }
}

// --- The composer, with canned responses by shortcut ---------------------------------------

function buildComposer() {
  const text = h("textarea", { id: "composer-text", rows: "3", "aria-describedby": "composer-help", "aria-autocomplete": "list",
    "aria-controls": "canned-list", "aria-expanded": "false" });
  const note = h("input", { id: "composer-private", type: "checkbox" });
  const files = h("input", { id: "composer-files", type: "file", multiple: true });
  const suggestions = h("ul", { id: "canned-list", class: "canned", role: "listbox", "aria-label": "Canned responses", hidden: true });
  const error = h("p", { class: "error", role: "alert" });
  let active = -1;
  let shown = [];

  const close = () => { suggestions.hidden = true; text.setAttribute("aria-expanded", "false"); text.removeAttribute("aria-activedescendant"); active = -1; };
  const highlight = (index) => {
    active = index;
    [...suggestions.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) text.setAttribute("aria-activedescendant", `canned-${shown[index].id}`);
  };
  const choose = async (canned) => {
    close();
    try {
      const rendered = await api.post(`/canned-responses/${canned.id}/render`, { ticket_id: state.ticket.id });
      text.value = rendered.body;
    } catch (failure) {
      text.value = canned.body;
      error.textContent = `The placeholders could not be filled: ${failure.message}`;
    }
    text.focus();
  };
  text.addEventListener("input", () => {
    const match = /^\/([\w.-]*)$/.exec(text.value);
    shown = match ? state.canned.filter((c) => c.shortcut.startsWith(match[1])) : [];
    if (!shown.length) return close();
    suggestions.replaceChildren(...shown.map((c) => h("li", { id: `canned-${c.id}`, role: "option", "aria-selected": "false",
      on: { mousedown: (e) => { e.preventDefault(); choose(c); } } }, h("strong", {}, `/${c.shortcut}`), ` ${c.title || c.body.slice(0, 60)}`)));
    suggestions.hidden = false;
    text.setAttribute("aria-expanded", "true");
    highlight(0);
  });
  text.addEventListener("keydown", (event) => {
    if (!suggestions.hidden) {
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % shown.length); return; }
      if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + shown.length) % shown.length); return; }
      if ((event.key === "Enter" || event.key === "Tab") && active >= 0) { event.preventDefault(); choose(shown[active]); return; }
      if (event.key === "Escape") { event.preventDefault(); close(); return; }
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
  });

  const form = h("form", { class: "composer", "aria-label": "Reply", on: { submit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = text.value.trim();
    if (!body && !files.files.length) return;
    try {
      const attachments = note.checked ? [] : await Promise.all([...files.files].map(encodeFile));
      if (note.checked && files.files.length) { error.textContent = "Private notes carry text only."; return; }
      const message = await api.post(`/tickets/${state.ticket.id}/messages`, { text: body, private: note.checked, attachments });
      upsertMessage(message);
      text.value = "";
      files.value = "";
      note.checked = false;
    } catch (failure) {
      error.textContent = `Not sent: ${failure.message}`;
    }
  } } },
  h("label", { for: "composer-text" }, "Reply"), text, suggestions,
  h("p", { id: "composer-help", class: "help" }, "Type / and a shortcut for a canned response. Ctrl+Enter sends."),
  h("div", { class: "row" },
    h("label", { class: "check" }, note, " Private note (agents only)"),
    h("label", { for: "composer-files" }, "Attach files"), files,
    h("button", { type: "submit", id: "composer-send", class: "primary" }, "Send")),
  error);
  return form;
}

function encodeFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ filename: file.name, content_type: file.type || "application/octet-stream",
      data: String(reader.result).split(",", 2)[1] || "" });
    reader.onerror = () => reject(new ApiError(0, "file", `cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

// --- The contact panel ----------------------------------------------------------------------

function renderContact() {
  const contact = state.contact;
  if (!contact) return regions.contact.replaceChildren();
  const attributes = Object.entries(contact.attributes || {}).filter(([, v]) => v != null && v !== "");
  regions.contact.replaceChildren(
    h("h2", {}, contact.name || "Unnamed contact"),
    h("dl", {}, ...attributes.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])),
    h("h3", {}, "Identities"),
    h("ul", { class: "identities" }, ...(contact.identities || []).map((i) => h("li", {},
      h("strong", {}, i.channel_type), ` ${i.display_name || ""} `, h("code", {}, i.address),
      i.profile && Object.keys(i.profile).length ? h("p", { class: "meta" },
        Object.entries(i.profile).map(([k, v]) => `${k}: ${v}`).join(" · ")) : null))),
    h("p", { class: "meta" }, `Contact #${contact.id} since ${when(contact.created_at)}`));
}

boot();
