"""Browser fixtures for the web UI tests: Debian's headless Chromium driven by Selenium.

    from ui_fixtures import browser, ui, ui_base_url  # noqa: F401  (pytest fixtures)

    def test_login(ui, admin):
        ui.login(admin.userid, admin.password)
        ui.wait_text("[data-testid=resource-tree]", "vireotest")

`browser` is one Chromium per module; `ui` gives each test a logged-out page object (`UI`) on
the daemon's `https://127.0.0.1:<port>/` (override the `ui_base_url` fixture to point elsewhere).
Every test using `ui` fails on any SEVERE browser console message unless it declared it with
`ui.expect_console_error(substring)`, and leaves screenshots in tests/api/.artifacts/ui/:
`<test>-end.png` always, `<test>.png` when it failed.

Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import prerequisite

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - reported by the browser fixture
    webdriver = None

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / ".artifacts" / "ui"
WINDOW = (1280, 800)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:150] or "test"


def new_browser():
    """A headless Chromium (Debian's chromium + chromedriver) with the browser console kept."""
    prerequisite(webdriver is not None, "python package 'selenium' (pip install -r tests/api/requirements.txt)")
    prerequisite(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} (apt-get install chromium)")
    prerequisite(os.access(CHROMEDRIVER, os.X_OK), f"{CHROMEDRIVER} (apt-get install chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never reach for the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-extensions", "--lang=en-US"):
        options.add_argument(arg)
    options.accept_insecure_certs = True  # the node's self-signed certificate
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # --window-size is the outer window: headless Chromium keeps ~143 px of it for browser chrome.
    # Grow the window so that the page itself (and so every screenshot) is 1280x800.
    width, height = driver.execute_script("return [innerWidth, innerHeight]")
    if (width, height) != WINDOW:
        driver.set_window_size(2 * WINDOW[0] - width, 2 * WINDOW[1] - height)
    return driver


@pytest.fixture(scope="module")
def browser():
    driver = new_browser()
    try:
        yield driver
    finally:
        try:
            driver.quit()
        except WebDriverException:
            pass


@pytest.fixture
def ui_base_url(daemon) -> str:
    """Where the UI is: the test daemon's `https://127.0.0.1:<port>/`."""
    return daemon.url + "/"


class UI:
    """A page object over one browser tab on the UI. CSS selectors everywhere."""

    def __init__(self, driver, base_url: str, test_name: str):
        self.driver = driver
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.test_name = _safe_name(test_name)
        self.console: list[dict] = []  # every browser console entry seen during the test
        self.allowed_errors: list[str] = []

    # -- navigation and forms

    def open(self, hash_route: str = "") -> None:
        """Loads the app at a hash route: `open("#/qemu/100/hardware")` or `open("/qemu/100")`."""
        route = hash_route.lstrip("#")
        self.driver.get(self.base_url + ("#" + route if route else ""))

    def login(self, user: str, password: str, realm: str = "pve", wait: bool = True) -> None:
        """Fills the login form and submits it; with `wait`, until the resource tree shows.
        `user` may carry its realm (`admin@pve`); the realm select is set either way."""
        if not self.driver.current_url.startswith(self.base_url):
            self.open()
        if "@" in user:
            user, realm = user.rsplit("@", 1)
        name = self.wait_for("#login-username")
        name.clear()
        name.send_keys(user)
        secret = self.wait_for("#login-password")
        secret.clear()
        secret.send_keys(password)
        Select(self.wait_for("#login-realm")).select_by_value(realm)
        self.click("#login-submit")
        if wait:
            self.wait_for("[data-testid=resource-tree]")

    def wait_for(self, css: str, timeout: float = 10, visible: bool = True):
        """The first element matching `css` once it exists (and, with `visible`, is displayed)."""
        condition = EC.visibility_of_element_located if visible else EC.presence_of_element_located
        return self._wait(condition((By.CSS_SELECTOR, css)), timeout, f"{css} {'visible' if visible else 'present'}")

    def wait_gone(self, css: str, timeout: float = 10) -> None:
        self._wait(EC.invisibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"{css} gone")

    def wait_text(self, css: str, text: str, timeout: float = 10):
        """The element matching `css` once its text contains `text`."""
        self._wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout,
                   f"{css} containing {text!r}")
        return self.find(css)

    def wait_until(self, predicate, timeout: float = 10, what: str = "condition"):
        """`predicate(driver)` truthy (its value is returned)."""
        return self._wait(predicate, timeout, what)

    def click(self, css: str, timeout: float = 10) -> None:
        self._wait(EC.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout, f"{css} clickable").click()

    def type(self, css: str, text: str, clear: bool = True) -> None:
        field = self.wait_for(css)
        if clear:
            field.clear()
        field.send_keys(text)

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def _wait(self, condition, timeout: float, what: str):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition)
        except TimeoutException:
            body = ""
            try:
                body = self.driver.find_element(By.TAG_NAME, "body").text[:600]
            except WebDriverException:
                pass
            pytest.fail(f"timed out after {timeout} s waiting for {what} on {self.driver.current_url}\n"
                        f"page text: {body!r}\nconsole: {self.console_messages()}", pytrace=False)

    # -- artifacts

    def screenshot(self, name: str = "") -> Path:
        """Saves the viewport as .artifacts/ui/<test>[-<name>].png; returns the path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test_name}{'-' + _safe_name(name) if name else ''}.png"
        self.driver.save_screenshot(str(path))
        return path

    # -- the browser console

    def expect_console_error(self, substring: str) -> None:
        """Allows SEVERE console messages containing `substring` for this test (e.g. the failed
        fetch of a deliberate 401: "…/access/ticket - Failed to load resource: … 401")."""
        self.allowed_errors.append(substring)

    def collect_console(self) -> list[dict]:
        """Drains the browser's console log into `self.console`; returns the new entries."""
        try:
            entries = self.driver.get_log("browser")
        except WebDriverException:
            entries = []
        self.console += entries
        return entries

    def console_messages(self, level: str | None = None) -> list[str]:
        self.collect_console()
        return [f"{e.get('level')} {e.get('source', '')}: {e.get('message')}" for e in self.console
                if level is None or e.get("level") == level]

    def unexpected_errors(self) -> list[dict]:
        self.collect_console()
        return [e for e in self.console if e.get("level") == "SEVERE"
                and not any(allowed in str(e.get("message", "")) for allowed in self.allowed_errors)]

    def check_console(self) -> None:
        """Fails when the console has a SEVERE message that the test did not expect."""
        errors = self.unexpected_errors()
        if errors:
            lines = "\n".join(f"  {e.get('source', '')}: {e.get('message')}" for e in errors)
            pytest.fail(f"{len(errors)} SEVERE browser console message(s) (declare expected ones with "
                        f"ui.expect_console_error):\n{lines}", pytrace=False)

    # -- between tests

    def reset(self) -> None:
        """Logged out with nothing stored: no cookies, no local/session storage, a blank tab."""
        driver = self.driver
        origin = re.match(r"^[a-z]+://[^/]+", self.base_url).group(0)
        try:
            if driver.current_url.startswith(origin):
                driver.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
        except WebDriverException:
            pass
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
        driver.get("about:blank")


@pytest.fixture
def ui(request, browser, ui_base_url):
    """A logged-out UI page object for one test; see the module docstring."""
    page = UI(browser, ui_base_url, request.node.name)
    page.reset()
    browser.get_log("browser")  # drop what earlier tests left
    request.node.after_call_checks = getattr(request.node, "after_call_checks", []) + [page.check_console]
    yield page
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    try:
        if failed:
            print(f"screenshot on failure: {page.screenshot()}")
        page.screenshot("end")
    except WebDriverException as error:
        print(f"no screenshot: {error}")
    messages = page.console_messages()
    if messages:
        print("browser console:\n  " + "\n  ".join(messages))
    try:
        page.reset()
    except WebDriverException as error:
        print(f"browser reset failed: {error}")


__all__ = ["ARTIFACTS", "UI", "browser", "new_browser", "ui", "ui_base_url"]
