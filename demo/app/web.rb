# The demo's Rack app: the page, job enqueueing and the health check.
require "erb"
require "json"
require "rack"

module Demo
  class Web
    VIEWS = File.expand_path("views", __dir__)

    def initialize(public_dir: File.expand_path("../public", __dir__))
      @assets = DevenvDemoHelper::Assets.new(File.join(public_dir, "assets"))
    end

    def call(env)
      req = Rack::Request.new(env)
      case [req.request_method, req.path_info]
      when ["GET", "/"] then index
      when ["GET", "/jobs"] then json(200, processed: DB.processed_count)
      when ["POST", "/jobs"] then enqueue(req)
      when ["GET", "/health"] then health
      else text(404, "not found: #{req.request_method} #{req.path_info}\n")
      end
    rescue Mysql2::Error, Redis::BaseError => e
      text(503, "backend unavailable: #{e.class}: #{e.message}\n")
    end

    private

    def index
      # Read per request so an edited view shows up without restarting puma.
      template = ERB.new(File.read(File.join(VIEWS, "index.html.erb")), trim_mode: "-")
      html(200, template.result_with_hash(
        count: DB.processed_count,
        recent: DB.recent,
        assets: @assets,
        h: DevenvDemoHelper.method(:h)
      ))
    end

    def enqueue(req)
      note = req.params["note"].to_s.strip
      note = "from #{req.user_agent.to_s.split('/').first || 'a client'}" if note.empty?
      jid = RecordJob.perform_async(note, Time.now.to_f)
      if req.get_header("HTTP_ACCEPT").to_s.include?("application/json")
        json(202, enqueued: jid)
      else
        [303, { "location" => "/", "content-type" => "text/plain" }, ["enqueued #{jid}\n"]]
      end
    end

    def health
      checks = {
        mysql: check { DB.ping },
        redis: check { Sidekiq.redis { |r| r.ping } == "PONG" }
      }
      json(checks.values.all?("ok") ? 200 : 503, checks)
    end

    def check
      yield ? "ok" : "unexpected answer"
    rescue StandardError => e
      "#{e.class}: #{e.message}"
    end

    def html(status, body)
      [status, { "content-type" => "text/html; charset=utf-8" }, [body]]
    end

    def json(status, data)
      [status, { "content-type" => "application/json" }, [JSON.generate(data) + "\n"]]
    end

    def text(status, body)
      [status, { "content-type" => "text/plain; charset=utf-8" }, [body]]
    end
  end
end
