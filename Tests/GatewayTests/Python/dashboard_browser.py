"""The dashboard in a real browser (Debian's headless Chromium through Selenium), driven by
DashboardBrowserTests over a line protocol: this script prints `READY <phase>` and waits for a
line on stdin before each phase that needs the test to act, and prints `RESULT <phase> <json>`
with what it measured. The test judges the results; this script only observes the page.

Environment: DASHBOARD_URL, READ_TOKEN, CONTROL_TOKEN, SCREENSHOTS (a directory, optional).
"""

import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

URL = os.environ["DASHBOARD_URL"]
TOKEN = os.environ["READ_TOKEN"]
CONTROL_TOKEN = os.environ["CONTROL_TOKEN"]
SHOTS = os.environ.get("SCREENSHOTS")


def say(line):
    print(line, flush=True)


def wait_line():
    line = sys.stdin.readline()
    if not line:
        sys.exit("the test went away")
    return line.strip()


def until(driver, script, timeout=120, what="condition"):
    """Polls a JavaScript expression until it is truthy; returns its value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script("return " + script)
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{what} not met within {timeout} s: {script}")


def shot(driver, name):
    if SHOTS:
        driver.save_screenshot(os.path.join(SHOTS, f"dashboard-{name}.png"))


options = Options()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,2200", "--disable-gpu"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
driver.set_script_timeout(60)
try:
    # --- panels with real data ---------------------------------------------------------------
    driver.get(URL)
    driver.execute_script("localStorage.setItem('vakt.readToken', arguments[0]); localStorage.setItem('vakt.theme', 'dark')", TOKEN)
    driver.get(URL)
    until(driver, "window.vakt && window.vakt.connection === 'live'", what="live connection")
    until(driver, "document.querySelector('#ess-badge').textContent.match(/armed|tripped|reducing|cooldown/)", what="ESS state")
    until(driver, "document.querySelectorAll('#mesh-graph circle').length >= 8", what="mesh graph")
    until(driver, "document.querySelector('#pnl-figures dd') && /\\d/.test(document.querySelector('#pnl-figures dd').textContent)", what="equity")
    until(driver, "/received/.test(document.querySelector('#signals-line').textContent)", what="signal accounting")
    until(driver, "document.querySelector('#ai h3') !== null", what="AI panel")
    say("READY trade")
    wait_line()
    until(driver, "document.querySelectorAll('#trades tr').length >= 1", what="a trade")
    until(driver, "document.querySelector('#positions .vrow[data-symbol=BTCUSDT]') !== null", what="the BTCUSDT position")
    panels = driver.execute_script(
        """return {
          ess: document.querySelector('#ess-badge').textContent,
          meshNodes: document.querySelectorAll('#mesh-graph circle').length,
          meshStatus: document.querySelector('#mesh-status').textContent,
          equity: document.querySelector('#pnl-figures dd').textContent,
          trades: document.querySelectorAll('#trades tr').length,
          positions: document.querySelectorAll('#positions .vrow').length,
          signals: document.querySelector('#signals-line').textContent,
          ai: document.querySelector('#ai').textContent.slice(0, 200),
          alerts: document.querySelector('#alerts').textContent.slice(0, 200),
          ages: [...document.querySelectorAll('.age')].map((node) => node.textContent),
          labelled: [...document.querySelectorAll('button')].every((button) => button.textContent.trim().length > 0),
          sectionsMissing: [...document.querySelectorAll('section')].filter((s) => !s.getAttribute('aria-labelledby')).length,
        }"""
    )
    # Amounts are shown rounded by their digits, never through a float; the exact value is the
    # element's title.
    panels["readable"] = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        import('/js/views.js').then((views) => done(arguments[0].map((text) => views.readable(text))));""",
        ["1234.565", "-0.004", "0.000157009536799625", "-1.008483091804929346", "5", "x", "-0.0000000001", "0.995"],
    )
    shot(driver, "dark")
    driver.find_element(By.ID, "theme-button").click()
    until(driver, "document.documentElement.dataset.theme === 'light'", what="light theme")
    time.sleep(0.5)
    shot(driver, "light")
    driver.find_element(By.ID, "theme-button").click()
    driver.find_element(By.ID, "ess-trip").click()
    until(driver, "document.querySelector('#action-dialog').open", what="the ESS dialog")
    shot(driver, "ess-dialog")
    driver.execute_script("document.querySelector('#action-dialog').close('cancel')")

    # A row's action through its dialog (token and reason), relayed by the gateway to execution:
    # the row shows the pause once the snapshot has it; then resumed the same way.
    def row_action(label, reason):
        # A snapshot may redraw the row between finding its button and clicking it: found again.
        for attempt in range(100):
            try:
                driver.find_element(By.CSS_SELECTOR, f"#positions .vrow[data-symbol=BTCUSDT] button[aria-label^='{label}']").click()
                break
            except StaleElementReferenceException:
                if attempt == 99:
                    raise
                time.sleep(0.05)
        until(driver, "document.querySelector('#action-dialog').open", what=f"the {label} dialog")
        driver.find_element(By.ID, "action-token").send_keys(CONTROL_TOKEN)
        driver.find_element(By.ID, "action-reason").send_keys(reason)
        title = driver.find_element(By.ID, "action-dialog-title").text
        if label == "Pause":
            shot(driver, "pause-dialog")
        driver.find_element(By.ID, "action-confirm").click()
        until(driver, "!document.querySelector('#action-dialog').open", what=f"the {label} dialog closing after its answer")
        return title

    panels["pauseTitle"] = row_action("Pause", "browser test pause")
    until(driver, "document.querySelector('#positions .vrow.paused[data-symbol=BTCUSDT]') !== null", what="the row showing the pause")
    panels["pausedLine"] = driver.find_element(By.ID, "paused-line").text
    panels["actionStatus"] = driver.find_element(By.ID, "action-status").text
    row_action("Resume", "browser test resume")
    until(driver, "document.querySelector('#positions .vrow.paused') === null", what="the row showing the resume")
    say("RESULT panels " + json.dumps(panels))

    # --- a flood: the page stays responsive and ends on the final state ------------------------
    driver.execute_script("window.vakt.resetStats()")
    # What the connection line said during the flood, for the report below if the page falls
    # short: a cut-off, a reconnection or a fresh snapshot explains a missing position.
    driver.execute_script(
        """window.floodConnectionLog = [];
        const node = document.querySelector('#connection');
        new MutationObserver(() => window.floodConnectionLog.push(new Date().toISOString().slice(11, 23) + ' ' + node.textContent))
          .observe(node, { childList: true, characterData: true, subtree: true });"""
    )
    say("READY flood")
    finals = json.loads(wait_line())  # {symbol: quantity} once the test's events are all in
    driver.execute_script("window.floodFinals = arguments[0]", finals)
    behind = "Object.entries(window.floodFinals).filter(([s, q]) => { const r = window.vakt.store.positions.get(s); return !r || r.quantity !== q; })"
    try:
        until(driver, f"{behind}.length === 0", timeout=240, what="every position's final quantity")
    except TimeoutError:
        report = driver.execute_script(
            f"""const behind = {behind};
            return {{ behind: behind.length, first: behind.slice(0, 5).map(([s, q]) => [s, q, (window.vakt.store.positions.get(s) || {{}}).quantity]),
              positions: window.vakt.store.positions.size, generatedAt: window.vakt.store.generatedAt,
              connection: window.vakt.connection, log: window.floodConnectionLog.slice(-20) }};"""
        )
        raise TimeoutError("the page did not reach every position's final quantity: " + json.dumps(report)) from None
    stats = driver.execute_script("return Object.assign({}, window.vakt.stats)")
    # The list draws on animation frames, after the store: on a loaded machine it may still show
    # the one row it had (a busy CI run read 1) when the store already holds the 1,000 flooded.
    until(
        driver,
        f"Number(document.querySelector('#positions').getAttribute('aria-rowcount')) >= {len(finals)}",
        timeout=300,
        what="the positions list drawing every position",
    )
    # 1,000 positions scroll: the list holds only the rows in view, and the last one is reachable.
    scroll = driver.execute_script(
        """const list = document.querySelector('#positions');
        const before = list.querySelectorAll('.vrow').length;
        list.scrollTop = list.scrollHeight;
        return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve({
          rows: Number(list.getAttribute('aria-rowcount')), rendered: list.querySelectorAll('.vrow').length, before,
          last: [...list.querySelectorAll('.vrow')].map((row) => row.dataset.symbol).sort().pop(),
        }))));"""
    )
    shot(driver, "positions-scrolled")
    say("RESULT flood " + json.dumps({"stats": stats, "scroll": scroll}))

    # --- the gateway restarted: the page says so, and recovers by itself ------------------------
    say("READY restart")
    wait_line()  # the gateway has been killed
    until(driver, "window.vakt.connection !== 'live'", timeout=60, what="the page noticing the gateway is gone")
    degraded = driver.execute_script("return document.querySelector('#connection').textContent")
    shot(driver, "degraded")
    until(driver, "window.vakt.connection === 'live'", timeout=180, what="the page reconnecting")
    say("READY after-restart")
    symbol = wait_line()  # a position published after the restart
    until(driver, f"window.vakt.store.positions.has('{symbol}')", timeout=120, what="an update after the restart")
    say("RESULT restart " + json.dumps({"degraded": degraded, "connection": driver.execute_script("return window.vakt.connection")}))
finally:
    driver.quit()
