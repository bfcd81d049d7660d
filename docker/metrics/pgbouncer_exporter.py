#!/usr/bin/python3
"""
Debian's prometheus-pgbouncer-exporter 1.7, fitted to PgBouncer 1.8 and later (bookworm: 1.18).

It reads SHOW STATS' `total_requests`, a column PgBouncer 1.8 renamed `total_query_count`: as
packaged, every scrape (and its start) fails with KeyError. The metric keeps its name,
pgbouncer_requests_total.
"""
from prometheus_pgbouncer_exporter import cli, collectors

stats = collectors.StatsCollector.metrics
stats['total_query_count'] = stats.pop('total_requests')
cli.main()
