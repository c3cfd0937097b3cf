"""The teaching dashboard: a Solara web app over `MarketModel` (`python run.py app`).

session   the model(s), the controls' overrides, the followed consumer (no Solara)
variant   side-by-side mode: what run B changes
events    events fired during a run, and the command line that reproduces it
charts    live charts as ECharts options      network   who pays whom, laid out by networkx
tables    the charts' tables, extended day by day    echarts   the chart widget
follow    one consumer's loans and history    controls, views, page   the Solara page
server    starts the page on a loopback port
"""
