#!/usr/bin/env bash
# Installs the Debian packages and starts the local services the suite talks to, if missing.
# Idempotent; prints only what it changes.
set -euo pipefail

# Besides the packages asked for: prometheus, the server the analysis tests start themselves
# (the optional Prometheus provider, `prometheus_url`); nothing here starts it. chromium, the
# browser the dashboard's browser tests drive through Playwright (/usr/bin/chromium; Playwright's
# own browser download does not work offline).
packages=("$@" prometheus chromium)
need_apt=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 (trust auth, database "test") backs the PostgreSQL tests.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi
