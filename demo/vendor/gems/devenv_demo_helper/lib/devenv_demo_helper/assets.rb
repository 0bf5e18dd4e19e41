# Resolves logical asset names (app.js) to the fingerprinted files bin/build-assets wrote.
require "json"

module DevenvDemoHelper
  class Assets
    def initialize(root, prefix: "/assets")
      @root = root
      @prefix = prefix
    end

    # Read on every call: in development the node container rewrites the manifest under a
    # running puma, and a stale cached name would point the page at a deleted file.
    def path(name)
      file = manifest.fetch(name, name)
      "#{@prefix}/#{file}"
    end

    def manifest
      JSON.parse(File.read(File.join(@root, "manifest.json")))
    rescue Errno::ENOENT
      {}
    end

    def built?
      File.exist?(File.join(@root, "manifest.json"))
    end
  end
end
