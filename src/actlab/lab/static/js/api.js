// HTTP helpers: every call goes to this server only (same origin), JSON in and out.
export class ApiError extends Error {
  constructor(message, field = "") { super(message); this.field = field; }
}

export async function getJSON(path, params = {}) {
  const q = new URLSearchParams(params).toString();
  const res = await fetch(q ? `${path}?${q}` : path);
  const body = await res.json();
  if (!res.ok) throw new ApiError(body.error || res.statusText, body.field || "");
  return body;
}

export async function postJSON(path, data) {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify(data) });
  const body = await res.json();
  if (!res.ok) throw new ApiError(body.error || res.statusText, body.field || "");
  return body;
}

export async function postText(path, text, params = {}) {
  const q = new URLSearchParams(params).toString();
  const res = await fetch(`${path}?${q}`, { method: "POST", headers: { "content-type": "text/csv" }, body: text });
  const body = await res.json();
  if (!res.ok) throw new ApiError(body.error || res.statusText, body.field || "");
  return body;
}

// Plotly loads with `defer` before the modules run; this waits for it in any case.
export function plotly() {
  return new Promise((resolve) => {
    const check = () => (window.Plotly ? resolve(window.Plotly) : setTimeout(check, 20));
    check();
  });
}
