// Keyboard shortcuts for the review page; the forms work without this script.
(function () {
  "use strict";
  const ANSWERS = { c: "correct", w: "wrong", u: "unclear", d: "dont_know" };
  let cur = 0;
  function rows() { return Array.from(document.querySelectorAll("tr.cand")); }
  function focusRow(i) {
    const r = rows();
    if (!r.length) return;
    cur = Math.max(0, Math.min(r.length - 1, i));
    r.forEach((row, j) => row.classList.toggle("current", j === cur));
    r[cur].scrollIntoView({ block: "nearest" });
  }
  function answer(value) {
    const r = rows()[cur];
    if (!r) return;
    const input = r.querySelector('input[value="' + value + '"]');
    if (input) input.checked = true;
    focusRow(cur + 1);
  }
  function submit() {
    const form = document.getElementById("answer-form");
    if (form) form.requestSubmit();
  }
  // the lease heartbeat: while the item page is open and visible, renew the reservation
  const HEARTBEAT_MS = 60 * 1000;
  function heartbeat() {
    const form = document.getElementById("answer-form");
    if (!form || !form.dataset.lease || document.visibilityState !== "visible") return;
    const body = new URLSearchParams();
    body.set("csrf_token", form.querySelector('input[name="csrf_token"]').value);
    fetch(form.dataset.lease, { method: "POST", body: body, credentials: "same-origin" })
      .then((r) => {
        const note = document.getElementById("lease-note");
        if (r.status === 409 && note) {
          note.textContent = "Your reservation of this image has lapsed and it may have been "
            + "given to someone else; saving may be refused.";
          note.classList.add("error");
        }
      })
      .catch(() => {});
  }
  document.addEventListener("DOMContentLoaded", () => {
    focusRow(0);
    if (document.getElementById("answer-form")) setInterval(heartbeat, HEARTBEAT_MS);
    const img = document.getElementById("picture");
    if (img) img.addEventListener("click", () => img.classList.toggle("zoomed"));
    const tree = document.getElementById("hierarchy");
    if (tree) tree.addEventListener("toggle", () => {
      const box = document.getElementById("hierarchy-tree");
      if (!tree.open || box.dataset.loaded) return;
      fetch(tree.dataset.src, { credentials: "same-origin" }).then((r) => r.text()).then((html) => {
        box.innerHTML = html;  // server-rendered and escaped, same origin
        box.dataset.loaded = "1";
      });
    });
    document.addEventListener("click", (e) => {
      const leaf = e.target.closest && e.target.closest("button.leaf");
      const input = document.getElementById("class-search");
      if (!leaf || !input) return;
      input.value = leaf.dataset.option;
      input.focus();
    });
    const missing = document.querySelector("tr.cand.missing");
    if (missing) focusRow(rows().indexOf(missing));
  });
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing = t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type === "text")
      || (t.tagName === "INPUT" && t.type === "password") || t.tagName === "SELECT");
    if (typing) {
      if (e.key === "Escape") t.blur();
      return;  // Enter inside a text field submits its form natively
    }
    const cont = document.getElementById("continue");
    if (cont && e.key === "Enter") { e.preventDefault(); cont.click(); return; }
    // home page: 1-9 (or Enter for the first) opens a queue
    const starts = Array.from(document.querySelectorAll("a.start-queue"));
    if (starts.length && !document.getElementById("answer-form")) {
      const n = e.key === "Enter" ? 1 : (/^[1-9]$/.test(e.key) ? Number(e.key) : 0);
      if (n && starts[n - 1]) { e.preventDefault(); starts[n - 1].click(); }
      return;
    }
    if (!document.getElementById("answer-form")) return;
    const k = e.key;
    if (k in ANSWERS) { e.preventDefault(); answer(ANSWERS[k]); }
    else if (k === "j" || k === "ArrowDown") { e.preventDefault(); focusRow(cur + 1); }
    else if (k === "k" || k === "ArrowUp") { e.preventDefault(); focusRow(cur - 1); }
    else if (/^[1-9]$/.test(k)) { e.preventDefault(); focusRow(Number(k) - 1); }
    else if (k === "p") { e.preventDefault(); const p = document.getElementById("problematic"); p.checked = !p.checked; }
    else if (k === "n") { e.preventDefault(); document.getElementById("note").focus(); }
    else if (k === "/") { const s = document.getElementById("class-search"); if (s) { e.preventDefault(); s.focus(); } }
    else if (k === "s") { const b = document.getElementById("skip"); if (b) { e.preventDefault(); b.click(); } }
    else if (k === "h") { const t = document.getElementById("hierarchy"); if (t) { e.preventDefault(); t.open = !t.open; } }
    else if (k === "z") { const img = document.getElementById("picture"); if (img) { e.preventDefault(); img.classList.toggle("zoomed"); } }
    else if (k === "b") { const b = document.getElementById("previous"); if (b) { e.preventDefault(); b.click(); } }
    else if (k === "Enter") { e.preventDefault(); submit(); }
  });
})();
