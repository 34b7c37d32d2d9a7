"""make report's series math (ops/report/series.py, panels.py): per-label series, gaps, rates across resets.

Recordings are built by hand: no HTTP, no clock. The panels are checked against the chart's
Grafana dashboard, whose main panels they draw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_testing import REPO

from common.env import SettingError
from ops.report.options import ReportOptions
from ops.report.panels import JOB, PANELS, PUBLISHER, compute, headline
from ops.report.recording import Recording, Sample, Scrape, parse_exposition
from ops.report.series import (
    Point,
    aggregate,
    down_spans,
    increases,
    labels_key,
    rates,
    series_of,
    total_increase,
)

pytestmark = pytest.mark.unit

DASHBOARD = REPO / "charts" / "article-pipeline" / "files" / "dashboard.json"


def points(*values: float | None, every: float = 2.0) -> list[Point]:
    return [Point(index * every, value) for index, value in enumerate(values)]


def values(found: list[Point]) -> list[float | None]:
    return [None if p.value is None else round(p.value, 6) for p in found]


def test_rates_are_per_second_between_scrapes() -> None:
    assert values(rates(points(0, 10, 30, 30))) == [None, 5.0, 10.0, 0.0]


def test_a_counter_reset_counts_from_zero_not_as_a_negative_rate() -> None:
    # The job restarted between the 3rd and 4th scrape: 40 -> 6 means 6 new rows, not -34.
    counter = points(0, 20, 40, 6, 16)
    assert values(rates(counter)) == [None, 10.0, 10.0, 3.0, 5.0]
    assert [grown for _before, _after, grown in increases(counter)] == [20, 20, 6, 10]
    assert total_increase(counter) == 56


def test_a_gap_stays_a_gap_and_the_total_counts_across_it() -> None:
    counter = points(0, 10, None, None, 50, 60)
    assert values(rates(counter)) == [None, 5.0, None, None, None, 5.0]
    assert total_increase(counter) == 60
    assert total_increase(points(None, 7, None)) is None  # one value: nothing to compare


def test_a_rate_window_averages_a_counter_that_jumps_once_a_batch() -> None:
    # A batch of 50 rows every 10 s, scraped every 2 s: 25/s, 0/s ... between scrapes, 5/s over 10 s.
    counter = points(0, 50, 50, 50, 50, 50, 100, 100, 100, 100, 100, 150)
    assert values(rates(counter))[1:3] == [25.0, 0.0]
    assert values(rates(counter, window=10.0))[5:] == [5.0] * 7
    assert values(rates(counter, window=10.0))[1] == 25.0  # the start: what there is so far


def test_series_are_split_by_labels_and_a_missing_sample_is_a_gap() -> None:
    def scrape(t: float, *samples: tuple[str, float]) -> Scrape:
        return Scrape(JOB, t, tuple(Sample("lag", {"shard": shard}, value) for shard, value in samples))

    scrapes = [
        scrape(0, ("a", 1), ("b", 5)),
        Scrape(JOB, 2, error="connection refused"),
        scrape(4, ("a", 3)),
        scrape(6, ("a", 4), ("b", 2)),
    ]
    found = series_of(scrapes, "lag")
    assert list(found) == [labels_key({"shard": "a"}), labels_key({"shard": "b"})]
    assert values(found[(("shard", "a"),)]) == [1, None, 3, 4]
    assert values(found[(("shard", "b"),)]) == [5, None, None, 2]
    assert down_spans(scrapes) == [(2, 4)]
    assert down_spans([*scrapes, Scrape(JOB, 8, error="refused")]) == [(2, 4), (8, 8)]
    summed = aggregate(found, by=())
    assert values(summed[()]) == [6, None, 3, 6]  # a series without a value is left out, as in PromQL
    assert values(aggregate(found, by=(), how=max)[()]) == [5, None, 3, 4]


def test_the_exposition_is_parsed_without_created_samples() -> None:
    text = (
        "# TYPE articles_published counter\n"
        "articles_published_total 12.0\n"
        "articles_published_created 1.7e9\n"
        "# TYPE article_pipeline_kinesis_millis_behind_latest gauge\n"
        'article_pipeline_kinesis_millis_behind_latest{query="articles",shard="shardId-000000000001"} 1500.0\n'
        "# TYPE odd gauge\nodd NaN\n"
    )
    samples = parse_exposition(text)
    assert [(s.name, dict(s.labels), s.value) for s in samples] == [
        ("articles_published_total", {}, 12.0),
        (
            "article_pipeline_kinesis_millis_behind_latest",
            {"query": "articles", "shard": "shardId-000000000001"},
            1500.0,
        ),
    ]


def recording() -> Recording:
    """Two shards, 10 rows/s read and appended, a publisher that dies half way, a job restart at t=8."""
    run = Recording({JOB: "http://job/metrics", PUBLISHER: "http://publisher/metrics"}, 2.0)
    rows = [0, 20, 40, 60, 10, 30]  # the job restarted before t=8
    for index, read in enumerate(rows):
        t = 2.0 * index
        run.scrapes.append(
            Scrape(
                JOB,
                t,
                (
                    Sample(
                        "article_pipeline_kinesis_millis_behind_latest",
                        {"query": "articles", "shard": "shardId-000000000000"},
                        1000.0 * index,
                    ),
                    Sample(
                        "article_pipeline_kinesis_millis_behind_latest",
                        {"query": "articles", "shard": "shardId-000000000001"},
                        500.0,
                    ),
                    Sample("article_pipeline_input_rows_total", {"query": "articles"}, float(read)),
                    Sample("article_pipeline_table_rows_appended_total", {"table": "enriched_articles"}, float(read)),
                    Sample("article_pipeline_outage", {}, 1.0 if index == 2 else 0.0),
                ),
            )
        )
        published = Scrape(PUBLISHER, t, (Sample("articles_published_total", {}, 10.0 * t),))
        run.scrapes.append(published if index < 3 else Scrape(PUBLISHER, t, error="connection refused"))
    return run


def test_panels_draw_lag_in_seconds_per_shard_and_rates_across_the_restart() -> None:
    data = {panel.panel.title: panel for panel in compute(recording(), rate_window=0.0)}
    lag = {curve.legend: curve for curve in data["Kinesis lag per shard"].curves}
    assert set(lag) == {"articles shard 000", "articles shard 001"}
    assert lag["articles shard 000"].last == 5.0 and lag["articles shard 001"].peak == 0.5
    out = {curve.legend: curve for curve in data["Throughput out: rows appended per table"].curves}
    assert values(out["read by articles"].points) == [None, 10.0, 10.0, 10.0, 5.0, 10.0]
    assert out["enriched_articles"].added == 90  # 60 before the restart, 30 after
    published = next(c for c in data["Throughput in: records read per shard"].curves if c.legend == "published")
    assert values(published.points) == [None, 10.0, 10.0, None, None, None]
    assert published.last == 10.0  # at its last answer (t=4), not None from the scrapes it missed
    assert data["Throughput in: records read per shard"].down[PUBLISHER] == [(6.0, 10.0)]
    assert data["Outage state"].curves[0].peak == 1.0 and data["Outage state"].curves[0].last == 0.0
    assert data["Quarantine by reason"].curves == []
    assert headline(list(data.values())).startswith("lag 5.0 s, read by articles 10.0/s")


def test_a_recording_survives_its_json() -> None:
    run = recording()
    again = Recording.from_json(json.loads(json.dumps(run.to_json())))
    assert again == run
    with pytest.raises(ValueError, match="format"):
        Recording.from_json({"format": 99})


def test_the_panels_are_the_dashboards_with_the_same_titles_and_metrics() -> None:
    dashboard = {
        panel["title"]: " ".join(target["expr"] for target in panel.get("targets", []))
        for panel in json.loads(DASHBOARD.read_text())["panels"]
    }
    for panel in PANELS:
        assert panel.title in dashboard, f"{panel.title!r} is not a panel of {DASHBOARD.name}"
        for line in panel.lines:
            assert line.metric in dashboard[panel.title], f"{line.metric} is not queried by {panel.title!r}"


def test_options_default_to_make_runs_endpoints_and_name_a_bad_value(tmp_path: Path) -> None:
    options = ReportOptions.parse([], {"STATE_DIR": str(tmp_path)})
    assert options.endpoints == {JOB: "http://127.0.0.1:9404/metrics", PUBLISHER: "http://127.0.0.1:8000/metrics"}
    assert (options.every.seconds, options.duration.seconds) == (2.0, 120.0)
    assert options.out.parent == tmp_path / "report" and options.replot is None
    moved = ReportOptions.parse(["--for", "30s", "--publisher", ""], {"JOB_METRICS_BIND": "127.0.0.1:19404"})
    assert moved.endpoints == {JOB: "http://127.0.0.1:19404/metrics"} and moved.duration.seconds == 30
    assert ReportOptions.parse(["--replot", str(tmp_path / "a" / "samples.json")], {}).out == tmp_path / "a"
    for argv, named in ((["--every", "2"], "--every"), (["--for", "5m"], "--for"), (["--job", "x:1"], "--job")):
        with pytest.raises(SettingError, match=named):
            ReportOptions.parse(argv, {})
    with pytest.raises(SettingError, match="JOB_METRICS_BIND"):
        ReportOptions.parse([], {"JOB_METRICS_BIND": "nowhere"})
    assert options.rate_window.seconds == 20.0
