"""Prometheus metrics (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter(
    "seus_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "seus_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WS_CLIENTS = Gauge("seus_websocket_clients", "Websockets following the live stream")
WS_CLOSED_SLOW = Counter("seus_websocket_closed_slow_total", "Sockets closed for falling behind")
EVENT_HEAD = Gauge("seus_event_head_seq", "Last event seq delivered by this instance")
EVENT_LAG = Histogram(
    "seus_event_lag_seconds",
    "From an event's commit time to its delivery to this instance's sockets",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CLOCK_LATENESS = Histogram(
    "seus_clock_lateness_seconds",
    "From a clock warning's or breach's due time to its event being written",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600),
)
BUS_ERRORS = Counter("seus_bus_errors_total", "Redis fan-out failures (publish or subscribe)")


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
