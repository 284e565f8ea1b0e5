"""Operability: health checks and Prometheus metrics."""

from __future__ import annotations

from datetime import timedelta

from app.worker import leader
from tests.factories import cart_body


def test_healthz_reports_database_and_scheduler_heartbeat(client, runtime, clock):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.json["scheduler"]["holder"] is None
    assert client.get("/healthz?strict=1").status_code == 503
    leader.beat(runtime.db.engine, "sched-a:1", clock.now - timedelta(seconds=5))
    body = client.get("/healthz?strict=1").json
    assert body["scheduler"] == {"holder": "sched-a:1", "heartbeat_age_s": 5.0,
                                 "in_process": False}
    leader.beat(runtime.db.engine, "sched-a:1", clock.now - timedelta(minutes=5))
    assert client.get("/healthz?strict=1").status_code == 503
    assert client.get("/healthz").status_code == 200  # web keeps serving webhooks


def test_metrics_count_deliveries_rejections_and_carts(client, post_custom, store):
    post_custom(cart_body())
    post_custom(cart_body(cart_id="x"), signature="forged")
    post_custom(b"not json")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cartback_events_received_total{platform="custom",topic="-"}' in text
    assert 'cartback_deliveries_rejected_total{platform="custom",reason="bad_signature"}' in text
    assert 'cartback_deliveries_rejected_total{platform="custom",reason="malformed"}' in text
    assert 'cartback_carts{status="active"} 1.0' in text
    assert "cartback_timer_lateness_seconds_bucket" in text


def test_metrics_report_sends_and_export_age(client, post_custom, runtime, clock, store):
    from app.carts.wake import wake_due
    from app.db.models import Store
    from tests.factories import T0

    post_custom(cart_body(email=None))
    wake_due(runtime, T0 + timedelta(hours=4))
    with runtime.db.transaction() as session:
        session.get(Store, store.id).platform_state = {"export": {
            "ok": True, "at": (clock.now - timedelta(hours=2)).isoformat()}}
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cartback_sends{reason="no_email",result="skipped"} 1.0' in text
    assert "cartback_seconds_since_last_export 7200.0" in text


def test_metrics_label_a_made_up_platform_unknown(client):
    # Anyone can post to any path: each invented name must not become a new series.
    assert client.post("/webhooks/made-up-1/7", data=b"{}").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    assert "made-up-1" not in text
    assert 'cartback_deliveries_rejected_total{platform="unknown",reason="unknown_store"}' in text
