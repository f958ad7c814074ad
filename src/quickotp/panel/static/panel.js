/*
 * QuickOTP panel: small enhancements over pages that work without JavaScript.
 * Copy buttons, confirmations, the pattern's live preview (rendered by the server), the
 * Gregorian day beside a Jalali date field as one types, and the dashboard's charts
 * (Chart.js, fed from a JSON data block; the tables stay for no-JS).
 */
"use strict";

(function () {
  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          var label = button.textContent;
          button.textContent = button.getAttribute("data-copied") || label;
          setTimeout(function () { button.textContent = label; }, 1800);
        });
      });
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function livePreview() {
    var form = document.querySelector("form[data-preview]");
    if (!form) return;
    var target = document.getElementById("preview");
    var button = form.querySelector("[name=preview_only]");
    if (button) button.hidden = true;
    var timer = null;
    var latest = 0;
    function refresh() {
      var params = new URLSearchParams();
      params.set("text", form.elements.text.value);
      params.set("is_otp", form.elements.is_otp.checked ? "1" : "");
      params.set("code_length", form.elements.code_length.value);
      var ticket = ++latest;
      fetch(form.getAttribute("data-preview") + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "Accept": "text/html" },
      })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html !== null && ticket === latest) target.innerHTML = html;
        });
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    });
    refresh();
  }

  // The Gregorian day beside each Jalali date field (the server writes it on every page; this
  // keeps it up to date while one types). The browser's own Persian calendar (Intl, ICU) is
  // the converter: a Jalali day is found by formatting the few Gregorian days it can be.
  var DAY = /^\s*(\d{4})\s*[-\/]\s*(\d{1,2})\s*[-\/]\s*(\d{1,2})\s*$/;
  var MS_A_DAY = 86400000;
  var persianCalendar = null;

  function latinDigits(text) {
    return text.replace(/[\u06f0-\u06f9]/g, function (d) { return String(d.charCodeAt(0) - 0x6f0); })
      .replace(/[\u0660-\u0669]/g, function (d) { return String(d.charCodeAt(0) - 0x660); });
  }

  function persianDigits(text) {
    return text.replace(/[0-9]/g, function (d) { return String.fromCharCode(0x6f0 + Number(d)); });
  }

  function jalaliOf(ms) {
    persianCalendar = persianCalendar || new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", {
      timeZone: "UTC", year: "numeric", month: "numeric", day: "numeric",
    });
    var parts = {};
    persianCalendar.formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return [parseInt(parts.year, 10), parseInt(parts.month, 10), parseInt(parts.day, 10)];
  }

  // The Gregorian day (as a UTC Date) of a day in either calendar, or null when it is none.
  function gregorianDay(typed) {
    var found = DAY.exec(latinDigits(typed));
    if (!found) return null;
    var y = Number(found[1]), m = Number(found[2]), d = Number(found[3]);
    if (m < 1 || m > 12 || d < 1 || d > 31) return null;
    if (y >= 1700) {
      var day = new Date(Date.UTC(y, m - 1, d));
      return day.getUTCMonth() === m - 1 ? day : null;
    }
    // Farvardin 1 falls within a day or two of March 21 (Gregorian year: y + 621).
    var guess = Date.UTC(y + 621, 2, 21) + ((m <= 6 ? (m - 1) * 31 : 186 + (m - 7) * 30) + d - 1) * MS_A_DAY;
    for (var shift = -3; shift <= 3; shift++) {
      var ms = guess + shift * MS_A_DAY;
      var j = jalaliOf(ms);
      if (j[0] === y && j[1] === m && j[2] === d) return new Date(ms);
    }
    return null;
  }

  function gregorianBeside() {
    document.querySelectorAll("input[data-gregorian]").forEach(function (field) {
      var beside = document.getElementById(field.getAttribute("data-gregorian"));
      if (!beside) return;
      var shown = beside.querySelector("[data-day]");
      function update() {
        var day = null;
        try { day = gregorianDay(field.value); } catch (e) { day = null; }
        beside.hidden = day === null;
        if (day !== null) shown.textContent = persianDigits(day.toISOString().slice(0, 10));
      }
      field.addEventListener("input", update);
      update();
    });
  }

  var COLORS = {
    delivered: "#16a34a",
    in_flight: "#6366f1",
    not_delivered: "#ef4444",
    pending: "#94a3b8",
    approved: "#16a34a",
    expired: "#f59e0b",
    max_attempts_reached: "#ef4444",
    canceled: "#64748b",
  };

  function charts() {
    var block = document.getElementById("chart-data");
    if (!block || !window.Chart) return;
    var data = JSON.parse(block.textContent);
    var Chart = window.Chart;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#687086";
    var common = { locale: data.locale, maintainAspectRatio: false, animation: false };
    var legend = { rtl: data.rtl, textDirection: data.rtl ? "rtl" : "ltr", position: "bottom" };

    draw("chart-sends", function (canvas) {
      return new Chart(canvas, Object.assign({}, common, {
        type: "bar",
        data: {
          labels: data.sends.labels,
          datasets: data.sends.series.map(function (s) {
            return { label: s.label, data: s.data, backgroundColor: COLORS[s.key], borderRadius: 3 };
          }),
        },
        options: Object.assign({}, common, {
          plugins: { legend: legend, tooltip: { rtl: data.rtl } },
          scales: {
            x: { stacked: true, grid: { display: false } },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          },
        }),
      }));
    });
    [["chart-delivery", data.delivery], ["chart-verifications", data.verifications]].forEach(function (pair) {
      if (!pair[1].data.length || !pair[1].data.some(function (n) { return n > 0; })) return;
      draw(pair[0], function (canvas) {
        return new Chart(canvas, {
          type: "doughnut",
          data: {
            labels: pair[1].labels,
            datasets: [{
              data: pair[1].data,
              backgroundColor: pair[1].keys.map(function (k) { return COLORS[k] || "#94a3b8"; }),
              borderWidth: 0,
            }],
          },
          options: Object.assign({}, common, {
            cutout: "62%",
            plugins: { legend: legend, tooltip: { rtl: data.rtl } },
          }),
        });
      });
    });
  }

  function draw(id, make) {
    var box = document.getElementById(id);
    if (!box) return;
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", box.getAttribute("data-label") || "");
    box.appendChild(canvas);
    make(canvas);
    box.hidden = false;
    var table = document.querySelector("details[data-for='" + id + "']");
    if (table) table.open = false;
  }

  // A form sent after the sign-in expired: its fields, kept by the server, filled in again.
  function restoreForm() {
    var block = document.getElementById("restored-form");
    if (!block) return;
    var kept = JSON.parse(block.textContent);
    var form = Array.prototype.find.call(document.forms, function (f) {
      return f.method === "post" && new URL(f.action, location.href).pathname === kept.action;
    });
    if (!form) return;
    var values = {};
    kept.fields.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || !(field.name in values) || field.type === "hidden" || field.type === "password") return;
      var wanted = values[field.name];
      if (field.type === "checkbox" || field.type === "radio") field.checked = wanted.indexOf(field.value) !== -1;
      else if (field.tagName === "SELECT" && field.multiple) {
        Array.prototype.forEach.call(field.options, function (o) { o.selected = wanted.indexOf(o.value) !== -1; });
      } else field.value = wanted.shift();
    });
    Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox]"), function (box) {
      if (!(box.name in values)) box.checked = false;  // left unticked when it was sent
    });
    form.scrollIntoView({ block: "center" });
  }

  onReady(function () {
    restoreForm();
    gregorianBeside();
    copyButtons();
    confirmations();
    livePreview();
    charts();
  });
})();
