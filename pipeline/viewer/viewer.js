// The viewer of `qinling serve`: reads /layers.json, shows every layer as an OpenLayers tile layer
// in the chosen matrix set (Web Mercator XYZ or the CGCS2000 Tianditu grid), with a checkbox per
// layer and a legend from its colour ramp. Tile loads are counted in body[data-tiles-loaded].
(function () {
  'use strict';
  const listEl = document.getElementById('layers');
  const setEl = document.getElementById('matrix-set');
  let layers = [];
  let map = null;
  let loaded = 0, failed = 0;

  function count(ok) {
    if (ok) loaded++; else failed++;
    document.body.dataset.tilesLoaded = String(loaded);
    document.body.dataset.tilesFailed = String(failed);
  }

  // CGCS2000Quad: level z has 2^z x 2^(z-1) tiles of 256 px from (-180, 90); level 1 is 2 x 1.
  function cgcsGrid(minZoom, maxZoom) {
    const resolutions = [];
    for (let z = 0; z <= maxZoom; z++) resolutions.push(360 / (256 * Math.pow(2, z)));
    return new ol.tilegrid.TileGrid({ origin: [-180, 90], resolutions: resolutions, minZoom: minZoom,
                                      extent: [-180, -90, 180, 90], tileSize: 256 });
  }

  function makeSource(l, set, zooms) {
    const base = '/' + encodeURIComponent(l.id) + '/';
    const source = set === 'WebMercatorQuad'
      ? new ol.source.XYZ({ url: base + '{z}/{x}/{y}.' + l.format, minZoom: zooms.minzoom, maxZoom: zooms.maxzoom })
      : new ol.source.XYZ({ url: base + 'CGCS2000Quad/{z}/{x}/{y}.' + l.format, projection: 'EPSG:4326',
                            tileGrid: cgcsGrid(zooms.minzoom, zooms.maxzoom) });
    source.on('tileloadend', function () { count(true); });
    source.on('tileloaderror', function () { count(false); });
    return source;
  }

  function legendEl(legend) {
    const div = document.createElement('div');
    div.className = 'legend';
    div.dataset.ramp = legend.ramp;
    const fmt = function (v) { return Math.abs(v) >= 1000 || v === Math.round(v) ? String(Math.round(v)) : v.toPrecision(3); };
    if (legend.kind === 'categorical') {
      legend.entries.forEach(function (e) {
        const row = document.createElement('div');
        const sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = e.colour;
        row.appendChild(sw);
        row.appendChild(document.createTextNode(fmt(e.value) + (e.label ? ' ' + e.label : '')));
        div.appendChild(row);
      });
      return div;
    }
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.background = 'linear-gradient(to right, ' + legend.entries.map(function (e) { return e.colour; }).join(', ') + ')';
    const ends = document.createElement('div');
    ends.className = 'ends';
    const first = legend.entries[0], last = legend.entries[legend.entries.length - 1];
    [first, last].forEach(function (e) {
      const s = document.createElement('span');
      s.textContent = fmt(e.value);
      ends.appendChild(s);
    });
    div.appendChild(bar);
    div.appendChild(ends);
    div.title = (legend.ramp || 'default') + ' (' + legend.kind + ')';
    return div;
  }

  function build() {
    const set = setEl.value;
    const projection = set === 'WebMercatorQuad' ? 'EPSG:3857' : 'EPSG:4326';
    if (map) map.setTarget(null);
    listEl.textContent = '';
    const olLayers = [];
    let extent = ol.extent.createEmpty();
    const shown = new Set();
    layers.forEach(function (l) {
      const li = document.createElement('li');
      li.dataset.layer = l.id;
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      label.appendChild(box);
      label.appendChild(document.createTextNode(' ' + (l.title || l.id)));
      li.appendChild(label);
      const zooms = l.matrix_sets[set];
      if (!zooms) {
        box.disabled = true;
        li.className = 'unavailable';
        li.title = 'no tiles in ' + set;
      } else {
        const layerExtent = ol.proj.transformExtent(l.bounds, 'EPSG:4326', projection);
        const tl = new ol.layer.Tile({ source: makeSource(l, set, zooms), extent: layerExtent });
        // The same tiles often come as a folder, an .mbtiles and a .pmtiles: show only the first of them.
        const stem = l.id.replace(/\.(mbtiles|pmtiles)$/, '');
        box.checked = !shown.has(stem);
        shown.add(stem);
        tl.setVisible(box.checked);
        box.addEventListener('change', function () { tl.setVisible(box.checked); });
        olLayers.push(tl);
        ol.extent.extend(extent, layerExtent);
      }
      if (l.legend) li.appendChild(legendEl(l.legend));
      listEl.appendChild(li);
    });
    const view = new ol.View({ projection: projection });
    map = new ol.Map({ target: 'map', layers: olLayers, view: view });
    if (!ol.extent.isEmpty(extent)) view.fit(extent, { size: map.getSize() || [800, 600] });
    else {
      view.setCenter([0, 0]);
      view.setZoom(1);
    }
    document.body.dataset.matrixSet = set;
  }

  // Script errors are shown in the panel (and body[data-error]) rather than leaving a silent blank map.
  window.addEventListener('error', function (e) {
    document.body.dataset.error = String(e.message);
    const li = document.createElement('li');
    li.className = 'note';
    li.textContent = 'viewer error: ' + e.message;
    listEl.appendChild(li);
  });
  setEl.addEventListener('change', build);
  fetch('/layers.json')
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (list) { layers = list; build(); })
    .catch(function (e) { listEl.innerHTML = ''; const li = document.createElement('li'); li.className = 'note'; li.textContent = 'cannot read /layers.json: ' + e.message; listEl.appendChild(li); });
  // ?set=CGCS2000Quad opens the page in the other matrix set (used by the tests).
  const wanted = new URLSearchParams(location.search).get('set');
  if (wanted) setEl.value = wanted;
})();
