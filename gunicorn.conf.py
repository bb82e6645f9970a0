"""gunicorn reads this file from the working directory: the Procfile's web, the Docker image and the
benchmarks all start gunicorn here."""

# The access log names the path without its query string: provider callbacks carry their secret there
# (/hooks/bluebubbles/<lineId>?secret=…, /hooks/email/<lineId>?secret=…), and secrets never go to logs.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
