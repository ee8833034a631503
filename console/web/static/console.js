// rotator console: the live view and the Token OTP field. No build step.
"use strict";

async function post(path) {
  const r = await fetch(path, {method: "POST", headers: {"Accept": "application/json"}, credentials: "same-origin"});
  let body = {};
  try { body = await r.json(); } catch (e) {}
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// --- live view ---
function startLive(root) {
  const account = root.dataset.account;
  const img = document.getElementById("screen");
  const status = document.getElementById("live-status");
  const result = document.getElementById("live-result");
  let size = {w: 0, h: 0}, frames = 0, ended = false;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/api/live/" + encodeURIComponent(account));
  const send = m => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  ws.onopen = () => { status.textContent = "live"; };
  ws.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (m.type === "frame") {
      size = {w: m.w, h: m.h};
      root.dataset.w = String(m.w);
      root.dataset.h = String(m.h);
      img.src = "data:image/jpeg;base64," + m.data;
      frames++;
      root.dataset.frames = String(frames);
    } else if (m.type === "end") {
      ended = true;
      status.textContent = "ended: " + m.reason;
      root.classList.add("ended");
    }
  };
  ws.onclose = () => { if (!ended) status.textContent = "disconnected; reload to reconnect"; root.classList.add("ended"); };

  // Page coordinates from a point in the picture.
  const at = e => {
    const r = img.getBoundingClientRect();
    return {x: (e.clientX - r.left) / r.width * size.w, y: (e.clientY - r.top) / r.height * size.h};
  };
  img.addEventListener("mousedown", e => { e.preventDefault(); root.focus(); send({type: "mousedown", button: e.button, clicks: e.detail || 1, ...at(e)}); });
  img.addEventListener("mouseup", e => { e.preventDefault(); send({type: "mouseup", button: e.button, clicks: e.detail || 1, ...at(e)}); });
  let lastMove = 0;
  img.addEventListener("mousemove", e => {
    const now = Date.now();
    if (now - lastMove < 50) return;
    lastMove = now;
    send({type: "mousemove", ...at(e)});
  });
  img.addEventListener("wheel", e => { e.preventDefault(); send({type: "wheel", dx: e.deltaX, dy: e.deltaY, ...at(e)}); }, {passive: false});
  img.addEventListener("contextmenu", e => e.preventDefault());
  const special = new Set(["Enter", "Backspace", "Tab", "Escape", "Delete", "Home", "End", "PageUp", "PageDown",
    "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"]);
  root.addEventListener("keydown", e => {
    if (e.ctrlKey || e.metaKey || e.altKey) return; // paste arrives as a paste event
    if (special.has(e.key)) { e.preventDefault(); send({type: "key", key: e.key}); return; }
    if (e.key.length === 1) { e.preventDefault(); send({type: "text", text: e.key}); }
  });
  root.addEventListener("paste", e => {
    e.preventDefault();
    const t = (e.clipboardData || window.clipboardData).getData("text");
    if (t) send({type: "text", text: t});
  });

  const act = (id, path, confirmText) => {
    const b = document.getElementById(id);
    if (!b) return;
    b.addEventListener("click", async () => {
      if (confirmText && !window.confirm(confirmText)) return;
      b.disabled = true;
      try {
        const r = await post(path);
        result.textContent = r.result;
        result.className = "live-result ok";
      } catch (err) {
        result.textContent = err.message;
        result.className = "live-result error";
      } finally { b.disabled = false; }
    });
  };
  const base = "/api/flags/" + encodeURIComponent(account);
  act("resolve", base + "/resolve");
  act("abort", base + "/abort", "Abort this rotation? The account stays flagged until an operator clears it.");
}

// --- Token OTP ---
function startOTP(root) {
  const account = root.dataset.account;
  const code = document.getElementById("otp-code"), next = document.getElementById("otp-next");
  const left = document.getElementById("otp-left"), bar = document.getElementById("otp-bar");
  const show = document.getElementById("otp-show");
  let expires = 0, period = 30, timer = null;
  const fetchCodes = async () => {
    try {
      const r = await post("/api/accounts/" + encodeURIComponent(account) + "/otp");
      code.textContent = r.code;
      next.textContent = r.next;
      period = r.period_s;
      expires = Date.now() + r.remaining_ms;
    } catch (err) {
      code.textContent = "—";
      left.textContent = err.message;
    }
  };
  const tick = () => {
    const ms = expires - Date.now();
    if (ms <= 0) { fetchCodes(); return; }
    left.textContent = Math.ceil(ms / 1000) + "s";
    bar.style.width = (ms / (period * 1000) * 100) + "%";
  };
  show.addEventListener("click", async () => {
    show.disabled = true;
    await fetchCodes();
    if (!timer) timer = setInterval(tick, 250);
    tick();
    // Codes stop showing after five minutes; press again for more.
    setTimeout(() => { clearInterval(timer); timer = null; code.textContent = next.textContent = "······"; left.textContent = ""; show.disabled = false; }, 5 * 60 * 1000);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (live) startLive(live);
  const otp = document.getElementById("otp");
  if (otp) startOTP(otp);
  // Lists refresh themselves while nobody is typing.
  const page = document.body.dataset.page;
  if (page === "accounts" || page === "flags") setInterval(() => { if (!document.hidden) location.reload(); }, 10000);
});
