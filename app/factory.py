"""The app factory: config in layers, extensions, blueprints, one error map."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from app import config as config_module
from app import integrations
from app.db.session import Database, upgrade
from app.errors import BadRequest, CartbackError
from app.logs import configure_logging
from app.mail.backends import make_mailer
from app.mail.links import Links
from app.mail.polish import BedrockPolisher
from app.runtime import Runtime
from app.sms.backends import make_texter
from app.web import MAX_ROW_ID, has_nul

ROOT = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any blueprint: the converter is bound when each rule is added.
    app.url_map.converters["int"] = RowId
    instance_path = Path((overrides or {}).get("INSTANCE_PATH")
                         or os.environ.get("CARTBACK_INSTANCE_PATH") or app.instance_path)
    app.config.update(config_module.load(instance_path, overrides))
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Only the last `proxies` hops of X-Forwarded-For/-Proto are ours; anything a client
        # wrote before them is ignored, so a made-up address cannot dodge a rate limit.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    configure_logging(app.config["LOG_LEVEL"])

    db = Database()
    db.init_app(app)
    if app.config["AUTO_MIGRATE"]:
        assert db.engine is not None
        upgrade(db.engine)

    runtime = Runtime(
        db=db,
        mailer=make_mailer(app.config),
        links=Links(app.config["SECRET_KEY"], app.config["PUBLIC_URL"]),
        config=app.config,
        polisher=BedrockPolisher.from_config(app.config),
        texter=make_texter(app.config),
    )
    app.extensions["cartback"] = runtime

    from app.web import mail_events, ops, shopper, sms_events, webhooks
    from app.web.admin import emails  # noqa: F401 - adds the Emails page to the admin blueprint
    from app.web.admin import views as admin

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(shopper.bp)
    for integration in integrations.every():
        for blueprint in integration.blueprints:
            app.register_blueprint(blueprint)
    app.register_blueprint(admin.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(mail_events.bp)
    app.register_blueprint(sms_events.bp)
    _count_deliveries(app)
    _refuse_nul_characters(app)
    _register_errors(app)

    if app.config["RUN_SCHEDULER"]:
        from app.worker.start import start_timers

        start_timers(app, runtime)
    return app


class RowId(IntegerConverter):
    """`<int:…>` in our routes is always a row id: 0 to 2**31 - 1 (PostgreSQL's
    integer). A number past that is a 404 like any unknown id, not a database error."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def _count_deliveries(app: Flask) -> None:
    from app import metrics

    topic_headers = {i.name: i.topic_header for i in integrations.every() if i.topic_header}
    lanes = {integrations.CUSTOM, *integrations.names()}

    @app.after_request
    def _count(response):  # type: ignore[no-untyped-def]
        path = request.path
        if path.startswith(("/webhooks/", "/collect/")):
            platform = "beacon" if path.startswith("/collect/") else path.split("/")[2]
            # The path is the caller's: a made-up name must not become a new series.
            platform = platform if platform in lanes or platform == "beacon" else "unknown"
            header = topic_headers.get(platform)
            topic = request.headers.get(header, "") if header else ""
            metrics.delivery(platform, topic, response.status_code)
        return response


def _refuse_nul_characters(app: Flask) -> None:
    """No URL carries a NUL character on purpose, and PostgreSQL refuses one in any text
    with an error: refuse it at the door (400), whatever the route does with it."""

    @app.before_request
    def _no_nul() -> ResponseReturnValue | None:
        if "\x00" in request.path or has_nul(request.args):
            raise BadRequest("the address must not contain NUL characters")
        return None


def _wants_json() -> bool:
    return request.path.startswith(("/webhooks/", "/collect/", "/api/")) or (
        request.accept_mimetypes.best == "application/json"
    )


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CartbackError)
    def _ours(err: CartbackError) -> ResponseReturnValue:
        if err.status >= 500:
            log.error("request failed: %s", err, extra={"path": request.path})
        return jsonify({"error": err.public_message}), err.status

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> ResponseReturnValue:
        if _wants_json():
            messages = {413: "body is larger than the limit",
                        405: "method not allowed", 404: "not found"}
            message = messages.get(err.code or 500, err.name.lower())
            return jsonify({"error": message}), err.code or 500
        return err
