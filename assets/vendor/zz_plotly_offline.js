// Offline: Plotly's only built-in internet default is the topojson URL of geo traces (not in the basic
// bundle). Point it at the app itself so no code path can reach a CDN.
if (window.Plotly && window.Plotly.setPlotConfig) {
    window.Plotly.setPlotConfig({topojsonURL: "/assets/vendor/topojson/"});
}
