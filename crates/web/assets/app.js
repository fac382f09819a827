// Nextflix page script: image fallbacks, the details modal (and its
// MovieDetailsViewedEvent), sideways rows, and search as you type.
// Catalog text is only ever written with textContent, never as HTML.
"use strict";

(function () {
  // --- Images: swap in the generated artwork when an image cannot load. -----
  function useFallback(img) {
    const fallback = img.dataset.fallback;
    if (!fallback || img.dataset.fellBack === "1") return;
    img.dataset.fellBack = "1";
    img.src = fallback;
  }
  // Capture phase: image errors do not bubble. Registered before any image loads.
  document.addEventListener("error", function (e) {
    const t = e.target;
    if (t && t.tagName === "IMG") useFallback(t);
  }, true);
  function sweepImages(root) {
    root.querySelectorAll("img[data-fallback]").forEach(function (img) {
      if (!img.getAttribute("src")) return;
      if (img.complete && img.naturalWidth === 0) useFallback(img);
    });
  }
  // An image CDN that never answers (no network) must not leave holes forever.
  function watchSlowImages(root, ms) {
    setTimeout(function () {
      root.querySelectorAll("img[data-fallback]").forEach(function (img) {
        if (!img.complete || img.naturalWidth === 0) {
          if (img.loading === "lazy" && !img.complete && !nearViewport(img)) return;
          useFallback(img);
        }
      });
    }, ms);
  }
  function nearViewport(el) {
    const r = el.getBoundingClientRect();
    return r.bottom > -200 && r.top < innerHeight + 200 && r.right > -200 && r.left < innerWidth + 600;
  }

  // --- Elements built from data (search results), text only. ---------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function img(image, alt, className) {
    const node = el("img", className);
    node.alt = alt;
    node.loading = "lazy";
    node.decoding = "async";
    node.dataset.fallback = image.fallback;
    node.src = image.src;
    return node;
  }
  function card(t) {
    const button = el("button", "card");
    button.type = "button";
    button.dataset.title = JSON.stringify(t);
    button.setAttribute("aria-label", t.title + ": details");
    const frame = el("span", "card__frame");
    frame.appendChild(img(t.backdrop, t.title, "card__img"));
    button.appendChild(frame);
    const info = el("span", "card__info");
    info.appendChild(el("span", "card__title", t.title));
    const meta = el("span", "card__meta");
    meta.appendChild(el("span", "match", t.match + "% match"));
    if (t.year) meta.appendChild(el("span", "card__year", t.year));
    info.appendChild(meta);
    const genres = el("span", "card__genres");
    (t.genres || []).slice(0, 3).forEach(function (g) { genres.appendChild(el("span", "genre", g)); });
    info.appendChild(genres);
    button.appendChild(info);
    return button;
  }

  // --- Details modal. -------------------------------------------------------
  let opener = null;
  function openDetails(t, from) {
    const modal = document.getElementById("details");
    if (!modal) return;
    opener = from || document.activeElement;
    const image = document.getElementById("details-img");
    image.dataset.fellBack = "";
    image.dataset.fallback = t.banner.fallback;
    image.alt = t.title;
    image.src = t.banner.src;
    document.getElementById("details-title").textContent = t.title;
    document.getElementById("details-match").textContent = t.match + "% Match";
    document.getElementById("details-year").textContent = t.year || "";
    document.getElementById("details-kind").textContent = t.mediaType === "tv" ? "Series" : "Film";
    document.getElementById("details-overview").textContent = t.overview || "No overview yet.";
    document.getElementById("details-genres").textContent = (t.genres || []).join(", ") || "—";
    modal.hidden = false;
    modal.dataset.mediaId = String(t.id);
    document.body.classList.add("modal-open");
    modal.querySelector(".modal__close").focus();
    watchSlowImages(modal, 4000);
    sendViewed(t.id);
  }
  function closeDetails() {
    const modal = document.getElementById("details");
    if (!modal || modal.hidden) return;
    modal.hidden = true;
    document.body.classList.remove("modal-open");
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  }
  // The MovieDetailsViewedEvent: the server builds and sends it.
  function sendViewed(id) {
    fetch("/api/analytics", {
      method: "POST",
      headers: { "content-type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ mediaId: id }),
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (event) { document.body.dataset.lastActivity = event.activityId; })
      .catch(function (err) { document.body.dataset.lastActivityError = String(err); });
  }
  function titleOf(node) {
    try { return JSON.parse(node.dataset.title); } catch (_) { return null; }
  }

  // --- Search as you type. --------------------------------------------------
  function setupSearch() {
    const input = document.getElementById("search-input");
    const results = document.getElementById("search-results");
    if (!input || !results) return;
    const content = document.getElementById("content");
    const onSearchPage = !content;
    const chips = Array.prototype.slice.call(document.querySelectorAll(".chip"));
    let type = (chips.find(function (c) { return c.getAttribute("aria-checked") === "true"; }) || { dataset: {} }).dataset.type || "";
    let timer = null;
    let seq = 0;

    function showHint(text) {
      results.replaceChildren(el("p", "search-hint", text));
    }
    function render(q, titles) {
      const parts = [];
      if (titles.length === 0) {
        parts.push(el("p", "search-hint", "No titles match \u201c" + q + "\u201d."));
      } else {
        parts.push(el("h2", "search-results__title", "Results for \u201c" + q + "\u201d"));
        const grid = el("div", "grid");
        titles.forEach(function (t) { grid.appendChild(card(t)); });
        parts.push(grid);
      }
      results.replaceChildren.apply(results, parts);
      watchSlowImages(results, 5000);
    }
    function run() {
      const q = input.value.trim();
      const url = q ? "/search?q=" + encodeURIComponent(q) + (type ? "&type=" + type : "") : (onSearchPage ? "/search" : "/browse");
      if (onSearchPage || q) history.replaceState(null, "", url);
      if (!q) {
        if (onSearchPage) {
          showHint("Type a title in the search box: results appear as you type.");
        } else {
          results.hidden = true;
          content.hidden = false;
          history.replaceState(null, "", "/browse");
        }
        return;
      }
      const mine = ++seq;
      results.setAttribute("aria-busy", "true");
      fetch("/api/search?q=" + encodeURIComponent(q) + (type ? "&type=" + type : ""), { credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (mine !== seq) return;
          if (!res.ok || res.body.type !== "Success") throw new Error(res.body.error || "search failed");
          if (content) { content.hidden = true; }
          results.hidden = false;
          render(q, res.body.data);
        })
        .catch(function () {
          if (mine !== seq) return;
          results.hidden = false;
          if (content) content.hidden = true;
          results.replaceChildren(el("p", "search-hint error", "Search is unavailable right now. Try again in a moment."));
        })
        .finally(function () { if (mine === seq) results.removeAttribute("aria-busy"); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
    input.form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearTimeout(timer);
      run();
    });
    chips.forEach(function (chip) {
      chip.addEventListener("click", function () {
        chips.forEach(function (c) { c.setAttribute("aria-checked", c === chip ? "true" : "false"); });
        type = chip.dataset.type || "";
        run();
      });
    });
    if (onSearchPage && !input.value) input.focus();
  }

  // --- Page wiring. ---------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    sweepImages(document);
    watchSlowImages(document, 5000);

    const nav = document.getElementById("nav");
    if (nav) {
      const onScroll = function () { nav.classList.toggle("nav--solid", scrollY > 40); };
      addEventListener("scroll", onScroll, { passive: true });
      onScroll();
    }

    document.addEventListener("click", function (e) {
      const target = e.target instanceof Element ? e.target : null;
      if (!target) return;
      if (target.closest("[data-close]")) { closeDetails(); return; }
      const arrow = target.closest(".row__arrow");
      if (arrow) {
        const track = arrow.parentElement.querySelector(".row__track");
        const dir = arrow.classList.contains("row__arrow--left") ? -1 : 1;
        track.scrollBy({ left: dir * track.clientWidth * 0.85, behavior: "smooth" });
        return;
      }
      const opener = target.closest("[data-title]");
      if (opener) {
        const t = titleOf(opener);
        if (t) openDetails(t, opener);
      }
    });

    document.addEventListener("keydown", function (e) {
      const modal = document.getElementById("details");
      if (!modal || modal.hidden) return;
      if (e.key === "Escape") { e.preventDefault(); closeDetails(); return; }
      if (e.key === "Tab") {
        // Keep focus inside the dialog while it is open.
        const focusable = modal.querySelectorAll("button, [href], input, [tabindex]:not([tabindex='-1'])");
        if (focusable.length === 0) return;
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
        else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
      }
    });

    setupSearch();
  });
})();
