// The Nexus web-chat widget: a bubble and a panel in a shadow root, so the host page's CSS
// and ours never meet. It talks to Nexus's widget API over HTTP and receives replies on the
// /webchat Socket.IO namespace, with the official socket.io-client that Nexus serves.

const STORE = "nexus-webchat:";

export async function start(options) {
  if (!options.key) {
    console.error("Nexus web chat: the <script> tag needs data-key");
    return;
  }
  const { io } = await import(`${options.base}/vendor/socket.io.esm.min.js`);
  new Widget(options, io).mount();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value != null) node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}
const CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
const CLIP = "M16.5 6.5 8.9 14.1a1.5 1.5 0 0 0 2.1 2.1l7.4-7.4a3 3 0 0 0-4.2-4.2l-7.6 7.6a4.5 4.5 0 0 0 6.4 6.4l6.3-6.3";

function size(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

function clientId() {
  return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`).replace(/[^A-Za-z0-9_-]/g, "");
}

class Widget {
  constructor(options, io) {
    this.options = options;
    this.io = io;
    this.messages = new Map(); // id or client id -> element
    this.unreadIds = new Set();
    this.unread = 0;
    this.session = null;
    this.storeKey = STORE + options.key;
  }

  mount() {
    const host = el("div", { id: "nexus-webchat" });
    const root = host.attachShadow({ mode: "open" });
    root.append(el("link", { rel: "stylesheet", href: `${this.options.base}/webchat/static/chat.css` }));
    this.badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.bubble = el("button", { class: "bubble", type: "button", "aria-label": "Open chat", "aria-expanded": "false",
      on: { click: () => this.toggle() } }, icon(CHAT), this.badge);
    this.heading = el("h2", { id: "nexus-webchat-title" }, "Chat");
    this.state = el("p", { class: "state", role: "status" });
    this.log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-labelledby": "nexus-webchat-title" });
    this.input = el("textarea", { id: "nexus-webchat-input", rows: "2", maxlength: "5000", placeholder: "Write a message…",
      on: { keydown: (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.send(); } } } });
    this.file = el("input", { id: "nexus-webchat-file", type: "file", class: "visually-hidden", on: { change: () => this.upload() } });
    this.error = el("p", { class: "error", role: "alert" });
    this.panel = el("section", { class: "panel", role: "dialog", "aria-labelledby": "nexus-webchat-title", hidden: true,
      on: { keydown: (e) => { if (e.key === "Escape") this.toggle(false); } } },
      el("header", {}, this.heading,
        el("button", { type: "button", class: "close", "aria-label": "Close chat", on: { click: () => this.toggle(false) } }, "\u00D7")),
      this.state, this.log, this.error,
      el("form", { class: "compose", on: { submit: (e) => { e.preventDefault(); this.send(); } } },
        el("label", { for: "nexus-webchat-input", class: "visually-hidden" }, "Message"), this.input,
        el("label", { for: "nexus-webchat-file", class: "attach", title: "Send a file" },
          icon(CLIP), el("span", { class: "visually-hidden" }, "Send a file")), this.file,
        el("button", { type: "submit", class: "send" }, "Send")));
    root.append(this.panel, this.bubble);
    document.body.append(host);
    document.addEventListener("visibilitychange", () => this.markRead());
    this.connect().then(() => { if (this.options.open) this.toggle(true); });
  }

  async api(method, path, body, headers = {}) {
    const response = await fetch(`${this.options.base}/webchat${path}`, {
      method, body, headers: { ...headers, ...(this.session ? { Authorization: `Visitor ${this.session.token}` } : {}) },
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error(data?.error?.message || `the server answered ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  async connect() {
    const saved = localStorage.getItem(this.storeKey);
    try {
      this.session = null;
      this.session = await this.api("POST", "/api/session",
        JSON.stringify({ key: this.options.key, token: saved || undefined, user: this.options.user || undefined }),
        { "Content-Type": "application/json" });
    } catch (error) {
      this.setState(`The chat is unavailable: ${error.message}`);
      return;
    }
    localStorage.setItem(this.storeKey, this.session.token);
    this.panel.style.setProperty("--accent", this.session.color);
    this.bubble.style.setProperty("--accent", this.session.color);
    this.heading.textContent = this.session.title;
    this.log.replaceChildren();
    this.messages.clear();
    if (this.session.greeting) this.log.append(el("li", { class: "agent greeting" }, el("p", {}, this.session.greeting)));
    this.socket = this.io(`${this.options.base}${this.session.namespace}`, {
      auth: { token: this.session.token }, transports: ["websocket", "polling"],
    });
    this.socket.on("connect", () => { this.setState(""); this.refetch(); });
    this.socket.on("disconnect", (reason) => {
      this.setState("Reconnecting…");
      if (reason === "io server disconnect") this.socket.connect();
    });
    this.socket.on("connect_error", (error) => this.setState(`Reconnecting… (${error.message})`));
    this.socket.on("message", (message) => this.show(message));
  }

  async refetch() {
    // Pushes are at most once: after every (re)connection the conversation is loaded again.
    try {
      const { items } = await this.api("GET", `/${this.session.channel}/api/messages`);
      for (const message of items) this.show(message);
    } catch (error) {
      this.setState(`Could not load the conversation: ${error.message}`);
    }
  }

  setState(text) {
    this.state.textContent = text;
    this.state.hidden = !text;
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.bubble.setAttribute("aria-expanded", String(open));
    this.bubble.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    if (open) {
      this.input.focus();
      this.markRead();
    } else {
      this.bubble.focus();
    }
  }

  show(message) {
    const keys = [message.id, message.client_id].filter((k) => k != null);
    const existing = keys.map((k) => this.messages.get(k)).find(Boolean);
    const item = this.render(message);
    if (existing) existing.replaceWith(item);
    else this.log.append(item);
    for (const k of keys) this.messages.set(k, item);
    item.scrollIntoView({ block: "end" });
    if (message.from === "agent" && message.status !== "read") {
      if (message.status === "sent") this.socket.emit("delivered", { ids: [message.id] });
      this.unreadIds.add(message.id);
      this.markRead();
    }
  }

  render(message) {
    const files = message.attachments.map((file) => el("li", {},
      file.stored
        ? el("button", { type: "button", class: "file", on: { click: () => this.download(file) } }, `${file.name} (${size(file.size)})`)
        : el("span", { class: "file" }, `${file.name} (not available)`)));
    return el("li", { class: message.from, "data-id": message.id ?? "", "data-status": message.status ?? "" },
      message.text ? el("p", {}, message.text) : null,
      files.length ? el("ul", { class: "files" }, ...files) : null,
      el("span", { class: "meta" }, message.from === "agent" ? "Support" : message.pending ? "Sending…" : "You",
        message.at ? ` · ${new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` : ""));
  }

  markRead() {
    if (!this.unreadIds.size) { this.setBadge(0); return; }
    if (this.panel.hidden || document.visibilityState !== "visible") {
      this.setBadge(this.unreadIds.size);
      return;
    }
    this.socket.emit("read", { ids: [...this.unreadIds] });
    this.unreadIds.clear();
    this.setBadge(0);
  }

  setBadge(count) {
    this.badge.hidden = !count;
    this.badge.textContent = count ? String(count) : "";
    this.bubble.setAttribute("aria-label", `${this.panel.hidden ? "Open" : "Close"} chat${count ? `, ${count} unread` : ""}`);
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || !this.session) return;
    const id = clientId();
    this.show({ id: null, client_id: id, from: "visitor", text, attachments: [], pending: true });
    this.input.value = "";
    await this.deliver(id, () => this.api("POST", `/${this.session.channel}/api/messages`,
      JSON.stringify({ text, client_id: id, page: location.href }), { "Content-Type": "application/json" }));
  }

  async upload() {
    const file = this.file.files[0];
    this.file.value = "";
    if (!file || !this.session) return;
    if (file.size > this.session.max_upload_size) {
      this.error.textContent = `${file.name} is larger than ${size(this.session.max_upload_size)}.`;
      return;
    }
    const id = clientId();
    this.show({ id: null, client_id: id, from: "visitor", text: "", attachments: [{ name: file.name, size: file.size, stored: false }], pending: true });
    const query = new URLSearchParams({ name: file.name, client_id: id });
    await this.deliver(id, () => this.api("POST", `/${this.session.channel}/api/files?${query}`, file,
      { "Content-Type": file.type || "application/octet-stream" }));
  }

  async deliver(id, request) {
    // Retried with the same client id, so a message is stored once however often it is sent.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        this.error.textContent = "";
        this.show(await request());
        return;
      } catch (error) {
        if (error.status && error.status < 500 && error.status !== 429) {
          this.error.textContent = `Not sent: ${error.message}`;
          this.messages.get(id)?.classList.add("failed");
          return;
        }
        this.error.textContent = `Not sent yet (${error.message}); trying again…`;
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
      }
    }
    this.error.textContent = "Not sent. Check your connection and write again.";
    this.messages.get(id)?.classList.add("failed");
  }

  async download(file) {
    const response = await fetch(`${this.options.base}/webchat/${this.session.channel}/api/files/${file.id}`,
      { headers: { Authorization: `Visitor ${this.session.token}` } });
    if (!response.ok) { this.error.textContent = `Could not download ${file.name}.`; return; }
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: file.name });
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}
