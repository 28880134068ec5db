"""bench/results/latest.md: the figures beside their floors and goals."""

from __future__ import annotations

from typing import Any

# (label, our key, floor key, goal); a key missing from the results shows as "n/a".
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("accept p50, 1 client (ms)", "accept_p50_ms", "floor_accept_p50_ms", "≤ 2.5x floor"),
    ("accept p99, 1 client (ms)", "accept_p99_ms", "floor_accept_p99_ms", "≤ 10 ms, ≤ 3x floor"),
    ("accept p50, 16 clients (ms)", "accept_p50_ms_c16", "floor_accept_p50_ms_c16", ""),
    ("accept p99, 16 clients (ms)", "accept_p99_ms_c16", "floor_accept_p99_ms_c16", "≤ 3x floor"),
    ("accepted alerts/s, 16 clients", "accept_rps", "floor_accept_rps", "≥ 0.5x floor"),
    ("accepted alerts/s, 1 client", "accept_rps_c1", "floor_accept_rps_c1", ""),
    ("accept p99, 200 idle connections open (ms)", "accept_p99_ms_idle", "accept_p99_ms", ""),
    ("alert → paper fill p50 (ms)", "e2e_p50_ms", "floor_e2e_p50_ms", "≤ 2x floor"),
    ("alert → paper fill p99 (ms)", "e2e_p99_ms", "floor_e2e_p99_ms", ""),
    ("sustained alerts/s end to end, paper", "sustained_alerts_per_s", "floor_sustained_per_s", ""),
    ("CPU ms per alert, all processes", "cpu_ms_per_alert", "floor_cpu_ms_per_alert", ""),
    ("PostgreSQL: accept p50 (ms)", "pg_accept_p50_ms", "floor_pg_accept_p50_ms", ""),
    ("PostgreSQL: accept p99 (ms)", "pg_accept_p99_ms", "floor_pg_accept_p99_ms", ""),
    ("PostgreSQL: accepted alerts/s, 16 clients", "pg_accept_rps", "floor_pg_accept_rps", ""),
    ("PostgreSQL: alert → paper fill p50 (ms)", "pg_e2e_p50_ms", "floor_pg_e2e_p50_ms", ""),
    ("alert → placeOrder at ibsim p50 (ms)", "ib_e2e_p50_ms", "floor_ib_e2e_p50_ms", "≤ 2x floor"),
    ("alert → placeOrder at ibsim p99 (ms)", "ib_e2e_p99_ms", "", ""),
    ("gateway RSS (MB)", "gateway_rss_mb", "", "< 150"),
)


def _number(value: Any) -> str:
    return "n/a" if value is None else str(value)


def markdown(r: dict[str, Any]) -> str:
    lines = ["| measure | tvbridge | floor | ratio | goal |", "|---|---:|---:|---:|---|"]
    for label, ours_key, floor_key, goal in ROWS:
        ours, floor = r.get(ours_key), r.get(floor_key) if floor_key else None
        ratio = ""
        if isinstance(ours, int | float) and isinstance(floor, int | float) and floor:
            ratio = f"{ours / floor:.2f}"
        shown_floor = _number(floor) if floor_key else ""
        lines.append(f"| {label} | {_number(ours)} | {shown_floor} | {ratio} | {goal} |")
    if "pg_skipped" in r:
        lines.append(f"\nPostgreSQL: {r['pg_skipped']}.")
    for phase in ("rss_at_rest_mb", "rss_after_mb", "ib_rss_after_mb"):
        if isinstance(r.get(phase), dict):
            sizes = ", ".join(f"{name} {size}" for name, size in r[phase].items())
            lines.append(f"\n{phase.replace('_', ' ')}: {sizes}")
    return "\n".join(lines) + "\n"
