"""gunicorn settings for the reporter app (:8080) and the responder API (:8081).

Used by `dropbox run` and the systemd units: `gunicorn -c deploy/gunicorn.conf.py
'dropbox.wsgi:reporter_app()'`. Everything an operator may change comes from env.
"""

import os

from gunicorn import glogging

# Only ever loopback: tor (or Onionbalance's backend tor) is the one client.
bind = os.environ.get("DROPBOX_BIND", "127.0.0.1:8080")

# gthread: each upload holds one thread, not one process. A 500 MB upload at
# ~100 KB/s through Tor takes ~85 minutes; with gthread the worker `timeout`
# is a heartbeat of the worker process, not a limit on one request, so slow
# uploads are not killed while the worker stays responsive.
# (gthread, with a floor under the pace of request headers: dropbox/gunicorn_worker.py)
worker_class = "dropbox.gunicorn_worker.PacedThreadWorker"
workers = int(os.environ.get("DROPBOX_WORKERS", "2"))
threads = int(os.environ.get("DROPBOX_THREADS", "16"))
timeout = 120
graceful_timeout = 60
keepalive = 10

# Requests come through Tor: headers are small and few. Bodies are streamed by the app.
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190

# No access log, ever: it would record paths and timing per request.
accesslog = None
disable_redirect_access_to_syslog = True
errorlog = os.environ.get("DROPBOX_ERROR_LOG", "-")
loglevel = "warning"
capture_output = True

# Heartbeat files on tmpfs; never the instance dir.
worker_tmp_dir = os.environ.get("DROPBOX_WORKER_TMP_DIR", "/dev/shm")
proc_name = os.environ.get("DROPBOX_PROC_NAME", "drop")
# Trust no forwarding headers: the peer address is always tor's 127.0.0.1.
forwarded_allow_ips = ""


class DayOnlyLogger(glogging.Logger):
    """gunicorn's own log lines carry the day, never the time of day or a pid.

    A time of day next to "worker was killed" or "request failed" lets someone
    with the logs line them up with a reporter's session; a day does not.
    """

    error_fmt = r"%(asctime)s [%(levelname)s] %(message)s"
    datefmt = r"[%Y-%m-%d]"


logger_class = DayOnlyLogger


def on_starting(server: object) -> None:
    """Before the first worker exists no upload is in flight, so every temp file is abandoned.

    Workers only remove temp files untouched for an hour (others may be
    uploading); the master, at start, can remove them all: after a crash they
    are ciphertext of uploads nobody acknowledged.
    """
    from dropbox.config import Config
    from dropbox.storage import EnvelopeStore

    EnvelopeStore(Config.from_env().instance_dir).cleanup_temp(0)
