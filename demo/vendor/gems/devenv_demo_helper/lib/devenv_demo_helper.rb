# Helpers the demo app shares between puma and sidekiq.
require "devenv_demo_helper/version"
require "devenv_demo_helper/assets"

module DevenvDemoHelper
  ESCAPES = { "&" => "&amp;", "<" => "&lt;", ">" => "&gt;", '"' => "&quot;", "'" => "&#39;" }.freeze

  def self.h(text)
    text.to_s.gsub(/[&<>"']/, ESCAPES)
  end
end
