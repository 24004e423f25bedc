#!/usr/bin/env python3
"""Refresh the vendored browser build of the official socket.io-client from npm.

    python3 scripts/vendor_socketio.py

It installs exactly what ``tests/js/package-lock.json`` pins (``npm ci``), so the console, the
web-chat widget and the JavaScript client tests all use one version, then copies the ES-module
build and the licences of the packages bundled in it into ``nexus/console/vendor``. To move to
a newer version: ``cd tests/js && npm install socket.io-client@<version>``, then run this.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKED = ROOT / "tests" / "js"
VENDOR = ROOT / "nexus" / "console" / "vendor"
BUILD = "socket.io-client/dist/socket.io.esm.min.js"
#: The packages whose code the browser build bundles, each with its licence file.
BUNDLED = ("socket.io-client", "engine.io-client", "engine.io-parser", "socket.io-parser", "@socket.io/component-emitter")


def main() -> None:
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=LOCKED, check=True)
    modules = LOCKED / "node_modules"
    shutil.copyfile(modules / BUILD, VENDOR / "socket.io.esm.min.js")
    notices = []
    for package in BUNDLED:
        version = __import__("json").loads((modules / package / "package.json").read_text())["version"]
        notices.append(f"{package} {version}\n\n{(modules / package / 'LICENSE').read_text().strip()}\n")
    (VENDOR / "LICENSES.txt").write_text("\n\n".join(notices))
    print(f"vendored {BUILD} into {VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
