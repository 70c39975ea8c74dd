#!/usr/bin/env python3
"""Web UI benchmarks (issue 14), in headless Chromium (Debian's chromium + chromedriver):
- first load on a warm daemon with an empty browser cache: bytes transferred and the time from
  navigation to the resource tree drawn; and the same with the cache warm;
- the time from a VM state change (a start/stop call) to the tree showing it, with the event
  stream (target < 1 s) and, for comparison, with the stream unavailable (the UI polls every 3 s).

Usage: bench_ui.py PORT USER PASSWORD NODE TOKEN
"""
import http.client
import json
import os
import ssl
import statistics
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

port, user, password, node, token = sys.argv[1:6]
base = f"https://127.0.0.1:{port}"
rounds = int(os.environ.get("BENCH_UI_ROUNDS", "5"))
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE


def request(method, path, params=None):
    connection = http.client.HTTPSConnection("127.0.0.1", int(port), context=context, timeout=120)
    body = urllib.parse.urlencode(params or {})
    connection.request(method, "/api2/json" + path, body=body if method in ("POST", "PUT") else None,
                       headers={"Authorization": f"PVEAPIToken={token}",
                                "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {response.reason} {data[:200]!r}")
    return json.loads(data)["data"]


def wait_task(upid):
    quoted = urllib.parse.quote(upid, safe="")
    while request("GET", f"/nodes/{node}/tasks/{quoted}/status")["status"] != "stopped":
        time.sleep(0.02)


def browser():
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(arg)
    options.accept_insecure_certs = True
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def login(driver):
    """Logs in through the API as the UI does, and leaves the session where the UI keeps it."""
    connection = http.client.HTTPSConnection("127.0.0.1", int(port), context=context)
    connection.request("POST", "/api2/json/access/ticket", body=urllib.parse.urlencode(
        {"username": user, "password": password}), headers={"Content-Type": "application/x-www-form-urlencoded"})
    ticket = json.loads(connection.getresponse().read())["data"]["ticket"]
    connection.close()
    driver.get(base + "/favicon.ico")  # on the origin, with nothing of the app loaded
    driver.add_cookie({"name": "PVEAuthCookie", "value": urllib.parse.quote(ticket, safe=""),
                       "path": "/", "secure": True})


def tree_drawn(driver, timeout=30):
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.querySelectorAll('[data-testid=tree-item]').length > 1"))
    return driver.execute_script("return performance.now()")


def latency(driver, vmid, polling):
    """Times from sending a start/stop call to the tree row showing the new status (median,
    worst), and the median time the call's task took (the state changes inside it)."""
    driver.execute_script("""
        window.__changes = [];
        const row = () => document.querySelector('[data-testid=tree-item][data-id="qemu/' + arguments[0] + '"]');
        new MutationObserver(() => {
            const r = row();
            if (r) window.__changes.push([r.getAttribute('data-status'), performance.timeOrigin + performance.now()]);
        }).observe(document.body, {subtree: true, attributes: true, childList: true,
                                   attributeFilter: ['data-status']});""", vmid)
    seen_after, task_took = [], []
    for action, status in [("start", "running"), ("stop", "stopped")] * rounds:
        driver.execute_script("window.__changes = []")
        sent = time.time() * 1000
        wait_task(request("POST", f"/nodes/{node}/qemu/{vmid}/status/{action}"))
        task_took.append(time.time() * 1000 - sent)
        seen = WebDriverWait(driver, 15 if polling else 5).until(lambda d: d.execute_script(
            "return window.__changes.find(c => c[0] === arguments[0]) || null", status))
        seen_after.append(seen[1] - sent)
    return statistics.median(seen_after), max(seen_after), statistics.median(task_took)


vmid = 9990
wait_task(request("POST", f"/nodes/{node}/qemu",
                  {"vmid": vmid, "name": "uibench", "memory": 64, "kvm": 0, "vga": "none"}))
drivers = []
try:
    cold = browser()
    drivers.append(cold)
    # A first browser logs in with the form, to learn what the UI keeps in localStorage.
    cold.get(base + "/")
    WebDriverWait(cold, 30).until(lambda d: d.execute_script("return !!document.querySelector('#login-username')"))
    cold.find_element("css selector", "#login-username").send_keys(user.split("@")[0])
    cold.execute_script("document.querySelector('#login-realm').value = arguments[0]", user.split("@")[1])
    cold.find_element("css selector", "#login-password").send_keys(password)
    cold.find_element("css selector", "#login-submit").click()
    tree_drawn(cold)
    stored = cold.execute_script("return Object.fromEntries(Object.entries(localStorage))")

    fresh = browser()
    drivers.append(fresh)
    login(fresh)
    fresh.execute_script("for (const [k, v] of Object.entries(arguments[0])) localStorage.setItem(k, v)", stored)
    fresh.get(base + "/#/datacenter/summary")
    cold_ms = tree_drawn(fresh)
    cold_bytes = fresh.execute_script("""
        const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
        return entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);""")
    fresh.refresh()
    warm_ms = tree_drawn(fresh)
    warm_bytes = fresh.execute_script("""
        const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
        return entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);""")
    print(f"UI first load, empty cache    {cold_ms:8.0f} ms to the tree drawn, {cold_bytes / 1024:7.1f} KiB transferred")
    print(f"UI load, warm cache           {warm_ms:8.0f} ms to the tree drawn, {warm_bytes / 1024:7.1f} KiB transferred")

    median, worst, task = latency(fresh, vmid, polling=False)
    print(f"start/stop call -> tree (stream)  {median:6.0f} ms median, {worst:.0f} ms worst of {2 * rounds}"
          f"; the task itself {task:.0f} ms  (target < 1000 ms)")

    polled = browser()
    drivers.append(polled)
    polled.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"})
    login(polled)
    polled.execute_script("for (const [k, v] of Object.entries(arguments[0])) localStorage.setItem(k, v)", stored)
    polled.get(base + "/#/datacenter/summary")
    tree_drawn(polled)
    median, worst, task = latency(polled, vmid, polling=True)
    print(f"start/stop call -> tree (polling) {median:6.0f} ms median, {worst:.0f} ms worst of {2 * rounds}"
          f"; the task itself {task:.0f} ms  (no event stream: the UI polls every 3 s)")
finally:
    for driver in drivers:
        driver.quit()
    try:
        request("POST", f"/nodes/{node}/qemu/{vmid}/status/stop")
    except SystemExit:
        pass
    time.sleep(1)
    try:
        request("DELETE", f"/nodes/{node}/qemu/{vmid}")
    except SystemExit:
        pass
