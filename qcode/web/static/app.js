// qcode serve: the review page and the lead's disagreement page.
// Every deciding key press becomes one JSON request with a key made here; the
// request waits in an outbox (kept in localStorage) until the server has
// committed it, and is sent again, with the same key, while the server cannot
// be reached. The next segment is shown only from the server's answer.
(function () {
  "use strict";

  const meta = (name) => {
    const el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  };
  const BASE = meta("qcode-base");
  const CSRF = meta("qcode-csrf");
  const OUTBOX_KEY = "qcode-outbox:" + BASE;
  const page = document.body.getAttribute("data-page");

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- the outbox -------------------------------------------------------------------
  let outbox = [];
  try { outbox = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]"); } catch (e) { outbox = []; }
  if (!Array.isArray(outbox)) outbox = [];
  document.body.setAttribute("data-pending", String(outbox.length));
  let sending = false;
  let delay = 500;
  let attempts = 0;
  let onReply = () => {};

  let acks = 0;

  function saveOutbox() {
    document.body.setAttribute("data-pending", String(outbox.length));
    try { localStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox)); } catch (e) { /* private mode: memory only */ }
  }

  function conn(text, kind) {
    const el = document.getElementById("conn");
    if (!el) return;
    if (!text) { el.hidden = true; el.textContent = ""; return; }
    el.hidden = false;
    el.className = "conn " + (kind || "");
    el.textContent = text;
  }

  function enqueue(path, body) {
    outbox.push({ path: path, body: body });
    saveOutbox();
    pump();
  }

  class Retry extends Error {}

  async function pump() {
    if (sending || outbox.length === 0) return;
    sending = true;
    const item = outbox[0];
    let reply = null;
    let status = 0;
    try {
      const response = await fetch(BASE + item.path, {
        method: "POST", cache: "no-store", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Qcode-Csrf": CSRF },
        body: JSON.stringify(item.body),
      });
      status = response.status;
      try { reply = await response.json(); } catch (e) { reply = null; }
      if (status >= 500 || status === 429 || reply === null) {
        throw new Retry((reply && reply.error) || ("the server answered " + status));
      }
    } catch (err) {
      attempts += 1;
      const why = err instanceof Retry ? err.message : "the server cannot be reached";
      const n = outbox.length;
      conn("Not saved yet: " + why + ". " + n + " decision" + (n === 1 ? " is" : "s are") +
           " kept in this page and sent again (try " + attempts + "). Do not close this tab.", "down");
      setTimeout(() => { sending = false; pump(); }, delay);
      delay = Math.min(delay * 2, 4000);
      return;
    }
    outbox.shift();
    saveOutbox();
    sending = false;
    delay = 500;
    if (attempts > 0) conn("Connected again: your decisions are saved.", "up");
    else conn("");
    attempts = 0;
    if (status >= 400) onReply(item, null, reply.error || ("error " + status));
    else onReply(item, reply, null);
    acks += 1;
    document.body.setAttribute("data-acks", String(acks));  // answered requests, for people and tests alike
    pump();
  }

  function busy() { return outbox.length > 0; }

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok || data === null) throw new Error((data && data.error) || ("the server answered " + response.status));
    return data;
  }

  // -- the review page ------------------------------------------------------------------
  function reviewPage() {
    const slot = document.getElementById("card-slot");
    const statusEl = document.getElementById("status");
    const help = document.getElementById("help");
    const search = document.getElementById("search");
    const list = document.getElementById("code-list");
    const filtersForm = document.getElementById("filters");
    const seen = [];
    let pendingNote = null; // {seg, text}
    let selected = -1;

    const card = () => document.getElementById("card");
    const seg = () => (card() ? card().getAttribute("data-seg") : "");
    const codes = () => JSON.parse(card().getAttribute("data-codes") || "[]");
    const lastPress = () => JSON.parse(card().getAttribute("data-last") || "[]");
    const cbVersion = () => card().getAttribute("data-cb");

    function say(text, kind) {
      statusEl.textContent = text;
      statusEl.className = "status " + (kind || "");
    }

    function filters() {
      const out = {};
      new FormData(filtersForm).forEach((value, name) => { if (value) out[name] = String(value); });
      return out;
    }

    function query(extra) {
      const params = new URLSearchParams(filters());
      Object.keys(extra || {}).forEach((k) => { if (extra[k]) params.set(k, extra[k]); });
      return params.toString();
    }

    function showCard(reply, remember) {
      const before = seg();
      if (remember && before && reply.segment_id !== before) seen.push(before);
      slot.innerHTML = reply.html;
      const now = seg();
      if (pendingNote && pendingNote.seg === now) noteBox().value = pendingNote.text;
      history.replaceState(null, "", BASE + "?" + query({ seg: now }));
    }

    function noteBox() { return document.getElementById("note"); }

    function noteFor(segment) {
      const box = noteBox();
      const typed = box ? box.value.trim() : "";
      if (typed) return typed;
      return pendingNote && pendingNote.seg === segment ? pendingNote.text : null;
    }

    function name(code) {
      const li = list.querySelector('li[data-code="' + CSS.escape(code) + '"] .name');
      return li ? li.textContent : code;
    }

    function send(path, body, label) {
      if (busy()) { say("Still saving your last decision: wait until it is saved.", "warn"); return; }
      body.key = newKey();
      body.codebook_version = cbVersion();
      body.filters = filters();
      say(label + " — saving…", "saving");
      enqueue(path, Object.assign({}, body, { _label: label }));
    }

    onReply = (item, reply, error) => {
      const label = item.body._label || "decision";
      if (error) { say("NOT SAVED: " + error, "error"); return; }
      if (item.path === "api/undo") {
        pendingNote = null;
        showCard(reply, false);
        if (reply.note) { pendingNote = { seg: seg(), text: reply.note }; noteBox().value = reply.note; }
        const what = (reply.undone || []).map((u) => u.verdict + (u.code_id ? " " + name(u.code_id) : "")).join(", ");
        say("Undone: " + (what || "nothing left to undo") + (reply.note ? " (your note is back in the note box)" : ""), "ok");
        return;
      }
      if (pendingNote && pendingNote.seg === item.body.segment_id) pendingNote = null;
      showCard(reply, true);
      say(label + " — saved.", "ok");
    };

    function decide(action, extra, label) {
      const s = seg();
      if (!s) { say("Nothing to decide here: every segment in this view is reviewed.", "warn"); return; }
      const body = Object.assign({ action: action, segment_id: s, note: noteFor(s) }, extra || {});
      send("api/decide", body, label);
    }

    function accept(n, stay) {
      const list = codes();
      if (n < 1 || n > list.length) { say("There is no suggestion " + n + " here (there are " + list.length + ").", "warn"); return; }
      decide("accept", { code_id: list[n - 1], stay: stay }, "Accepted " + name(list[n - 1]) + (stay ? " (staying here)" : ""));
    }

    function undo() {
      const target = lastPress();
      if (!target.length) { say("Nothing to undo.", "warn"); return; }
      send("api/undo", { target: target }, "Undo");
    }

    async function go(where) {
      if (busy()) { say("Still saving your last decision: wait until it is saved.", "warn"); return; }
      const s = seg();
      if (where === "next" && s && noteFor(s)) {  // a note is never dropped: it is kept with a skip
        decide("skip", {}, "Note kept with a skip");
        return;
      }
      let url;
      while (where === "prev" && seen.length && seen[seen.length - 1] === s) seen.pop();
      if (where === "prev" && seen.length) url = BASE + "card?" + query({ seg: seen.pop() });
      else url = BASE + "card?" + query({ seg: s, go: where });
      try {
        const reply = await getJSON(url);
        showCard(reply, where === "next");
        say("");
        document.body.setAttribute("data-loads", String(Number(document.body.getAttribute("data-loads") || 0) + 1));
      } catch (err) {
        say("Could not load the segment: " + err.message + ". Press the key again.", "error");
      }
    }

    function keepNote() {
      const box = noteBox();
      const text = box.value.trim();
      pendingNote = text ? { seg: seg(), text: text } : null;
      box.blur();
      say(text ? "Note kept: it is saved with your next decision on this segment." : "Note cleared.", "ok");
    }

    // codebook search
    function matches() { return Array.from(list.children).filter((li) => !li.hidden); }
    function highlight(i) {
      const shown = matches();
      shown.forEach((li) => li.classList.remove("selected"));
      selected = shown.length ? Math.max(0, Math.min(i, shown.length - 1)) : -1;
      if (selected >= 0) { shown[selected].classList.add("selected"); shown[selected].scrollIntoView({ block: "nearest" }); }
    }
    function filterCodes() {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.from(list.children).forEach((li) => {
        const text = li.getAttribute("data-text");
        li.hidden = !words.every((w) => text.includes(w));
      });
      list.classList.toggle("open", document.activeElement === search || search.value !== "");
      highlight(0);
    }
    function addCode(li) {
      if (!li) return;
      const code = li.getAttribute("data-code");
      search.value = "";
      filterCodes();
      search.blur();
      list.classList.remove("open");
      decide("accept", { code_id: code, stay: true }, "Added " + name(code));
    }
    search.addEventListener("input", filterCodes);
    search.addEventListener("focus", () => { list.classList.add("open"); filterCodes(); });
    search.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(selected + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(selected - 1); }
      else if (e.key === "Enter") { e.preventDefault(); addCode(matches()[selected]); }
      else if (e.key === "Escape") { e.preventDefault(); search.value = ""; filterCodes(); search.blur(); list.classList.remove("open"); }
    });
    list.addEventListener("click", (e) => {
      const li = e.target.closest("li");
      if (li) addCode(li);
    });

    function toggleHelp(show) {
      help.hidden = show === undefined ? !help.hidden : !show;
    }
    document.getElementById("help-button").addEventListener("click", () => toggleHelp());
    document.getElementById("help-close").addEventListener("click", () => toggleHelp(false));

    filtersForm.addEventListener("change", () => {
      if (busy()) { say("Still saving your last decision: wait until it is saved.", "warn"); return; }
      window.location.assign(BASE + "?" + query({}));
    });

    slot.addEventListener("click", (e) => {
      const button = e.target.closest("button");
      if (!button) return;
      const n = Number(button.getAttribute("data-n"));
      if (button.classList.contains("accept")) accept(n, false);
      else if (button.classList.contains("stay")) accept(n, true);
      const act = button.getAttribute("data-act");
      if (act === "top") accept(1, false);
      else if (act === "reject") decide("reject", {}, "Rejected the suggestions");
      else if (act === "skip") decide("skip", {}, "Skipped");
      else if (act === "nocode") decide("no_code", {}, "No code");
      else if (act === "back") go("prev");
      else if (act === "next") go("next");
      else if (act === "undo") undo();
    });

    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      const target = e.target;
      if (target === noteBox()) {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); keepNote(); }
        else if (e.key === "Escape") { e.preventDefault(); keepNote(); }
        return;
      }
      if (target === search) return;
      if (target && (target.tagName === "SELECT" || target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
      if (!help.hidden && (e.key === "Escape" || e.key === "?")) { e.preventDefault(); toggleHelp(false); return; }
      const digit = /^(?:Digit|Numpad)([1-9])$/.exec(e.code || "");
      if (digit) { e.preventDefault(); accept(Number(digit[1]), e.shiftKey); return; }
      if (/^(?:Digit|Numpad)0$/.test(e.code || "") || e.key === "0") { e.preventDefault(); decide("no_code", {}, "No code"); return; }
      switch (e.key) {
        case "a": e.preventDefault(); accept(1, false); break;
        case "x": case "r": e.preventDefault(); decide("reject", {}, "Rejected the suggestions"); break;
        case " ": e.preventDefault(); decide("skip", {}, "Skipped"); break;
        case "Backspace": case "u": e.preventDefault(); undo(); break;
        case "ArrowLeft": e.preventDefault(); go("prev"); break;
        case "Enter":
          if (target && target.tagName === "BUTTON") return;
          e.preventDefault(); go("next"); break;
        case "n": e.preventDefault(); if (noteBox()) noteBox().focus(); break;
        case "c": e.preventDefault(); search.focus(); break;
        case "?": e.preventDefault(); toggleHelp(); break;
        case "Escape": toggleHelp(false); break;
        default: break;
      }
    });

    filterCodes();
    list.classList.remove("open");
    if (busy()) say("Sending the decisions this page kept while the server was away…", "saving");
    pump();
  }

  // -- the lead's disagreement page ---------------------------------------------------------
  function disagreementPage() {
    const cb = meta("qcode-cb");
    onReply = (item, reply, error) => {
      const form = document.querySelector('article[data-seg="' + CSS.escape(item.body.segment_id) + '"] form');
      const out = form ? form.querySelector(".result") : null;
      if (!out) return;
      out.textContent = error ? "NOT SAVED: " + error : "saved: " + (reply.accepted.join(", ") || "(no code)");
      out.className = "result " + (error ? "error" : "ok");
    };
    document.querySelectorAll("form.adjudicate").forEach((form) => {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const segment = form.closest("article").getAttribute("data-seg");
        const chosen = Array.from(form.querySelectorAll('input[name="code"]:checked')).map((i) => i.value);
        const other = form.querySelector('select[name="other"]').value;
        if (other && !chosen.includes(other)) chosen.push(other);
        form.querySelector(".result").textContent = "saving…";
        enqueue("api/adjudicate", { key: newKey(), segment_id: segment, codes: chosen, codebook_version: cb });
      });
    });
    pump();
  }

  // -- the lead's memos and candidate codes (issues 19 and 20) ---------------------------------
  // Each form's request goes through the outbox like a decision; once saved, the page is loaded
  // again so that what it shows is what the server has (its text escaped by the templates).
  function leadPage() {
    const cb = meta("qcode-cb");
    const forms = {};
    onReply = (item, reply, error) => {
      const form = forms[item.body.key];
      delete forms[item.body.key];
      const out = form ? form.querySelector(".result") : null;
      if (error) {
        if (out) { out.textContent = "NOT SAVED: " + error; out.className = "result error"; }
        return;
      }
      if (out) { out.textContent = "saved"; out.className = "result ok"; }
      window.location.reload();
    };
    function submit(form, path, body) {
      if (busy()) { form.querySelector(".result").textContent = "still saving the last request: wait"; return; }
      body.key = newKey();
      forms[body.key] = form;
      form.querySelector(".result").textContent = "saving…";
      form.querySelector(".result").className = "result";
      enqueue(path, body);
    }
    const adding = document.getElementById("add-memo");
    adding.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = new FormData(adding);
      submit(adding, "api/add-memo", { kind: String(data.get("kind")), target: String(data.get("target") || ""),
                                       text: String(data.get("text") || "") });
    });
    document.querySelectorAll("form.edit-memo").forEach((form) => {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const memo = form.closest("article");
        submit(form, "api/edit-memo", { memo_id: Number(memo.getAttribute("data-memo")),
                                        version: Number(memo.getAttribute("data-version")),
                                        text: String(new FormData(form).get("text") || "") });
      });
    });
    document.querySelectorAll("form.make-code").forEach((form) => {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const data = new FormData(form);
        submit(form, "api/make-code", { candidate: form.closest("article").getAttribute("data-cand"),
                                        label: String(data.get("label") || ""), definition: String(data.get("definition") || ""),
                                        code_id: String(data.get("code_id") || "") || null, codebook_version: cb });
      });
    });
    pump();
  }

  if (page === "review") reviewPage();
  else if (page === "disagreements") disagreementPage();
  else if (page === "lead") leadPage();
})();
