#!/usr/bin/env bash
# Runs every test suite of the repo: front-end (type-check + Vitest), then every .NET test project
# (unit, functional, Aspire integration over the real AppHost, real-browser). Ends with one line
# "N passed, N failed" that counts them all; exits non-zero if anything failed or did not run.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results="$root/artifacts/test-results"
rm -rf "$results" && mkdir -p "$results"

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required: $2" >&2; exit 2; }; }
need dotnet "install the .NET 10 SDK"
need node "install Node.js 20 or later"
need npm "install npm (comes with Node.js)"

# The browser tests drive a real Chromium. Use CHROMIUM_PATH, else the system's chromium.
if [ -z "${CHROMIUM_PATH:-}" ]; then
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then CHROMIUM_PATH=$(command -v "$candidate"); break; fi
  done
fi
if [ -z "${CHROMIUM_PATH:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || { echo "error: could not install chromium" >&2; exit 2; }
    CHROMIUM_PATH=$(command -v chromium)
  else
    echo "error: the browser tests need Chromium: install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH" >&2
    exit 2
  fi
fi
export CHROMIUM_PATH

# The tests with two API replicas (functional and AppHost) and of the shared limits run a local redis-server.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing redis-server for the two-replica tests (apt-get install redis-server)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) || { echo "error: could not install redis-server" >&2; exit 2; }
  else
    echo "error: the two-replica tests need redis-server: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)" >&2
    exit 2
  fi
fi

status=0

echo "== Front end: npm ci, type-check, Vitest"
(
  cd GptAspire.Web &&
  # The same rule as the AppHost's install step: node_modules newer than package.json and package-lock.json.
  { [ node_modules/.package-lock.json -nt package-lock.json ] && [ node_modules/.package-lock.json -nt package.json ] || npm ci --no-audit --no-fund; } &&
  npm run --silent type-check &&
  npx vitest run --reporter=default --reporter=junit --outputFile.junit="$results/web.junit.xml"
) || status=1

echo "== .NET: build, then every test project"
if dotnet build GptAspire.sln -c Debug --nologo -v q; then
  # A test that hangs past every bound of its own (each async test has xunit's timeout) ends its test host here,
  # and the run goes on with the next project.
  dotnet test GptAspire.sln --no-build --nologo --logger "trx" --results-directory "$results" \
    --blame-hang-timeout 10m --blame-hang-dump-type none || status=1
else
  status=1
fi

node eng/test-summary.mjs "$results" || status=1
exit $status
