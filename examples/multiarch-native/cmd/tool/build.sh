#!/bin/sh
# Builds the tool for the platform this image is built for.
set -eu
mkdir -p /out
printf '#!/bin/sh\necho "tool v1 (%s)"\n' "$(uname -m)" > /out/tool
chmod +x /out/tool
