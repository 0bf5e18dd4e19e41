# puma settings for development and production alike (the same image runs both).
port Integer(ENV.fetch("PORT", "3000")), "0.0.0.0"
threads 1, Integer(ENV.fetch("PUMA_MAX_THREADS", "5"))
environment ENV.fetch("RACK_ENV", "development")
workers Integer(ENV.fetch("WEB_CONCURRENCY", "0"))
# Containers are stopped with SIGTERM; let in-flight requests finish, but not for long.
worker_shutdown_timeout 8
# `stop` sends SIGTERM: a graceful shutdown, so exit 0 rather than re-raising the signal
# (which bundle exec turns into exit status 1, reported as a crash).
raise_exception_on_sigterm false
