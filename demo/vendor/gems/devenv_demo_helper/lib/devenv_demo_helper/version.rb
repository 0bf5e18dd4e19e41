# Version of the demo helper gem; bump it and rebuild with bin/build-helper-gem.
module DevenvDemoHelper
  VERSION = "0.1.0"
end
