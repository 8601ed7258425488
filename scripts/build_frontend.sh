#!/usr/bin/env bash
# Build front-end static assets (committed as built files).
#   static/src/app.scss           -> static/css/app.css (compressed, no source map)
#   govuk-frontend JS             -> static/govuk/govuk-frontend.min.js
#   govuk-frontend images         -> static/govuk/images/ (unbranded only)
#   govuk-frontend licence        -> static/govuk/LICENSE.txt
# npm packages are installed in a temp dir; nothing is left in the repo.
# Fonts are NOT copied (GDS Transport is licensed for gov.uk only).
set -euo pipefail

GOVUK_FRONTEND_VERSION=6.3.0   # matches govuk-frontend-jinja 4.1.0
SASS_VERSION=1.97.3

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "Installing govuk-frontend@$GOVUK_FRONTEND_VERSION sass@$SASS_VERSION in $WORK"
(
  cd "$WORK"
  echo '{"name":"frontend-build","private":true}' > package.json
  npm install --no-audit --no-fund --ignore-scripts --save-exact \
    "govuk-frontend@$GOVUK_FRONTEND_VERSION" "sass@$SASS_VERSION" >/dev/null
)

GF="$WORK/node_modules/govuk-frontend"
got="$(node -p "require('$GF/package.json').version")"
if [[ "$got" != "$GOVUK_FRONTEND_VERSION" ]]; then
  echo "error: installed govuk-frontend $got, expected $GOVUK_FRONTEND_VERSION" >&2
  exit 1
fi
DIST="$GF/dist/govuk"

# Start from clean outputs so re-runs don't leave stale files.
rm -rf "$ROOT/static/govuk" "$ROOT/static/css/app.css" "$ROOT/static/css/app.css.map"
mkdir -p "$ROOT/static/css" "$ROOT/static/govuk/images"

echo "Compiling static/src/app.scss -> static/css/app.css"
"$WORK/node_modules/.bin/sass" \
  --no-source-map --style=compressed \
  --load-path="$WORK/node_modules" \
  "$ROOT/static/src/app.scss" "$ROOT/static/css/app.css"

# Drop the sourceMappingURL comment: the .map is not shipped (avoids 404s).
sed 's|//# sourceMappingURL=[^ ]*$||' "$DIST/govuk-frontend.min.js" \
  > "$ROOT/static/govuk/govuk-frontend.min.js"

# Images: skip everything carrying the crown/crest or GOV.UK branding.
# In 6.3.0 that is every file (favicon.ico/.svg show the crown), so none are copied.
for f in "$DIST"/assets/images/*; do
  name="$(basename "$f")"
  case "$name" in
    govuk-crest*|*crown*|govuk-opengraph-image*|govuk-icon-*|favicon.*)
      echo "  skip (GOV.UK branding): $name" ;;
    *)
      cp "$f" "$ROOT/static/govuk/images/$name"
      echo "  copy: $name" ;;
  esac
done

# Licence. The npm package ships no LICENSE file (package.json says "MIT");
# use it if a future version does, otherwise write the upstream MIT notice.
lic="$(find "$GF" -maxdepth 1 -iname 'licen[cs]e*' | head -n1)"
if [[ -n "$lic" ]]; then
  cp "$lic" "$ROOT/static/govuk/LICENSE.txt"
else
  [[ "$(node -p "require('$GF/package.json').license")" == "MIT" ]] || {
    echo "error: govuk-frontend licence is no longer MIT; review" >&2; exit 1; }
  cat > "$ROOT/static/govuk/LICENSE.txt" <<'LICENCE'
govuk-frontend (https://github.com/alphagov/govuk-frontend)

The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENCE
fi

# Checks on the built CSS: no GOV.UK font, every url() resolves to a shipped file.
css="$ROOT/static/css/app.css"
if grep -q 'GDS Transport' "$css" || grep -q '@font-face' "$css"; then
  echo "error: app.css references GDS Transport / @font-face" >&2; exit 1
fi
status=0
while IFS= read -r u; do
  p="${u#url(}"; p="${p%)}"; p="${p//\"/}"; p="${p//\'/}"
  case "$p" in
    data:*) continue ;;
    /static/*) [[ -f "$ROOT$p" ]] || { echo "error: $u -> missing $ROOT$p" >&2; status=1; } ;;
    *) echo "error: unexpected url $u" >&2; status=1 ;;
  esac
done < <(grep -o 'url([^)]*)' "$css" || true)
exit "$status"
