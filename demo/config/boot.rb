# Loads the demo app; required by config.ru (puma) and by `sidekiq -r ./config/boot.rb`.
require "bundler/setup"
require "socket"
require "sidekiq"
require "devenv_demo_helper"

ROOT = File.expand_path("..", __dir__)
$LOAD_PATH.unshift(File.join(ROOT, "lib"))

# Debian pairs sidekiq 6.4 with redis-rb 4.8, which warns about sidekiq's positional-timeout
# calls on every fetch; the calls are correct for this pair, so keep the log readable.
Redis.silence_deprecations = true

redis = { url: ENV.fetch("REDIS_URL", "redis://redis:6379/0"), network_timeout: 2 }
Sidekiq.configure_server { |config| config.redis = redis }
Sidekiq.configure_client { |config| config.redis = redis }

require "demo/db"
require_relative "../app/jobs/record_job"
require_relative "../app/web"
