"""Screenshots from browser tours: a tour step logs ``mro-screenshot <name>`` and the test runner saves the page
as ``<name>.png`` in ``var/screenshots`` (in ``docs/`` with MRO_UPDATE_DOCS=1)."""

import base64
import contextlib
import os
from pathlib import Path
from unittest.mock import patch

from odoo.tests.common import ChromeBrowser

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def screenshots():
    """Yields (target folder, list of names taken) while Chromium's console is watched for screenshot requests."""
    target = ROOT / ("docs" if os.environ.get("MRO_UPDATE_DOCS") else "var/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    taken = []
    original = ChromeBrowser._handle_console

    def handle_console(browser, type, args=None, stackTrace=None, **kw):
        if args and str(browser._from_remoteobject(args[0])).startswith("mro-screenshot "):
            name = str(browser._from_remoteobject(args[0])).split(" ", 1)[1]

            def save(future, name=name):
                data = future.result(timeout=0)["data"]
                (target / f"{name}.png").write_bytes(base64.b64decode(data))
                taken.append(name)

            browser._websocket_send("Page.captureScreenshot", with_future=True).add_done_callback(save)
            return None
        return original(browser, type, args=args, stackTrace=stackTrace, **kw)

    with patch.object(ChromeBrowser, "_handle_console", handle_console):
        yield target, taken
