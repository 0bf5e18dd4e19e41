# MySQL access shared by puma and sidekiq: a small connection pool and the queries the app needs.
require "connection_pool"
require "mysql2"

module Demo
  module DB
    SCHEMA = File.read(File.expand_path("../../db/schema.sql", __dir__))
    NO_SUCH_TABLE = 1146

    def self.config
      {
        host: ENV.fetch("MYSQL_HOST", "mysql"),
        port: Integer(ENV.fetch("MYSQL_PORT", "3306")),
        username: ENV.fetch("MYSQL_USER", "demo"),
        password: ENV.fetch("MYSQL_PASSWORD", "demo"),
        database: ENV.fetch("MYSQL_DATABASE", "demo"),
        connect_timeout: 2,
        read_timeout: 5,
        write_timeout: 5,
        # MariaDB may restart under a running app (devenv restart mysql); reconnect instead of
        # failing every request made through a pooled, now dead, connection.
        reconnect: true
      }
    end

    POOL = ConnectionPool.new(size: Integer(ENV.fetch("DB_POOL", "5")), timeout: 5) do
      Mysql2::Client.new(**config)
    end

    def self.with(&block)
      POOL.with(&block)
    end

    # The schema is created on first use rather than at boot, so neither process has to start
    # after the other and a fresh database volume needs no separate setup step.
    def self.with_schema
      with do |client|
        yield client
      rescue Mysql2::Error => e
        raise unless e.error_number == NO_SUCH_TABLE
        client.query(SCHEMA)
        yield client
      end
    end

    def self.ping
      with { |client| client.query("SELECT 1").first }
      true
    end

    def self.processed_count
      with_schema { |c| c.query("SELECT COUNT(*) AS n FROM processed_jobs").first["n"] }
    end

    def self.recent(limit = 5)
      with_schema do |c|
        c.query("SELECT jid, note, enqueued_at, processed_at, processed_by FROM processed_jobs " \
                "ORDER BY id DESC LIMIT #{Integer(limit)}").to_a
      end
    end

    def self.record!(jid:, note:, enqueued_at:, processed_by:)
      with_schema do |c|
        stmt = c.prepare("INSERT IGNORE INTO processed_jobs (jid, note, enqueued_at, processed_by) " \
                         "VALUES (?, ?, ?, ?)")
        stmt.execute(jid, note.to_s[0, 200], enqueued_at, processed_by)
      ensure
        stmt&.close
      end
    end
  end
end
