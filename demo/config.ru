# Rack entry point for puma: static assets first, then the app.
require_relative "config/boot"

# No nginx in front (as in the seed story): puma serves public/assets itself. Fingerprinted
# files never change, so a CDN or browser may keep them forever; anything else
# (app.js, manifest.json) must be revalidated. Later rules override earlier ones.
use Rack::Static,
    urls: ["/assets"],
    root: File.expand_path("public", __dir__),
    header_rules: [
      [:all, { "cache-control" => "no-cache" }],
      [%r{\A/assets/.+-[0-9a-f]{12}\.js\z}, { "cache-control" => "public, max-age=31536000, immutable" }]
    ]

run Demo::Web.new
