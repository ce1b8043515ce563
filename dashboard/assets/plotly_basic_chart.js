// Draws one plotly figure with plotly.js's basic bundle (scatter, bar, pie: 1.2 MB of script),
// which a new browser sets up in a fraction of the time of the full 4.7 MB bundle behind
// st.plotly_chart. Colours and fonts follow the viewer's Streamlit theme (light or dark).

const LIGHT_COLORS = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700",
  "#ffd16a", "#6d3fc0", "#d5dae5"];
const DARK_COLORS = ["#83c9ff", "#0068c9", "#ffabab", "#ff2b2b", "#7defa1", "#29b09d", "#ffd16a",
  "#ff8700", "#6d3fc0", "#d5dae5"];

async function loadPlotly(src) {
  // one load per tab, shared with the page frame's early loader (which may have started it)
  if (window.__ptPlotly) await window.__ptPlotly;
  if (window.Plotly) return window.Plotly;
  window.__ptPlotly = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => { window.__ptPlotly = null; reject(new Error("the chart script did not load")); };
    document.head.appendChild(script);
  });
  await window.__ptPlotly;
  return window.Plotly;
}

function isDark(color) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(color || "");
  if (!m) return false;
  const [r, g, b] = m.slice(1, 4).map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b < 128;
}

function themeLayout(host) {
  const css = getComputedStyle(host);
  const text = css.color || "#31333f";
  const dark = isDark(getComputedStyle(document.body).backgroundColor);
  const grid = dark ? "rgba(250, 250, 250, 0.12)" : "rgba(49, 51, 63, 0.12)";
  const faded = dark ? "rgba(250, 250, 250, 0.6)" : "rgba(49, 51, 63, 0.6)";
  // margins grow to fit tick labels and axis titles, as plotly's and Streamlit's own templates do
  const axis = { automargin: true, gridcolor: grid, linecolor: grid, zerolinecolor: grid, tickfont: { color: faded },
    title: { font: { color: faded } } };
  return {
    font: { family: css.fontFamily, color: text },
    title: { font: { color: text, weight: 600 }, x: 0, xanchor: "left" },
    colorway: dark ? DARK_COLORS : LIGHT_COLORS,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    xaxis: Object.assign({ showgrid: false }, axis), yaxis: axis,  // lines across, as Streamlit's charts
    legend: { font: { color: text } },
    hoverlabel: { bgcolor: dark ? "#262730" : "#ffffff", font: { color: text }, bordercolor: grid },
    modebar: { bgcolor: "rgba(0,0,0,0)", color: faded, activecolor: text },
  };
}

export default async function (component) {
  const { data, parentElement } = component;
  const spec = typeof data === "string" ? JSON.parse(data) : data;
  const host = parentElement.querySelector(".pt-chart");
  const Plotly = await loadPlotly(spec.src);
  const layout = Object.assign({}, spec.figure.layout || {});
  layout.template = { layout: themeLayout(host) };
  await Plotly.react(host, spec.figure.data || [], layout, Object.assign({ responsive: true }, spec.config));
  if (!host.__ptResize) {
    host.__ptResize = new ResizeObserver(() => Plotly.Plots.resize(host));
    host.__ptResize.observe(host);
  }
  return () => {
    if (host.__ptResize) host.__ptResize.disconnect();
    host.__ptResize = null;
    Plotly.purge(host);
  };
}
