#!/usr/bin/env python3
"""Writes lmc-dashboard.json, the Grafana dashboard of lmc-server, from the panel
list below (so the JSON stays consistent and reviewable). Run from this folder."""
import json

PANELS = [
    ("Request rate by method", "reqps",
     'sum by (grpc_method) (rate(grpc_server_started_total{grpc_service="lmc.v1.Compressor"}[1m]))'),
    ("Errors by code", "reqps",
     'sum by (grpc_code) (rate(grpc_server_handled_total{grpc_service="lmc.v1.Compressor",grpc_code!="OK"}[1m]))'),
    ("Latency p50 / p99 by method", "s",
     'histogram_quantile(0.5, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket[5m])))',
     'histogram_quantile(0.99, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket[5m])))'),
    ("Queue depth (chunks)", "short", 'sum by (model) (lmc_queue_chunks)'),
    ("Batch size (running chunks)", "short", 'sum by (model) (lmc_running_chunks)'),
    ("Chunk memory in use (context tables)", "bytes", 'sum by (model) (lmc_chunk_memory_bytes)'),
    ("In-flight requests", "short", 'sum(lmc_in_flight_requests)'),
    ("Throughput (original bytes/s)", "Bps",
     'sum by (direction) (rate(lmc_original_bytes_total[1m]))'),
    ("Compression ratio (compressed / original)", "percentunit",
     'sum(rate(lmc_compressed_bytes_total{direction="compress"}[5m])) / sum(rate(lmc_original_bytes_total{direction="compress"}[5m]))'),
    ("Queue wait p50 / p99 (per chunk)", "s",
     'histogram_quantile(0.5, sum by (le, model) (rate(lmc_queue_seconds_bucket[5m])))',
     'histogram_quantile(0.99, sum by (le, model) (rate(lmc_queue_seconds_bucket[5m])))'),
    ("Model step (forward) p50 / p99", "s",
     'histogram_quantile(0.5, sum by (le, model) (rate(lmc_forward_seconds_bucket[5m])))',
     'histogram_quantile(0.99, sum by (le, model) (rate(lmc_forward_seconds_bucket[5m])))'),
    ("Mean chunks and tokens per model step", "short",
     'sum by (model) (rate(lmc_batch_streams_sum[5m])) / sum by (model) (rate(lmc_batch_streams_count[5m]))',
     'sum by (model) (rate(lmc_batch_tokens_sum[5m])) / sum by (model) (rate(lmc_batch_tokens_count[5m]))'),
    ("Model tokens/s", "short", 'sum by (model) (rate(lmc_tokens_total[1m]))'),
    ("Bits per byte p50 (compressions)", "short",
     'histogram_quantile(0.5, sum by (le, model) (rate(lmc_compression_bpb_bucket[5m])))'),
    ("Failures by reason", "reqps", 'sum by (reason) (rate(lmc_failures_total[5m]))'),
    ("Models served", "short", 'count by (name, fingerprint) (lmc_model_info)'),
]

def panel(i, title, unit, *exprs):
    return {
        "id": i + 1, "type": "timeseries", "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + k), "expr": e} for k, e in enumerate(exprs)],
    }

dashboard = {
    "uid": "lmc-server", "title": "lmc server", "schemaVersion": 38, "version": 1,
    "time": {"from": "now-1h", "to": "now"}, "refresh": "30s", "tags": ["lmc"],
    "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
    "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
}
with open("lmc-dashboard.json", "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
