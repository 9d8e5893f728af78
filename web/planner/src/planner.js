// The planner workspace's only script (served from 'self'; the pages carry no inline script).
// htmx for partial updates, Chart.js for the per-province chart of a frozen ranking.
import htmx from 'htmx.org';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

// Strict CSP: no eval, no <style> injected, no scripts from swapped HTML; pages hold personal data, so
// htmx keeps no copy of them in localStorage (going back reloads the page from the server).
Object.assign(htmx.config, {
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  selfRequestsOnly: true,
});
window.htmx = htmx;

// Every request htmx makes carries the session's CSRF token (forms carry it as a field too).
document.addEventListener('htmx:configRequest', (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers['X-CSRF-Token'] = meta.content;
});

// Sign-in expired while a fragment was loading: the server answers 401 with HX-Redirect; htmx follows it.
// After a swap, move the keyboard focus to the updated region's heading (announced by screen readers).
document.addEventListener('htmx:afterSettle', (event) => {
  const target = event.detail.target;
  if (target && target.hasAttribute('data-focus-after-swap')) {
    const heading = target.querySelector('h2, h3, [tabindex="-1"]');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  }
  renderCharts(target || document);
});

// A long form post (a budgeted selection solves for tens of seconds at national scale): the button says it is
// working and cannot be pressed twice.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-busy')) return;
  const button = form.querySelector('button[type="submit"]');
  if (button) {
    button.setAttribute('aria-busy', 'true');
    setTimeout(() => { button.disabled = true; }, 0); // after the browser has taken the form's values
  }
});

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

function renderCharts(root) {
  root.querySelectorAll('canvas[data-chart]').forEach((canvas) => {
    if (canvas.dataset.rendered) return;
    canvas.dataset.rendered = '1';
    const spec = JSON.parse(canvas.dataset.chart);
    const locale = document.documentElement.lang || 'vi';
    const number = new Intl.NumberFormat(locale);
    // Horizontal bars (province names are long); the box grows with the number of provinces.
    canvas.parentElement.style.height = `${Math.max(200, 22 * spec.labels.length + 90)}px`;
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d, i) => ({
          label: d.label,
          data: d.data,
          backgroundColor: PALETTE[i % PALETTE.length],
          borderWidth: 0,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: 'y',
        locale,
        plugins: {
          legend: { position: 'top' },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${number.format(ctx.raw)}` } },
        },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 } },
          y: { ticks: { autoSkip: false } },
        },
      },
    });
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', () => renderCharts(document));
} else {
  renderCharts(document);
}
