// The course website's practice items, answers and progress, without a kernel.
// Nothing is scored here: every credit and feedback text is looked up in
// window.DIALECTIC_DATA, which grader/site.py computes with grader.scoring at build time.
// Answers are kept in this browser (localStorage) in responses.json's own format.
(function () {
  "use strict";

  var DATA = window.DIALECTIC_DATA;
  var STORE_KEY = "dialectic-responses";
  var SCORED = ["choose", "spectrum", "marker", "pattern"];
  var controllers = [];

  // -- the answer document (grader/answers.py's format) ---------------------------------------
  function emptyDocument() {
    return { schema_version: DATA.schema_version, answers: {}, reflections: {} };
  }

  function now() {
    return new Date().toISOString().replace(/\.\d+Z$/, "+00:00");
  }

  function readDocument() {
    var text = null;
    try { text = window.localStorage.getItem(STORE_KEY); } catch (e) { return emptyDocument(); }
    if (!text) { return emptyDocument(); }
    try {
      var document_ = JSON.parse(text);
      if (!documentProblem(document_)) { return document_; }
    } catch (e) { /* fall through: keep the damaged copy aside */ }
    window.localStorage.setItem(STORE_KEY + ".damaged-" + Date.now(), text);
    return emptyDocument();
  }

  function writeDocument(document_) {
    window.localStorage.setItem(STORE_KEY, JSON.stringify(document_));
    window.dispatchEvent(new CustomEvent("dialectic-answers-changed"));
  }

  function savedAnswer(itemId, task) {
    var entry = (readDocument().answers[itemId] || {})[task];
    return entry ? entry.value : null;
  }

  function record(itemId, task, value) {
    var document_ = readDocument();
    document_.answers[itemId] = document_.answers[itemId] || {};
    document_.answers[itemId][task] = { value: value, saved_at: now() };
    writeDocument(document_);
  }

  function isInt(v) { return typeof v === "number" && Math.floor(v) === v; }
  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function typeName(v) { return Array.isArray(v) ? "list" : v === null ? "null" : typeof v; }

  // What is wrong with an answer file, or null: the same checks as grader/answers.py.
  function documentProblem(d) {
    if (!isObject(d)) { return "the top level is a " + typeName(d) + ", not an object"; }
    if (d.schema_version !== DATA.schema_version) {
      if (isInt(d.schema_version) && d.schema_version > DATA.schema_version) {
        return "schema_version " + d.schema_version + " is newer than this website reads (" + DATA.schema_version + ")";
      }
      return "schema_version is " + JSON.stringify(d.schema_version) + ", expected " + DATA.schema_version;
    }
    var unknown = Object.keys(d).filter(function (k) { return ["schema_version", "answers", "reflections"].indexOf(k) < 0; });
    if (unknown.length) { return "unexpected top-level fields " + unknown.join(", "); }
    if (!isObject(d.answers) || !isObject(d.reflections)) { return "'answers' and 'reflections' must both be objects"; }
    var itemIds = Object.keys(d.answers);
    for (var i = 0; i < itemIds.length; i++) {
      var tasks = d.answers[itemIds[i]];
      if (!isObject(tasks)) { return "the entry for " + itemIds[i] + " is not an object"; }
      var names = Object.keys(tasks);
      for (var j = 0; j < names.length; j++) {
        var entry = tasks[names[j]];
        if (!isObject(entry) || Object.keys(entry).sort().join() !== "saved_at,value") {
          return "answer " + itemIds[i] + "/" + names[j] + " must have exactly 'value' and 'saved_at'";
        }
        var problem = valueProblem(names[j], entry.value);
        if (problem) { return "answer " + itemIds[i] + "/" + names[j] + " " + problem; }
      }
    }
    var prompts = Object.keys(d.reflections);
    for (var k = 0; k < prompts.length; k++) {
      var r = d.reflections[prompts[k]];
      if (!isObject(r) || typeof r.text !== "string") { return "reflection " + prompts[k] + " has no text"; }
    }
    return null;
  }

  function valueProblem(task, value) {
    if (DATA.answer_tasks.indexOf(task) < 0) { return "is for an unknown task " + JSON.stringify(task); }
    if (task === "choose" || task === "pattern") {
      return typeof value === "string" && value.length > 0 && value.length <= 100 ? null : "must be a short string";
    }
    if (task === "spectrum") {
      var ok = isObject(value) && Object.keys(value).every(function (k) {
        return isInt(value[k]) && value[k] >= -2 && value[k] <= 2;
      });
      return ok ? null : "must map response ids to whole numbers from -2 to 2";
    }
    if (task === "marker") {
      var fits = isObject(value) && Object.keys(value).sort().join() === "marker,rupture_type" &&
        typeof value.marker === "string" && typeof value.rupture_type === "string";
      return fits ? null : "must be {'rupture_type': ..., 'marker': ...}";
    }
    if (!isObject(value) || typeof value.text !== "string") { return "must be {'text': ..., 'self_rating': {...}}"; }
    if (value.text.length > DATA.max_text) { return "is longer than " + DATA.max_text + " characters"; }
    var ratings = value.self_rating === undefined ? {} : value.self_rating;
    if (!isObject(ratings) || !Object.keys(ratings).every(function (k) {
      return isInt(ratings[k]) && ratings[k] >= 1 && ratings[k] <= 5;
    })) { return "has self-ratings that are not whole numbers from 1 to 5"; }
    return null;
  }

  // Merge a loaded file into the browser's answers: for each answer, the newer one is kept.
  function merge(into, loaded) {
    var count = 0;
    Object.keys(loaded.answers).forEach(function (itemId) {
      into.answers[itemId] = into.answers[itemId] || {};
      Object.keys(loaded.answers[itemId]).forEach(function (task) {
        var mine = into.answers[itemId][task], theirs = loaded.answers[itemId][task];
        if (!mine || String(theirs.saved_at) >= String(mine.saved_at)) { into.answers[itemId][task] = theirs; count++; }
      });
    });
    Object.keys(loaded.reflections).forEach(function (id) {
      var mine = into.reflections[id], theirs = loaded.reflections[id];
      if (!mine || String(theirs.saved_at || "") >= String(mine.saved_at || "")) { into.reflections[id] = theirs; count++; }
    });
    return count;
  }

  // -- looking answers up in the precomputed tables ---------------------------------------------
  // An item's own table (in its page) has the feedback words; DATA.items has every practice
  // item's credits alone, for the progress page.
  function spectrumHalfPoints(placements, value, halfOf) {
    var half = 0, ids = Object.keys(value);
    for (var i = 0; i < ids.length; i++) {
      var placement = (placements[ids[i]] || {})[String(value[ids[i]])];
      if (placement === undefined) { return null; }
      half += halfOf(placement);
    }
    return half;
  }

  function lookup(table, task, value) {
    if (!table || !table[task] || value === null || value === undefined) { return null; }
    var t = table[task];
    if (task === "choose" || task === "pattern") { return t[value] || null; }
    if (task === "marker") { return t[value.rupture_type + "/" + value.marker] || null; }
    if (task === "spectrum") {
      var half = spectrumHalfPoints(t.placements, value, function (p) { return p.half_points; });
      if (half === null) { return null; }
      var total = t.totals[String(half)];
      var lines = Object.keys(value).map(function (rid) { return t.placements[rid][String(value[rid])].feedback; });
      return { credit: total.credit, percent: total.percent, correct: total.correct, lines: lines,
        remaining: Object.keys(t.placements).length - lines.length };
    }
    return null;
  }

  function creditOf(itemId, task, value) {
    var item = DATA.items[itemId];
    var t = item && item.tasks[task];
    if (!t || value === null || value === undefined) { return null; }
    if (task === "choose") { return t[value] ? t[value].credit : null; }
    if (task === "pattern") { return t[value] === undefined ? null : t[value]; }
    if (task === "marker") {
      var credit = isObject(value) ? t[value.rupture_type + "/" + value.marker] : undefined;
      return credit === undefined ? null : credit;
    }
    if (task === "spectrum") {
      if (!isObject(value)) { return null; }
      var half = spectrumHalfPoints(t.placements, value, function (p) { return p; });
      return half === null ? null : t.totals[String(half)];
    }
    return null;
  }

  // -- building feedback --------------------------------------------------------------------------
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function scoreBox(result, body, partial) {
    var box = el("div", { "class": "dialectic-feedback" + (result.correct ? " dialectic-good" : "") },
      [el("b", {}, [(partial ? "Score so far: " : "Score: ") + result.percent]), el("br")]);
    body.forEach(function (part) { box.appendChild(typeof part === "string" ? document.createTextNode(part) : part); });
    return box;
  }

  function linesWithBreaks(lines) {
    var parts = [];
    lines.forEach(function (line, i) { if (i) { parts.push(el("br")); } parts.push(line); });
    return parts;
  }

  // -- toggle buttons with radio-group semantics ------------------------------------------------------
  function toggleGroup(group, onChange) {
    var buttons = Array.prototype.slice.call(group.querySelectorAll("[role=radio]"));
    function focusable() {
      var checked = buttons.filter(function (b) { return b.getAttribute("aria-checked") === "true"; })[0];
      buttons.forEach(function (b) { b.tabIndex = -1; });
      (checked || buttons[0]).tabIndex = 0;
    }
    function set(value) {
      buttons.forEach(function (b) {
        var on = value !== null && b.getAttribute("data-value") === JSON.stringify(value);
        b.setAttribute("aria-checked", on ? "true" : "false");
        b.classList.toggle("mod-active", on);
      });
      focusable();
    }
    function choose(button) {
      set(JSON.parse(button.getAttribute("data-value")));
      button.focus();
      onChange();
    }
    buttons.forEach(function (b, i) {
      b.addEventListener("click", function () { if (!b.disabled) { choose(b); } });
      b.addEventListener("keydown", function (event) {
        var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        var target = null;
        if (step) { target = buttons[(i + step + buttons.length) % buttons.length]; }
        if (event.key === "Home") { target = buttons[0]; }
        if (event.key === "End") { target = buttons[buttons.length - 1]; }
        if (event.key === " " || event.key === "Enter") { target = b; }
        if (target) { event.preventDefault(); choose(target); }
      });
    });
    focusable();
    return {
      value: function () {
        var checked = buttons.filter(function (b) { return b.getAttribute("aria-checked") === "true"; })[0];
        return checked ? JSON.parse(checked.getAttribute("data-value")) : null;
      },
      set: set,
      disable: function (off) { buttons.forEach(function (b) { b.disabled = off; }); }
    };
  }

  // -- one controller per item kind ---------------------------------------------------------------------
  function itemController(root) {
    var itemId = root.getAttribute("data-item");
    var kind = root.getAttribute("data-kind");
    var status = root.querySelector(".dialectic-status");
    var area = root.querySelector(".dialectic-feedback-area");
    var table = JSON.parse(root.querySelector(".dialectic-feedback-table").textContent);
    var parts = {};

    function show(boxes) {
      area.textContent = "";
      boxes.forEach(function (b) { area.appendChild(b); });
    }
    function saved(task, value) {
      try { record(itemId, task, value); } catch (e) {
        status.textContent = "";
        status.appendChild(el("div", { "class": "dialectic-error", role: "alert" },
          [el("b", {}, ["Your answer could not be saved. "]), String(e.message || e)]));
        return;
      }
      status.textContent = "Saved in this browser.";
      feedback();
    }

    function choiceBox() {
      var radio = root.querySelector(".dialectic-choice input:checked");
      if (!radio) { return null; }
      var result = lookup(table, "choose", radio.value);
      return result ? scoreBox(result, [result.feedback]) : null;
    }

    function feedback() {
      var boxes = [];
      if (kind === "SpectrumItem") {
        var placed = spectrumAnswer();
        if (placed) {
          var result = lookup(table, "spectrum", placed);
          var lines = result.lines.slice();
          var body = linesWithBreaks(lines);
          if (result.remaining) { body.push(el("br")); body.push(el("i", {}, [result.remaining + " more to place."])); }
          boxes.push(scoreBox(result, body, result.remaining > 0));
        }
      } else if (kind === "ChoiceItem") {
        boxes.push(choiceBox());
      } else if (kind === "PatternItem") {
        var pattern = parts.pattern.value();
        if (pattern !== null) {
          var p = lookup(table, "pattern", pattern);
          boxes.push(scoreBox(p, [p.feedback + " ", el("small", {}, ["A state activated in a moment, not a diagnosis."])]));
        }
        boxes.push(choiceBox());
      } else if (kind === "MarkerItem") {
        var answer = markerAnswer();
        if (answer) {
          var m = lookup(table, "marker", answer);
          if (m) { boxes.push(scoreBox(m, [m.feedback])); }
        }
      } else if (kind === "WriteFirstItem") {
        if (root.querySelector("textarea").value.trim() && savedAnswer(itemId, "compose")) {
          var list = el("ul", {}, table.compose.candidates.map(function (c) {
            return el("li", {}, [el("b", {}, ["(" + c.letter + ") " + c.position]),
              (c.best ? " - the keyed best" : "") + ": ", el("i", {}, ["\u201c" + c.text + "\u201d"]),
              el("br"), c.rationale]);
          }));
          boxes.push(el("div", { "class": "dialectic-feedback" }, [el("b", {}, ["Now compare: the keyed candidates"]), list]));
        }
      } else if (kind === "ComposeItem") {
        var text = root.querySelector("textarea").value;
        var best = table.compose;
        if (text.trim() && savedAnswer(itemId, "compose")) {
          boxes.push(el("div", { "class": "dialectic-feedback" }, [
            el("b", {}, ["Compare with the keyed response"]),
            " (attuned (0), Carkhuff level " + best.carkhuff_level + "):",
            el("blockquote", {}, [best.best_text]), best.rationale]));
        }
      }
      show(boxes.filter(Boolean));
    }

    function spectrumAnswer() {
      var placed = {}, any = false;
      Object.keys(parts.placements).forEach(function (rid) {
        var v = parts.placements[rid].value();
        if (v !== null) { placed[rid] = v; any = true; }
      });
      return any ? placed : null;
    }

    function markerAnswer() {
      var kindValue = parts.rupture.value(), marker = parts.marker.value;
      return kindValue === null || !marker ? null : { rupture_type: kindValue, marker: marker };
    }

    function setMarkers(kindValue, chosen) {
      var select = parts.marker;
      select.textContent = "";
      select.appendChild(el("option", { value: "" }, [kindValue === null ? "" : "choose a marker"]));
      (DATA.markers[kindValue] || []).forEach(function (m) {
        select.appendChild(el("option", { value: m }, [m.replace(/_/g, " ")]));
      });
      select.value = kindValue === "none" ? "none" : (chosen || "");
      select.disabled = kindValue === null || kindValue === "none";
    }

    // wire the controls
    var radios = root.querySelectorAll(".dialectic-choice input[type=radio]");
    Array.prototype.forEach.call(radios, function (radio) {
      radio.addEventListener("change", function () { saved("choose", radio.value); });
    });
    if (kind === "SpectrumItem") {
      parts.placements = {};
      Array.prototype.forEach.call(root.querySelectorAll("[role=radiogroup]"), function (g) {
        parts.placements[g.getAttribute("data-name")] = toggleGroup(g, function () { saved("spectrum", spectrumAnswer()); });
      });
    }
    if (kind === "PatternItem") {
      parts.pattern = toggleGroup(root.querySelector("[role=radiogroup]"), function () { saved("pattern", parts.pattern.value()); });
    }
    if (kind === "MarkerItem") {
      parts.marker = root.querySelector("select");
      parts.rupture = toggleGroup(root.querySelector("[role=radiogroup]"), function () {
        setMarkers(parts.rupture.value(), null);
        var answer = markerAnswer();
        if (answer) { saved("marker", answer); } else { feedback(); }
      });
      parts.marker.addEventListener("change", function () {
        var answer = markerAnswer();
        if (answer) { saved("marker", answer); }
      });
    }
    if (kind === "ComposeItem" || kind === "WriteFirstItem") {
      parts.ratings = {};
      Array.prototype.forEach.call(root.querySelectorAll("[role=radiogroup]"), function (g) {
        var key = g.getAttribute("data-name").slice(itemId.length + 1);
        parts.ratings[key] = toggleGroup(g, function () {});
      });
      root.querySelector("button.dialectic-primary").addEventListener("click", function () {
        var text = root.querySelector("textarea").value;
        if (!text.trim()) { status.textContent = "Write a response before saving."; return; }
        var ratings = {};
        Object.keys(parts.ratings).forEach(function (k) {
          var v = parts.ratings[k].value();
          if (v !== null) { ratings[k] = v; }
        });
        saved("compose", { text: text, self_rating: ratings });
      });
    }

    function restore() {
      var any = false;
      var choose = savedAnswer(itemId, "choose");
      Array.prototype.forEach.call(radios, function (radio) { radio.checked = radio.value === choose; });
      if (choose && radios.length) { any = true; }
      if (kind === "SpectrumItem") {
        var placed = savedAnswer(itemId, "spectrum") || {};
        Object.keys(parts.placements).forEach(function (rid) {
          parts.placements[rid].set(placed[rid] === undefined ? null : placed[rid]);
          if (placed[rid] !== undefined) { any = true; }
        });
      }
      if (kind === "PatternItem") {
        var pattern = savedAnswer(itemId, "pattern");
        parts.pattern.set(pattern);
        if (pattern) { any = true; }
      }
      if (kind === "MarkerItem") {
        var marker = savedAnswer(itemId, "marker");
        parts.rupture.set(marker ? marker.rupture_type : null);
        setMarkers(marker ? marker.rupture_type : null, marker ? marker.marker : null);
        if (marker) { any = true; }
      }
      if (kind === "ComposeItem" || kind === "WriteFirstItem") {
        var composed = savedAnswer(itemId, "compose");
        root.querySelector("textarea").value = composed ? composed.text : "";
        Object.keys(parts.ratings).forEach(function (k) {
          var level = composed && composed.self_rating ? composed.self_rating[k] : undefined;
          parts.ratings[k].set(level === undefined ? null : level);
        });
        if (composed) { any = true; }
      }
      status.textContent = any ? "Your earlier answer is restored." : "";
      feedback();
    }
    return { restore: restore };
  }

  function reflectionController(root) {
    var promptId = root.getAttribute("data-prompt");
    var text = root.querySelector("textarea");
    var status = root.querySelector(".dialectic-status");
    root.querySelector("button").addEventListener("click", function () {
      var document_ = readDocument();
      document_.reflections[promptId] = { text: text.value, saved_at: now() };
      writeDocument(document_);
      status.textContent = "Saved in this browser.";
    });
    return {
      restore: function () {
        var entry = readDocument().reflections[promptId];
        text.value = entry ? entry.text : "";
        status.textContent = entry ? "Your earlier reflection is restored." : "";
      }
    };
  }

  // -- the progress page (grader/progress.py, computed from the looked-up credits) ------------------
  function practiceResults() {
    var answers = readDocument().answers, rows = [];
    Object.keys(answers).forEach(function (itemId) {
      var item = DATA.items[itemId];
      if (!item) { return; }  // an assessment item, or one withdrawn from the bank
      Object.keys(answers[itemId]).forEach(function (task) {
        if (SCORED.indexOf(task) < 0) { return; }
        var entry = answers[itemId][task];
        var credit = creditOf(itemId, task, entry.value);
        if (credit === null) { return; }  // an answer that no longer fits the item
        rows.push({ item_id: itemId, area: item.area, difficulty: item.difficulty, task: task,
          credit: credit, saved_at: String(entry.saved_at),
          chosen: task === "choose" ? item.tasks.choose[entry.value] : null });
      });
    });
    return rows.map(function (r, i) { return [r, i]; }).sort(function (a, b) {
      return a[0].saved_at < b[0].saved_at ? -1 : a[0].saved_at > b[0].saved_at ? 1 : a[1] - b[1];
    }).map(function (pair) { return pair[0]; });
  }

  function words(snake) { return snake.replace(/_/g, " "); }
  function pct(x) { return Math.round(x * 100) + "%"; }
  function mean(values) { return values.reduce(function (a, b) { return a + b; }, 0) / values.length; }

  function summaryTable(results) {
    var caption = el("caption", {}, ["Your practice results by area and difficulty: mean credit and answers"]);
    var head = el("tr", {}, [el("th", { scope: "col" }, ["area"])].concat(DATA.difficulties.map(function (d) {
      return el("th", { scope: "col" }, [d]);
    })));
    var table = el("table", { "class": "dialectic-summary" }, [caption, el("thead", {}, [head])]);
    var body = el("tbody");
    DATA.areas.forEach(function (area) {
      var row = el("tr", {}, [el("th", { scope: "row" }, [DATA.area_names[area] || words(area)])]);
      DATA.difficulties.forEach(function (d) {
        var cell = results.filter(function (r) { return r.area === area && r.difficulty === d; });
        if (!cell.length) { row.appendChild(el("td", { "class": "dialectic-empty" }, ["not yet"])); return; }
        var m = mean(cell.map(function (r) { return r.credit; }));
        var td = el("td", { "data-credit": String(m) }, [pct(m) + " · " + cell.length + " answered"]);
        td.style.background = "hsl(210, 70%, " + Math.round(97 - 22 * m) + "%)";
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    table.appendChild(body);
    return table;
  }

  function choicesMap(results) {
    var size = 300, pad = 40, step = (size - 2 * pad) / 4;
    var ns = "http://www.w3.org/2000/svg";
    function svg(tag, attributes, text) {
      var node = document.createElementNS(ns, tag);
      Object.keys(attributes).forEach(function (k) { node.setAttribute(k, attributes[k]); });
      if (text) { node.textContent = text; }
      return node;
    }
    var x = function (v) { return pad + (v - 1) * step; }, y = function (v) { return size - pad - (v - 1) * step; };
    var chosen = results.filter(function (r) { return r.chosen; });
    var summary = chosen.length ? chosen.length + " of your choices are plotted." : "You have not chosen a best response yet.";
    var picture = svg("svg", { viewBox: "0 0 " + size + " " + size, width: size, height: size, role: "img",
      "aria-label": "Your choices on the dialectic map: resonance across, regulation up. " + summary });
    var background = {};
    Object.keys(DATA.items).forEach(function (itemId) {
      var choose = DATA.items[itemId].tasks.choose;
      Object.keys(choose).forEach(function (rid) {
        var k = choose[rid].resonance + "," + choose[rid].regulation;
        background[k] = (background[k] || 0) + 1;
      });
    });
    Object.keys(background).forEach(function (k) {
      var v = k.split(",").map(Number);
      picture.appendChild(svg("circle", { cx: x(v[0]), cy: y(v[1]), r: 3 + Math.sqrt(background[k]) * 1.5, fill: "#cccccc", opacity: 0.6 }));
    });
    var colours = { "-2": "#7b3294", "-1": "#c2a5cf", "0": "#1a9641", "1": "#f4a582", "2": "#ca0020" };
    var mine = {};
    chosen.forEach(function (r) {
      var k = r.chosen.resonance + "," + r.chosen.regulation + "," + r.chosen.position;
      mine[k] = (mine[k] || 0) + 1;
    });
    Object.keys(mine).forEach(function (k) {
      var v = k.split(",").map(Number);
      picture.appendChild(svg("circle", { cx: x(v[0]) + v[2] * 3, cy: y(v[1]), r: 5 + Math.sqrt(mine[k]) * 3,
        fill: colours[String(v[2])], stroke: "black", opacity: 0.9 }));
    });
    for (var t = 1; t <= 5; t++) {
      picture.appendChild(svg("text", { x: x(t), y: size - pad + 18, "text-anchor": "middle", "font-size": 11 }, String(t)));
      picture.appendChild(svg("text", { x: pad - 14, y: y(t) + 4, "text-anchor": "middle", "font-size": 11 }, String(t)));
    }
    picture.appendChild(svg("text", { x: size / 2, y: size - 6, "text-anchor": "middle", "font-size": 12 }, "Resonance"));
    picture.appendChild(svg("text", { x: 12, y: size / 2, "text-anchor": "middle", "font-size": 12,
      transform: "rotate(-90 12 " + size / 2 + ")" }, "Regulation"));
    return el("figure", {}, [picture, el("figcaption", {}, ["Your choices (coloured by the position chosen: purple collusive, green attuned, red confrontational) over every keyed practice response (grey). " + summary])]);
  }

  function tendency(results) {
    var rules = DATA.progress;
    var positions = results.filter(function (r) { return r.chosen; }).map(function (r) { return r.chosen.position; });
    var n = positions.length;
    if (n < rules.min_choices) {
      return ["not enough data", "Answer at least " + rules.min_choices + " choose-the-best items to see a pattern (you have " + n + ")."];
    }
    var m = mean(positions);
    var label = m <= -rules.lean_threshold ? "leans collusive" : m >= rules.lean_threshold ? "leans confrontational" : "balanced";
    var signed = (m >= 0 ? "+" : "") + m.toFixed(2);
    return [label, "Across " + n + " choices your mean position is " + signed + ": " + rules.lean_notes[label] +
      " This is a training signal to bring to supervision, not a judgement of your attachment or character."];
  }

  function levelFor(areaResults) {
    var rules = DATA.progress, levels = DATA.difficulties;
    var level = levels[0], reason = "start at the beginner level";
    for (var i = 0; i < levels.length; i++) {
      var recent = areaResults.filter(function (r) { return r.difficulty === levels[i]; })
        .map(function (r) { return r.credit; }).slice(-rules.recent_attempts);
      if (recent.length === rules.recent_attempts && mean(recent) >= rules.move_up_credit) {
        if (i + 1 < levels.length) {
          level = levels[i + 1];
          reason = "your last " + rules.recent_attempts + " " + levels[i] + " answers averaged " + pct(mean(recent)) + ": move up";
        } else {
          level = levels[i]; reason = "consistent success at the advanced level: keep practising";
        }
      } else {
        if (recent.length) {
          reason = levels[i] + ": " + recent.length + " recent answers averaging " + pct(mean(recent)) +
            "; stay until " + rules.recent_attempts + " in a row average " + pct(rules.move_up_credit);
        }
        level = levels[i];
        break;
      }
    }
    return [level, reason];
  }

  function suggestions(results) {
    var answered = {};
    results.forEach(function (r) { answered[r.item_id] = true; });
    var chosen = [];
    DATA.areas.forEach(function (area) {
      var lr = levelFor(results.filter(function (r) { return r.area === area; }));
      var inArea = DATA.practice_order.filter(function (id) { return DATA.items[id].area === area && !answered[id]; });
      var candidates = inArea.filter(function (id) { return DATA.items[id].difficulty === lr[0]; });
      if (!candidates.length) {
        var later = DATA.difficulties.slice(DATA.difficulties.indexOf(lr[0]));
        candidates = [];
        later.forEach(function (d) {
          inArea.forEach(function (id) { if (DATA.items[id].difficulty === d) { candidates.push(id); } });
        });
      }
      if (candidates.length) { chosen.push({ area: area, item_id: candidates[0], why: lr[1] }); }
    });
    return chosen;
  }

  function progressPage() {
    var summary = document.querySelector("[data-part=summary]");
    if (!summary) { return; }
    var map = document.querySelector("[data-part=map]");
    var lean = document.querySelector("[data-part=tendency]");
    var next = document.querySelector("[data-part=next]");
    function refresh() {
      var results = practiceResults();
      summary.textContent = "";
      summary.appendChild(summaryTable(results));
      if (map) { map.textContent = ""; map.appendChild(choicesMap(results)); }
      if (lean) {
        var t = tendency(results);
        lean.textContent = "";
        lean.appendChild(el("p", {}, [el("b", {}, ["Your choices: " + t[0] + "."]), " " + t[1]]));
      }
    }
    // What to practise next is chosen once per visit (as the notebook's cell runs once), so an
    // item does not vanish the moment it is answered.
    function suggest() {
      if (!next) { return; }
      Array.prototype.forEach.call(document.querySelectorAll("[data-pool]"), function (p) { p.hidden = true; });
      next.textContent = "";
      var chosen = suggestions(practiceResults());
      if (!chosen.length) { next.appendChild(el("p", {}, ["You have answered every practice item. Well done."])); }
      chosen.forEach(function (s) {
        var holder = document.querySelector("[data-pool='" + s.item_id + "']");
        var heading = el("h3", {}, [words(s.area) + ": " + DATA.items[s.item_id].difficulty]);
        var why = el("p", {}, [el("small", {}, ["Why this one: " + s.why + "."])]);
        next.appendChild(heading);
        next.appendChild(why);
        if (holder) { holder.hidden = false; next.appendChild(holder); }
      });
    }
    window.addEventListener("dialectic-answers-changed", refresh);
    window.addEventListener("dialectic-answers-loaded", suggest);
    refresh();
    suggest();
  }

  // -- download and load -------------------------------------------------------------------------------
  function answerFiles() {
    var holder = document.querySelector("[data-part=files]");
    if (!holder) { return; }
    var message = el("div", { "class": "dialectic-status", role: "status", "aria-live": "polite" });
    var download = el("button", { type: "button", "class": "dialectic-button dialectic-primary" }, ["Download my answers"]);
    var input = el("input", { type: "file", id: "dialectic-load", accept: ".json,application/json", "class": "dialectic-file" });
    var label = el("label", { "for": "dialectic-load", "class": "dialectic-button" }, ["Load my answers"]);
    download.addEventListener("click", function () {
      var blob = new Blob([JSON.stringify(readDocument(), null, 1) + "\n"], { type: "application/json" });
      var link = el("a", { href: URL.createObjectURL(blob), download: "responses.json" });
      document.body.appendChild(link);
      link.click();
      link.remove();
      message.textContent = "Your answers were downloaded as responses.json.";
    });
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file) { return; }
      function refuse(problem) {
        message.textContent = "";
        message.appendChild(el("div", { "class": "dialectic-error", role: "alert" },
          [el("b", {}, [file.name + " was not loaded: "]), problem + ". Your answers in this browser are unchanged."]));
        input.value = "";
      }
      if (file.size > DATA.max_bytes) { refuse("it is " + file.size + " bytes, larger than any answer file should be"); return; }
      file.text().then(function (text) {
        var loaded;
        try { loaded = JSON.parse(text); } catch (e) { refuse("it is not valid JSON (" + e.message + ")"); return; }
        var problem = documentProblem(loaded);
        if (problem) { refuse("it is not an answer file this course can read: " + problem); return; }
        var document_ = readDocument();
        var count = merge(document_, loaded);
        writeDocument(document_);
        controllers.forEach(function (c) { c.restore(); });
        window.dispatchEvent(new CustomEvent("dialectic-answers-loaded"));
        message.textContent = "Loaded " + file.name + ": " + count + " answers and reflections taken from it (where yours were older or missing).";
        input.value = "";
      });
    });
    holder.appendChild(el("h2", {}, ["Your answers as a file"]));
    holder.appendChild(el("p", {}, ["Download your answers as responses.json to use them in the notebook course (put the file beside the course notebooks), or load a responses.json to continue here. A loaded file is checked first; for each item the newer answer is kept."]));
    holder.appendChild(el("div", { "class": "dialectic-row" }, [download, label, input]));
    holder.appendChild(message);
  }

  function start() {
    if (!DATA) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".dialectic-site-item"), function (root) {
      controllers.push(itemController(root));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".dialectic-site-reflection"), function (root) {
      controllers.push(reflectionController(root));
    });
    controllers.forEach(function (c) { c.restore(); });
    progressPage();
    answerFiles();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
