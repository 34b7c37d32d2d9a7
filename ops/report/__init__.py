"""``make report``: the dashboard's main panels as a PNG, an HTML page and JSON samples, without Grafana.

While ``make run`` (or anything serving the same endpoints) runs, the job's and the publisher's
``/metrics`` are recorded every few seconds for a while, then drawn as the Grafana dashboard's
main panels (charts/article-pipeline/files/dashboard.json). One module per job:

- ``recording``: what was scraped (samples per endpoint and time), to and from JSON;
- ``recorder``: scraping the endpoints over HTTP on a schedule, with progress lines;
- ``series``: the pure series math (per-label series, gaps, rates across counter resets);
- ``panels``: the panels (titles and queries as on the dashboard) computed from a recording;
- ``render``: the PNG (matplotlib) and the self-contained HTML page;
- ``options``: ``REPORT_ARGS`` and the environment, read once into typed options.
"""
