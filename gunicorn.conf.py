"""gunicorn settings for Cartback's web processes: `gunicorn wsgi:app`.

Web processes run no timers (the `cartback scheduler` process does); every
setting can be overridden by the usual GUNICORN_* / command-line options.
"""

import multiprocessing
import os

bind = os.environ.get("CARTBACK_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("CARTBACK_WEB_WORKERS", multiprocessing.cpu_count() * 2))
# Webhook answers must come well inside Shopify's 5 s; a request stuck longer
# than this is killed and its worker replaced.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
raw_env = ["CARTBACK_RUN_SCHEDULER=false"]
# Method, path without its query string, status, size, duration and user agent:
# never %(r)s/%(q)s (query strings), %(f)s (Referer) or headers, which could
# carry a token. The admin session lives in a cookie, never in a URL.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
