// errata report tables: sort, filter and page through rows embedded as JSON.
// Data never becomes markup: every cell is written with textContent (or an <img> whose src is a
// data: URI checked below), so strings from the data cannot inject HTML.
"use strict";
(function () {

  function fmt(col, v, data) {
    if (v === null || v === undefined) return "";
    switch (col.type) {
      case "num": return typeof v === "number" ? v.toLocaleString("en-US", {maximumFractionDigits: col.digits === undefined ? 3 : col.digits}) : String(v);
      case "pct": return (100 * v).toFixed(col.digits === undefined ? 2 : col.digits) + " %";
      case "class": return v < 0 ? "—" : data.classes[v];
      case "classes": return v.map(function (c) { return data.classes[c]; }).join(", ");
      case "lookup": return data[col.lookup][v];
      case "image": return "";
      default: return String(v);
    }
  }

  function sortKey(col, v, data) {
    if (v === null || v === undefined) return null;
    if (col.type === "num" || col.type === "pct") return v;
    if (col.type === "image") return data.images && data.images[v] ? 0 : 1;
    return fmt(col, v, data).toLowerCase();
  }

  function cmp(a, b) {
    if (a === b) return 0;
    if (a === null) return 1;   // empty cells last in either direction
    if (b === null) return -1;
    return a < b ? -1 : 1;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function build(host) {
    var data = JSON.parse(document.getElementById(host.dataset.source).textContent);
    var PAGE = parseInt(host.dataset.page || "50", 10);
    var cols = data.columns;
    var rows = data.rows.map(function (r, i) {
      var text = cols.map(function (c, j) { return c.type === "image" ? "" : fmt(c, r[j], data); });
      return {cells: r, text: text, hay: text.join(" \u0001 ").toLowerCase(), order: i};
    });
    var state = {query: "", filters: {}, sort: null, dir: 1, page: 0, view: rows};

    var bar = el("div", "toolbar");
    var search = el("input", "search");
    search.type = "search";
    search.placeholder = "search " + (host.dataset.noun || "rows") + "…";
    search.setAttribute("aria-label", "search");
    bar.appendChild(search);
    cols.forEach(function (c, j) {
      if (!c.filter) return;
      var sel = el("select", "filter");
      sel.dataset.column = c.key;
      sel.setAttribute("aria-label", "filter " + c.title);
      sel.appendChild(new Option("all " + c.title, ""));
      var seen = {};
      rows.forEach(function (r) { seen[r.text[j]] = (seen[r.text[j]] || 0) + 1; });
      Object.keys(seen).sort().forEach(function (v) { sel.appendChild(new Option(v + " (" + seen[v] + ")", v)); });
      sel.addEventListener("change", function () { state.filters[j] = sel.value; state.page = 0; update(); });
      bar.appendChild(sel);
    });
    var count = el("span", "count");
    bar.appendChild(count);
    var pager = el("span", "pager");
    var prev = el("button", "prev", "‹ prev"), next = el("button", "next", "next ›");
    var pageInfo = el("span", "page");
    prev.type = next.type = "button";
    pager.appendChild(prev); pager.appendChild(pageInfo); pager.appendChild(next);
    bar.appendChild(pager);
    host.appendChild(bar);

    var tableEl = el("table", "data");
    var thead = el("thead"), tr = el("tr");
    var heads = cols.map(function (c, j) {
      var th = el("th", c.type === "num" || c.type === "pct" ? "n" : "");
      var b = el("button", "sort", c.title);
      b.type = "button";
      if (c.help) th.title = c.help;
      b.addEventListener("click", function () {
        if (state.sort === j) state.dir = -state.dir; else { state.sort = j; state.dir = (c.type === "num" || c.type === "pct") ? -1 : 1; }
        state.page = 0; update();
      });
      th.appendChild(b); tr.appendChild(th);
      return th;
    });
    thead.appendChild(tr); tableEl.appendChild(thead);
    var tbody = el("tbody");
    tableEl.appendChild(tbody);
    var wrap = el("div", "tablewrap");
    wrap.appendChild(tableEl);
    host.appendChild(wrap);

    search.addEventListener("input", function () { state.query = search.value.trim().toLowerCase(); state.page = 0; update(); });
    prev.addEventListener("click", function () { if (state.page > 0) { state.page--; draw(); } });
    next.addEventListener("click", function () { if ((state.page + 1) * PAGE < state.view.length) { state.page++; draw(); } });

    function update() {
      var q = state.query, f = state.filters;
      var view = rows.filter(function (r) {
        if (q && r.hay.indexOf(q) < 0) return false;
        for (var j in f) if (f[j] && r.text[j] !== f[j]) return false;
        return true;
      });
      if (state.sort !== null) {
        var j = state.sort, c = cols[j], d = state.dir;
        var keys = new Map(view.map(function (r) { return [r, sortKey(c, r.cells[j], data)]; }));
        view.sort(function (a, b) {
          var ka = keys.get(a), kb = keys.get(b);
          if (ka === null || kb === null) return cmp(ka, kb) || a.order - b.order;
          return d * cmp(ka, kb) || a.order - b.order;
        });
      }
      heads.forEach(function (th, k) {
        th.setAttribute("aria-sort", k === state.sort ? (state.dir > 0 ? "ascending" : "descending") : "none");
      });
      state.view = view;
      draw();
    }

    function draw() {
      var view = state.view, start = state.page * PAGE;
      var frag = document.createDocumentFragment();
      view.slice(start, start + PAGE).forEach(function (r) {
        var tr = el("tr");
        cols.forEach(function (c, j) {
          var td = el("td", c.type === "num" || c.type === "pct" ? "n" : (c.css || ""));
          var v = r.cells[j];
          if (c.type === "image") {
            var uri = data.images && data.images[v];
            if (uri && uri.lastIndexOf("data:image/jpeg;base64,", 0) === 0) {
              var img = el("img", "thumb");
              img.src = uri; img.alt = String(v); img.loading = "lazy";
              td.appendChild(img);
            }
          } else {
            td.textContent = r.text[j];
            if (c.type === "lookup" && c.swatch && data.colors) {
              var sw = el("span", "swatch");
              sw.style.background = data.colors[v] || "#777";
              td.insertBefore(sw, td.firstChild);
            }
          }
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      tbody.replaceChildren(frag);
      count.textContent = view.length.toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") + " " + (host.dataset.noun || "rows");
      var pages = Math.max(1, Math.ceil(view.length / PAGE));
      pageInfo.textContent = " page " + (state.page + 1) + " / " + pages + " ";
      prev.disabled = state.page === 0;
      next.disabled = state.page + 1 >= pages;
    }

    update();
    host.dataset.ready = "1";
  }

  function tabs(group) {
    var buttons = group.querySelectorAll("[data-tab]");
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        buttons.forEach(function (o) { o.setAttribute("aria-selected", o === b ? "true" : "false"); });
        document.querySelectorAll("[data-panel-of='" + group.id + "']").forEach(function (p) {
          p.hidden = p.dataset.panel !== b.dataset.tab;
        });
      });
    });
  }

  // example grids: a click shows the image at full size in a dialog (its src is the same
  // data: URI; the caption is the file name, written as text)
  var box = document.getElementById("lightbox");
  if (box) {
    document.querySelectorAll(".grid-image img").forEach(function (img) {
      img.parentNode.addEventListener("click", function () {
        if (img.src.indexOf("data:image/") !== 0) return;
        box.querySelector("img").src = img.src;
        box.querySelector("img").alt = img.alt;
        box.querySelector(".caption").textContent = img.alt;
        box.showModal();
      });
    });
    box.addEventListener("click", function () { box.close(); });
  }

  document.querySelectorAll(".etable").forEach(build);
  document.querySelectorAll(".tabs").forEach(tabs);
  document.documentElement.dataset.ready = "1";
})();
