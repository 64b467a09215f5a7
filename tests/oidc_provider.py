"""A real OpenID Connect provider on loopback for the city sign-in's tests: panva's `oidc-provider`
(Node), run from `tests/oidc/provider.mjs` in a process of its own. `make test` installs it
(`npm ci` in tests/oidc, from the committed package-lock.json).

`Provider.sign_in` plays the person's browser at the provider: it follows the provider's redirects
with its own cookies, signs in as the given account on the test's login page, and stops at the
first redirect back to Legitka, returning that URL (code, state and iss as the provider sent them).
"""

from __future__ import annotations

import json
import pathlib
import select
import subprocess
from urllib.parse import urljoin

import pytest
import requests

HERE = pathlib.Path(__file__).resolve().parent / "oidc"
START_SECONDS = 30


class Provider:
    def __init__(self, folder: pathlib.Path, clients: list[dict], accounts: dict[str, dict]) -> None:
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("the test provider is not installed: run `make test`, or `npm ci` in tests/oidc")
        settings = folder / "oidc-settings.json"
        settings.write_text(json.dumps({"clients": clients, "accounts": accounts}))
        self.log = folder / "oidc-provider.log"
        with self.log.open("wb") as errors:
            self.process = subprocess.Popen(["node", str(HERE / "provider.mjs"), str(settings)],  # noqa: S607
                                            stdout=subprocess.PIPE, stderr=errors, cwd=HERE)
        ready, _, _ = select.select([self.process.stdout], [], [], START_SECONDS)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            pytest.fail(f"the test provider did not start: {self.log.read_text(errors='replace')[-2000:]}")
        self.issuer = json.loads(line)["issuer"]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()

    def sign_in(self, authorization_url: str, login: str, back_to: str = "http://localhost/") -> str:
        """The URL the provider sends the browser back to Legitka with, after signing in as `login`."""
        url = authorization_url
        with requests.Session() as browser:
            for _hop in range(10):
                if url.startswith(back_to):
                    return url
                response = browser.get(url, allow_redirects=False, timeout=10)
                if response.status_code == 200 and "/interaction/" in url:
                    url = f"{url}?login={login}"
                    continue
                assert response.status_code in (302, 303), (response.status_code, response.text[:500])
                url = urljoin(url, response.headers["Location"])
        raise AssertionError(f"the provider never sent the browser back: {url}")

