// The REST API client: bearer token, JSON, and errors read defensively (error.message first).
const TOKEN = "nexus.token";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const api = {
  token: localStorage.getItem(TOKEN),
  onUnauthorized: () => {},

  setToken(token) {
    this.token = token;
    if (token) localStorage.setItem(TOKEN, token);
    else localStorage.removeItem(TOKEN);
  },

  async request(method, path, body, { raw = false } = {}) {
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new ApiError(0, "network", `Nexus cannot be reached (${error.message})`);
    }
    if (response.status === 401 && this.token && path !== "/auth/login") this.onUnauthorized();
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      const error = data && data.error ? data.error : {};
      throw new ApiError(response.status, error.code || "http_error", error.message || `Nexus answered ${response.status}`, error.details);
    }
    if (raw) return response;
    return response.status === 204 ? null : response.json();
  },

  get(path) { return this.request("GET", path); },
  post(path, body) { return this.request("POST", path, body); },
  patch(path, body) { return this.request("PATCH", path, body); },
};
