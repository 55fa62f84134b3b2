// plotly.js fetches a base-map topojson (world_110m) for every geo subplot, even with the base map hidden
// (geo.visible = false). ipfin's maps draw only their own GeoJSON, so an empty topology is registered here
// and nothing is fetched from cdn.plot.ly: the choropleths work offline. Dash loads every .js under assets/.
// Same text as dashboard.maps.OFFLINE_GEO_SCRIPT.
window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};
window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};
window.PlotlyGeoAssets.topojson["world_110m"] = {"type": "Topology", "objects": {}, "arcs": []};
