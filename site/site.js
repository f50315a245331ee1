// The course website's script (course_tools/site.py copies it to assets/site.js): typeset
// the math with KaTeX and answer the search box from this edition's search-index.js.
// Nothing is fetched: the index is a script next to the page, so search works from file://.
(function () {
  "use strict";

  var main = document.querySelector(".site-main");
  if (main && window.renderMathInElement) {
    renderMathInElement(main, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "$", right: "$", display: false },
        { left: "\\(", right: "\\)", display: false },
      ],
      ignoredClasses: ["jp-OutputArea", "jp-InputArea-editor", "highlight"],
      throwOnError: true,
      // A formula KaTeX cannot read stays as raw TeX: say so where the browser tests see it.
      errorCallback: function (message, error) {
        console.error("KaTeX could not typeset a formula: " + message + " " + error);
      },
    });
  }

  var input = document.getElementById("site-search");
  var list = document.getElementById("site-search-results");
  var entries = window.COURSE_SEARCH || [];
  if (!input || !list) return;

  function words(text) {
    return text.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
  }

  // Every query word must appear in the entry; a hit in the title counts more, and a
  // glossary entry whose term the query matches comes first.
  function score(entry, query) {
    var title = entry.t.toLowerCase();
    var text = entry.x.toLowerCase();
    var total = 0;
    for (var i = 0; i < query.length; i++) {
      var inTitle = title.indexOf(query[i]) >= 0;
      if (!inTitle && text.indexOf(query[i]) < 0) return 0;
      total += inTitle ? 3 : 1;
    }
    return total + (entry.k === "glossary" && total >= 3 * query.length ? 2 : 0);
  }

  function snippet(text, word) {
    var at = text.toLowerCase().indexOf(word);
    var start = Math.max(0, at - 40);
    var piece = (start > 0 ? "…" : "") + text.slice(start, start + 140);
    return piece + (start + 140 < text.length ? "…" : "");
  }

  function show(query) {
    list.textContent = "";
    var q = words(query);
    if (q.length === 0) { list.hidden = true; return; }
    var hits = entries
      .map(function (entry, index) { return { entry: entry, score: score(entry, q), index: index }; })
      .filter(function (hit) { return hit.score > 0; })
      .sort(function (a, b) { return b.score - a.score || a.index - b.index; })
      .slice(0, 15);
    if (hits.length === 0) {
      var none = document.createElement("li");
      none.className = "site-no-results";
      none.textContent = input.dataset.noResults;
      list.appendChild(none);
    }
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = hit.entry.u;
      var title = document.createElement("strong");
      title.textContent = hit.entry.t;
      var where = document.createElement("span");
      where.className = "site-hit-where";
      where.textContent = hit.entry.p;
      var text = document.createElement("span");
      text.className = "site-hit-text";
      text.textContent = snippet(hit.entry.x, q[0]);
      link.append(title, where, text);
      item.appendChild(link);
      list.appendChild(item);
    });
    list.hidden = false;
  }

  input.addEventListener("input", function () { show(input.value); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      var first = list.querySelector("a");
      if (first) window.location.href = first.href;
    } else if (event.key === "Escape") {
      input.value = "";
      show("");
    }
  });
})();
