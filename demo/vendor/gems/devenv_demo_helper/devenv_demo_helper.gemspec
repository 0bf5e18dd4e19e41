# The demo app's own gem: the one gem Bundler installs into /bundle (everything else is a
# Debian-packaged system gem), so the bundle volume has something real to hold and to lose.
require_relative "lib/devenv_demo_helper/version"

Gem::Specification.new do |s|
  s.name = "devenv_demo_helper"
  s.version = DevenvDemoHelper::VERSION
  s.summary = "Asset manifest lookup and small view helpers for the devenv demo app"
  s.authors = ["devenv"]
  s.license = "MIT"
  s.homepage = "https://example.invalid/devenv"
  s.required_ruby_version = ">= 3.0"
  s.files = Dir["lib/**/*.rb"]
end
