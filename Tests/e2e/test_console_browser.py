"""The console in a real browser: Debian's chromium driven by chromedriver through selenium,
against the test stack. Screenshots of each page land in .run/test/outputs/screens/ (test
artifacts, never committed)."""
import os
import shutil
import time

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as loaded
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import run_dir
from console_support import DETAILS, login_link, operator, submitted_draft
from governance_support import control, payload_item, registry, run_sync  # noqa: F401 (fixtures)
from sql_support import sql


@pytest.fixture
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are needed (scripts/install-deps.sh installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-gpu"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.set_page_load_timeout(20)
    yield session
    session.quit()


def after_click(browser, element, heading):
    """Clicks and waits for the next page (a click returns before the navigation ends)."""
    element.click()
    WebDriverWait(browser, 15).until(loaded.text_to_be_present_in_element((By.TAG_NAME, "h1"), heading))


def submitted_with_notice(browser, button, text):
    """Clicks a form's button and waits for the page it leads to, with its notice. While the old
    document is being replaced chromedriver may answer "Node … does not belong to the document"
    instead of a stale-element error; both mean "not there yet"."""
    button.click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda b: text in b.find_element(By.CLASS_NAME, "notice").text)


def screenshot(env, browser, name):
    folder = os.path.join(run_dir(env), "outputs", "screens")
    os.makedirs(folder, exist_ok=True)
    browser.save_screenshot(os.path.join(folder, f"{name}.png"))


def console_errors(browser):
    """What the page logged as errors (a CSP violation or a failed asset would be here)."""
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_a_reviewer_signs_in_and_approves_a_trial_in_a_browser(env, browser):
    draft = submitted_draft(env)
    name = operator(env, "reviewer")
    browser.get(login_link(env, name))
    assert browser.current_url == env["CONTROLPLANE_CONSOLE_URL"]
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert f"{name} (reviewer)" in browser.find_element(By.TAG_NAME, "header").text
    screenshot(env, browser, "overview")

    after_click(browser, browser.find_element(By.LINK_TEXT, "Trials"), "Trials to review")
    row = browser.find_element(By.XPATH, f"//form[@action='/console/trials/{draft}/approve']/ancestor::tr")
    # The hostile company name is shown as text: no element was injected.
    assert DETAILS["companyName"] in row.text
    assert browser.find_elements(By.XPATH, "//main//script | //main//img") == []
    screenshot(env, browser, "review-queue")
    form = row.find_element(By.XPATH, f".//form[@action='/console/trials/{draft}/approve']")
    form.find_element(By.NAME, "reason").send_keys("checked by phone")
    # The browser sends Origin: null (no-referrer) and Sec-Fetch-Site; back to the queue with a notice.
    submitted_with_notice(browser, form.find_element(By.TAG_NAME, "button"), "Approved: the tenant is being provisioned.")
    assert browser.find_elements(By.XPATH, f"//form[@action='/console/trials/{draft}/approve']") == []
    assert sql(env, f"SELECT status FROM trial_drafts WHERE id = '{draft}'").stdout.strip() == "approved"
    assert sql(env, f"SELECT actor, action, reason FROM audit_log WHERE target = 'trial_draft:{draft}'").stdout.strip() == \
        f"operator:{name}|trial.approve|checked by phone"

    after_click(browser, browser.find_element(By.LINK_TEXT, "Audit"), "Audit log")
    assert f"trial_draft:{draft}" in browser.find_element(By.TAG_NAME, "table").text
    screenshot(env, browser, "audit")
    assert console_errors(browser) == []

    after_click(browser, browser.find_element(By.XPATH, "//form[@action='/console/logout']//button"), "Sign in")
    assert "not signed in" in browser.find_element(By.TAG_NAME, "main").text


def test_a_viewer_sees_the_queue_without_the_means_to_decide(env, browser):
    draft = submitted_draft(env)
    browser.get(login_link(env, operator(env, "viewer")))
    browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "trials")
    row = browser.find_element(By.XPATH, f"//tr[td[contains(., 'Jane & Co')]][last()]")
    assert "reviewers decide" in row.text
    assert browser.find_elements(By.XPATH, f"//form[@action='/console/trials/{draft}/approve']") == []
    assert console_errors(browser) == []


def test_an_operator_sees_a_swept_region_and_issues_a_confirmed_command_in_a_browser(env, browser, registry, control):  # noqa: F811
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    registry.control("nodes", {"items": [{"nodeId": "node-a", "containerVersion": "2.1.0", "readiness": "READY", "lastHeartbeatAt": now}]})
    registry.add_items([payload_item("job-browser", b'{"steps": [1, 2],  "ok": true}')])
    region = control.add_region(registry.url)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    name = operator(env, "operator")
    browser.get(login_link(env, name))
    after_click(browser, browser.find_element(By.LINK_TEXT, "Regions"), "Regions")
    after_click(browser, browser.find_element(By.LINK_TEXT, region), f"Region {region}")
    assert "OK" in browser.find_element(By.XPATH, "//h2[.='Sweep runs']/following-sibling::table[1]").text
    screenshot(env, browser, "region")
    after_click(browser, browser.find_element(By.LINK_TEXT, "Jobs"), "Jobs")
    after_click(browser, browser.find_element(By.LINK_TEXT, "job-browser"), "Job job-browser")
    assert browser.find_element(By.CSS_SELECTOR, "pre.payload").text == '{"steps": [1, 2],  "ok": true}'  # as stored
    screenshot(env, browser, "job")

    browser.get(env["CONTROLPLANE_CONSOLE_URL"] + f"regions/{region}")
    form = browser.find_element(By.CSS_SELECTOR, "form.command")
    Select(form.find_element(By.NAME, "kind")).select_by_value("REIMAGE_NODE")
    form.find_element(By.NAME, "target").send_keys("node-a")
    form.find_element(By.NAME, "reason").send_keys("kernel panic twice")
    after_click(browser, form.find_element(By.TAG_NAME, "button"), "Issue REIMAGE_NODE?")
    assert sql(env, f"SELECT count(*) FROM governance_commands WHERE region_id = '{region}'").stdout.strip() == "0"  # not yet
    screenshot(env, browser, "confirm-command")
    submitted_with_notice(browser, browser.find_element(By.CSS_SELECTOR, "button.danger"), "Command issued")
    assert sql(env, f"SELECT kind, target, actor, reason FROM governance_commands WHERE region_id = '{region}'").stdout.strip() == \
        f"REIMAGE_NODE|node-a|operator:{name}|kernel panic twice"
    assert "REIMAGE_NODE" in browser.find_element(By.XPATH, "//h2[.='Recent commands']/following-sibling::table[1]").text
    assert console_errors(browser) == []


def test_every_page_in_the_nav_opens_without_browser_errors(env, browser):
    browser.get(login_link(env, operator(env, "admin")))
    labels = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "header nav a")]
    assert labels == ["Overview", "Trials", "Tenants", "Webhooks", "Regions", "Nodes", "Jobs", "Commands", "Rules", "Access", "Audit"]
    for label in labels:
        browser.find_element(By.LINK_TEXT, label).click()
        WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(  # the page it opens marks it current
            lambda b: b.find_element(By.CSS_SELECTOR, "nav a[aria-current=page]").text == label)
        screenshot(env, browser, "page-" + label.lower())
    assert console_errors(browser) == []


def test_an_admin_creates_an_endpoint_sees_its_secret_once_and_sends_a_test_event(env, browser):
    url = f"http://127.0.0.1:9/browser-{time.time_ns()}"
    browser.get(login_link(env, operator(env, "admin")))
    browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "webhooks")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/console/webhooks']")
    form.find_element(By.NAME, "url").send_keys(url)
    form.find_element(By.NAME, "event.tenant.created").click()
    form.find_element(By.NAME, "description").send_keys("made in a browser")
    submitted_with_notice(browser, form.find_element(By.TAG_NAME, "button"), "Endpoint created.")
    secret = browser.find_element(By.ID, "new-secret").text
    assert secret.startswith("whsec_")
    screenshot(env, browser, "webhook-created")
    endpoint = sql(env, f"SELECT id FROM webhook_endpoints WHERE url = '{url}'").stdout.strip()
    submitted_with_notice(browser, browser.find_element(By.XPATH, "//button[.='Send test event']"), "webhook.test event is queued")
    assert browser.find_elements(By.ID, "new-secret") == []  # shown once
    assert "webhook.test" in browser.find_element(By.XPATH, "//h2[.='Messages']/following::table[1]").text
    assert sql(env, f"SELECT event_type FROM webhook_outbox WHERE endpoint_id = '{endpoint}'").stdout.strip() == "webhook.test"
    browser.find_element(By.TAG_NAME, "summary").click()  # the settings, folded by default
    screenshot(env, browser, "webhook-endpoint")
    assert console_errors(browser) == []
