"""Solara's ECharts figure with its mount race fixed.

`solara.FigureEcharts` loads ECharts asynchronously when a chart is mounted and only then creates the chart.
Its Vue template has two races with the page's redraws (the views are rebuilt on every control change):

- a new `option` arriving before ECharts has loaded calls `this.chart.setOption` on a chart not created yet:
  "TypeError: Cannot read properties of undefined (reading 'setOption')" in the browser's console;
- a chart unmounted before ECharts has loaded is then created in an element that is gone: "Initialize
  failed: invalid dom".

Neither breaks the page (the next option is drawn; the unmounted chart is gone), but they filled the console.
This widget is Solara's with three guards: an option that arrives early is kept (the chart is created with the
latest one), a chart unmounted while loading is never created, and an unmounted chart is disposed. The
template is a string here, not a .vue file, so that it ships with the Python package.
"""

from __future__ import annotations

import json
from typing import Any

import traitlets
from solara.components.echarts import EchartsWidget

TEMPLATE = """
<template>
  <div ref="echarts" class="solara-echarts" v-bind="attributes"></div>
</template>
<script>
module.exports = {
  mounted() {
    const version = "5.4.0";
    (async () => {
      const echarts = (await this.import([`${this.getCdn()}/echarts@${version}/dist/echarts.js`]))[0];
      if (this.unmounted || !this.$refs.echarts) {
        return;  // unmounted while ECharts loaded: nothing to draw in
      }
      this.echarts = echarts;
      this.create();
    })();
    if (this.responsive) {
      this.resizeObserver = new ResizeObserver(entries => {
        for (let entry of entries) {
          if (entry.target === this.$refs.echarts) {
            this.handleContainerResize();
          }
        }
      });
      this.resizeObserver.observe(this.$refs.echarts);
    }
  },
  beforeDestroy() {
    this.unmounted = true;
    if (this.resizeObserver) {
      this.resizeObserver.disconnect();
    }
    if (this.chart) {
      this.chart.dispose();
      this.chart = null;
    }
  },
  watch: {
    option() {
      // before the chart exists, create() draws the latest option
      if (this.chart) {
        this.draw();
      }
    },
  },
  methods: {
    create() {
      this.chart = this.echarts.init(this.$refs.echarts);
      Object.keys(this.maps).forEach((mapName) => {
        this.echarts.registerMap(mapName, this.maps[mapName]);
      });
      this.draw();
    },
    draw() {
      // a series' data comes as JSON text (see `packed` in echarts.py): parsed back here
      const option = this.option;
      const series = (option.series || []).map(
        s => typeof s.data === "string" ? Object.assign({}, s, {data: JSON.parse(s.data)}) : s);
      this.chart.setOption(Object.assign({}, option, {series: series}), true);  // notMerge: no stale axes etc
      const points = series.reduce((n, s) => n + (Array.isArray(s.data) ? s.data.length : 0), 0);
      this.$refs.echarts.setAttribute("data-drawn", String(points));  // what was drawn, for the browser test
    },
    handleContainerResize() {
      if (this.chart) {
        this.chart.resize();
      }
    },
    import(deps) {
      return this.loadRequire().then(() => {
        if (window.jupyterVue) {
          define("vue", [], () => window.jupyterVue.Vue);
        } else {
          define("vue", ["jupyter-vue"], (jupyterVue) => jupyterVue.Vue);
        }
        return new Promise((resolve, reject) => {
          requirejs(deps, (...modules) => resolve(modules));
        });
      });
    },
    loadRequire() {
      if (window.requirejs) {
        return Promise.resolve();
      }
      return new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = `${this.getCdn()}/requirejs@2.3.6/require.js`;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    },
    getJupyterBaseUrl() {
      if (document.getElementsByTagName("base").length) {
        return "./";
      }
      const labConfigData = document.getElementById("jupyter-config-data");
      if (labConfigData) {
        return JSON.parse(labConfigData.textContent).baseUrl;
      }
      let base = document.body.dataset.baseUrl || document.baseURI;
      if (!base.endsWith("/")) {
        base += "/";
      }
      return base;
    },
    getCdn() {
      return this.cdn || (window.solara ? window.solara.cdn : `${this.getJupyterBaseUrl()}_solara/cdn`);
    },
  },
};
</script>
"""


class Chart(EchartsWidget):
    """`solara.FigureEcharts`'s widget with the guarded template (no click or hover events: the page uses none)."""

    template_file = None
    template = traitlets.Unicode(TEMPLATE).tag(sync=True)


def packed(option: dict[str, Any]) -> dict[str, Any]:
    """The option with each series' `data` as JSON text, which the template parses back before drawing.

    On every redraw reacton walks all lists and dicts in an element's props, item by item (looking for elements
    inside), and compares them with the last ones; with a list a point, that walk grew with the run and took most
    of a redraw (about half a second at day 1,000 side by side). A string is one value to walk, compare and send.
    Data that is not plain JSON (NaN) is sent as it is."""
    series = []
    for s in option.get("series", []):
        if isinstance(s.get("data"), list) and s["data"]:
            try:
                s = {**s, "data": json.dumps(s["data"], separators=(",", ":"), allow_nan=False)}
            except (TypeError, ValueError):
                pass
        series.append(s)
    return {**option, "series": series} if "series" in option else option


def figure(option: dict[str, Any], attributes: dict[str, str]) -> Any:
    """A responsive chart element (as `solara.FigureEcharts(option=..., attributes=..., responsive=True)`), its
    series' data sent as text (`packed`)."""
    return Chart.element(option=packed(option), attributes=attributes, responsive=True)
