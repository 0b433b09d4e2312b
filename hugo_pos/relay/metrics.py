"""``GET /metrics`` in the Prometheus text format, counted from the store.

Counting from the store (not from per-process counters) makes every replica report the same
truth, whichever process delivered or received what.
"""

from __future__ import annotations

from hugo_pos.relay.store import LATENCY_BUCKETS


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(relay) -> str:
    """Return the metrics text: orders, deliveries, attempts, latency, webhook events, menu."""
    stats = relay.store.stats()
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    family("hugo_pos_orders", "gauge", "Orders in the store by status.")
    for row in stats["orders"]:
        out.append(f"hugo_pos_orders{_labels(status=row['status'])} {int(row['n'])}")
    family("hugo_pos_deliveries", "gauge",
           "POS deliveries by provider and result (pending, delivered, failed).")
    for row in stats["deliveries"]:
        out.append(f"hugo_pos_deliveries{_labels(provider=row['provider'], status=row['status'])}"
                   f" {int(row['n'])}")
    family("hugo_pos_delivery_attempts_total", "counter", "Delivery attempts made.")
    out.append(f"hugo_pos_delivery_attempts_total {int(stats['attempts'])}")
    family("hugo_pos_delivery_latency_seconds", "histogram",
           "Time from an order being stored to its delivery into a POS.")
    latency = stats["latency"]
    for i, bound in enumerate(LATENCY_BUCKETS):
        out.append(f"hugo_pos_delivery_latency_seconds_bucket{_labels(le=repr(bound))} "
                   f"{int(latency[f'b{i}'] or 0)}")
    out.append(f'hugo_pos_delivery_latency_seconds_bucket{{le="+Inf"}} {int(latency["count"])}')
    out.append(f"hugo_pos_delivery_latency_seconds_sum {float(latency['total'] or 0):.6f}")
    out.append(f"hugo_pos_delivery_latency_seconds_count {int(latency['count'])}")
    family("hugo_pos_webhook_events", "gauge", "Webhook events by provider, kind and result.")
    for row in stats["events"]:
        labels = _labels(provider=row["provider"], kind=row["kind"], result=row["result"])
        out.append(f"hugo_pos_webhook_events{labels} {int(row['n'])}")
    family("hugo_pos_menu_loaded", "gauge", "1 when a menu is loaded.")
    out.append(f"hugo_pos_menu_loaded {1 if relay.menu.current() else 0}")
    return "\n".join(out) + "\n"
