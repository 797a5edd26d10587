"""Text and focus rings of the console's main screens meet WCAG 2 contrast, in Chromium.

The page reports every visible text's colour and the background colours stacked behind
it (nearest first, up to the first opaque one); the blending and the WCAG luminance and
contrast ratio are computed here, in Python.
"""

from __future__ import annotations

import re
from typing import Any

from console_harness import console_link, create_account, create_flow
from service_harness import (
    SQLSERVER_SPEC_ID,
    ApiClient,
    RunningServer,
    created_id,
    sql_server_connection_body,
)

from mssql_emulator.testing import running_emulator

RGBA = tuple[float, float, float, float]

# Every element with its own visible text (or a form control showing a value), with the
# colour of the text and the background colours from the element up to the first opaque one.
TEXTS_JS = """
() => {
  const found = [];
  const backgrounds = (start) => {
    const stack = [];
    for (let el = start; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      stack.push(bg);
      const alpha = bg.startsWith('rgba(') ? parseFloat(bg.split(',')[3]) : 1;
      if (bg !== 'transparent' && alpha >= 1) break;
    }
    return stack;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || style.display === 'none') return false;
    if (parseFloat(style.opacity) === 0) return false;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) return false;  // clipped, visually hidden
    if (box.right <= 0 || box.bottom <= 0) return false;  // parked off screen
    return !!el.closest('body');
  };
  for (const el of document.querySelectorAll('body *')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'style', 'title', 'option'].includes(tag)) continue;
    const control = ['input', 'select', 'textarea', 'button'].includes(tag)
      && !(tag === 'input' && ['hidden', 'checkbox', 'radio'].includes(el.type));
    const ownText = Array.from(el.childNodes)
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent.trim()).join(' ').trim();
    const shown = ownText || (control && tag !== 'button' ? (el.value || '').trim() : '');
    if (!shown || !visible(el)) continue;
    const style = getComputedStyle(el);
    const svgText = el instanceof SVGElement;
    found.push({
      text: shown.slice(0, 40),
      where: tag + (el.className && el.className.baseVal === undefined && el.className
        ? '.' + String(el.className).split(' ').join('.') : ''),
      color: svgText ? style.fill : style.color,
      size: parseFloat(style.fontSize),
      weight: parseInt(style.fontWeight, 10) || 400,
      backgrounds: backgrounds(el),
    });
  }
  return found;
}
"""

# The focused element's ring: outline colour, the box-shadow colour drawn under it, and the
# background the ring sits on (that of the element's parent).
FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const stack = [];
  for (let up = el.parentElement; up; up = up.parentElement) {
    const bg = getComputedStyle(up).backgroundColor;
    stack.push(bg);
    const alpha = bg.startsWith('rgba(') ? parseFloat(bg.split(',')[3]) : 1;
    if (bg !== 'transparent' && alpha >= 1) break;
  }
  const shadow = style.boxShadow.match(/rgba?\\([^)]*\\)/);
  return {
    where: el.tagName.toLowerCase() + ' ' + (el.textContent || el.name || '').trim().slice(0, 30),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
    outline: style.outlineColor,
    shadow: shadow ? shadow[0] : null,
    backgrounds: stack,
  };
}
"""

WHITE: RGBA = (255.0, 255.0, 255.0, 1.0)


def parse_colour(text: str) -> RGBA:
    if text == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    match = re.fullmatch(r"rgba?\(([^)]*)\)", text.strip())
    assert match, f"unexpected computed colour {text!r}"
    parts = [float(p) for p in re.split(r"[,\s/]+", match.group(1).strip()) if p]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def over(top: RGBA, under: RGBA) -> RGBA:
    """``top`` composited over an opaque ``under``."""
    alpha = top[3]
    return (
        top[0] * alpha + under[0] * (1 - alpha),
        top[1] * alpha + under[1] * (1 - alpha),
        top[2] * alpha + under[2] * (1 - alpha),
        1.0,
    )


def effective_background(stack: list[str]) -> RGBA:
    """The opaque colour of a background stack listed nearest first (the canvas is white)."""
    colour = WHITE
    for layer in reversed(stack):
        colour = over(parse_colour(layer), colour)
    return colour


def luminance(colour: RGBA) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = colour
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(one: RGBA, two: RGBA) -> float:
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def is_large(size_px: float, weight: int) -> bool:
    return size_px >= 24 or (size_px >= 18.66 and weight >= 700)


def test_the_contrast_math_matches_wcag_reference_values() -> None:
    black, white = parse_colour("rgb(0, 0, 0)"), parse_colour("rgb(255, 255, 255)")
    assert round(contrast(black, white), 2) == 21.0
    assert round(contrast(parse_colour("rgb(119, 119, 119)"), white), 2) == 4.48
    assert round(contrast(parse_colour("rgb(118, 118, 118)"), white), 2) == 4.54
    half = effective_background(["rgba(0, 0, 0, 0.5)", "rgb(255, 255, 255)"])
    assert [round(c) for c in half[:3]] == [128, 128, 128]
    assert is_large(24, 400) and is_large(18.67, 700) and not is_large(18.67, 400)


def _text_failures(page: Any, screen: str) -> tuple[int, list[str]]:
    texts = page.evaluate(TEXTS_JS)
    failures = []
    for item in texts:
        background = effective_background(item["backgrounds"])
        colour = over(parse_colour(item["color"]), background)
        ratio = contrast(colour, background)
        needed = 3.0 if is_large(item["size"], item["weight"]) else 4.5
        if ratio < needed:
            failures.append(
                f"{screen}: {item['where']} {item['text']!r} {item['color']} on "
                f"{item['backgrounds']} = {ratio:.2f} < {needed}"
            )
    return len(texts), failures


def _focus_failures(page: Any, screen: str, tabs: int = 12) -> tuple[int, list[str]]:
    """Tab through the first controls; each ring must stand out from what it sits on."""
    page.locator("body").focus()
    failures = []
    rings = 0
    for _ in range(tabs):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_JS)
        if ring is None:
            continue
        rings += 1
        if ring["outlineStyle"] == "none" or ring["outlineWidth"] < 1:
            failures.append(f"{screen}: {ring['where']} has no focus outline")
            continue
        background = effective_background(ring["backgrounds"])
        outline = over(parse_colour(ring["outline"]), background)
        best = contrast(outline, background)
        if ring["shadow"]:
            # an outline drawn over a dark ring: the pair stands out if both edges do
            shadow = over(parse_colour(ring["shadow"]), background)
            best = max(best, min(contrast(shadow, background), contrast(outline, shadow)))
        if best < 3.0:
            failures.append(
                f"{screen}: focus ring of {ring['where']} {ring['outline']} on "
                f"{ring['backgrounds']} = {best:.2f} < 3"
            )
    return rings, failures


def test_the_checks_catch_faint_text_and_faint_focus_rings(page: Any) -> None:
    page.set_content(
        "<body style='background:#fff'>"
        "<p style='color:#999'>faint body text</p>"
        "<p style='color:#888;font-size:30px'>large grey text</p>"
        "<div style='background:rgba(0,0,0,.8)'><span style='color:#333'>dark on dark</span></div>"
        "<button style='outline:2px solid #eee;color:#000;background:#fff'>Go</button>"
        "</body>"
    )
    _, failures = _text_failures(page, "sample")
    assert len(failures) == 2, failures
    assert "faint body text" in failures[0] and "dark on dark" in failures[1]
    page.add_style_tag(content="button:focus-visible { outline: 2px solid #eee; }")
    rings, ring_failures = _focus_failures(page, "sample", tabs=1)
    assert rings == 1 and len(ring_failures) == 1, ring_failures


def test_main_screens_meet_wcag_contrast(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    base = console_server.base_url
    flow_id, _ = create_flow(org_api, "Contrast flow")
    create_account(org_api, "Second account")
    page.goto(f"{base}/console/sign-in")
    screens: list[tuple[str, str]] = [("sign-in", page.url)]
    checked: list[str] = []
    failures: list[str] = []

    def check(screen: str) -> None:
        count, bad = _text_failures(page, screen)
        assert count > 0, f"{screen}: no text found"
        rings, bad_rings = _focus_failures(page, screen)
        checked.append(f"{screen}: {count} texts, {rings} focus rings")
        failures.extend(bad + bad_rings)

    check(screens[0][0])
    page.goto(console_link(console_server, org_api.org_id))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    check("dataflows")
    # a run against a closed port fails: the runs page shows a notice, then a failed status
    page.get_by_role("button", name="Run Contrast flow now").click()
    page.wait_for_url(re.compile(rf"/console/dataflows/{flow_id}/runs\?started=1$"))
    check("runs with a notice")
    for _ in range(60):
        page.goto(f"{base}/console/dataflows/{flow_id}/runs")
        if page.locator(".status-failed").count():
            break
        page.wait_for_timeout(500)
    check("runs" + (" with a failed run" if page.locator(".status-failed").count() else ""))
    for screen, path in [
        ("sources", "/console/sources"),
        ("accounts", "/console/accounts"),
        ("monitoring", "/console/monitoring"),
        ("monitoring of a flow", f"/console/monitoring?days=90&flow={flow_id}"),
        ("settings", "/console/settings"),
    ]:
        page.goto(f"{base}{path}")
        check(screen)
    print("\n".join(checked))
    assert not failures, "\n".join(failures)


INIT = [
    "CREATE SCHEMA crm; CREATE TABLE crm.People (PersonID INT PRIMARY KEY, Name NVARCHAR(40),"
    " Updated DATETIME2 NOT NULL);",
    "INSERT INTO crm.People VALUES (1, N'Ann', '2020-01-01T10:00:00');",
]


def test_connect_explore_wizard_and_chart_meet_wcag_contrast(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    base = console_server.base_url
    failures: list[str] = []
    checked: list[str] = []

    def check(screen: str) -> None:
        count, bad = _text_failures(page, screen)
        assert count > 0, f"{screen}: no text found"
        rings, bad_rings = _focus_failures(page, screen)
        checked.append(f"{screen}: {count} texts, {rings} focus rings")
        failures.extend(bad + bad_rings)

    with running_emulator(init_sql=INIT) as emulator:
        text = (
            f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
            f"Integrated Security=False;User ID={emulator.user};"
            f"Password={emulator.password};Encrypt=False;"
        )
        account = created_id(org_api.post("/connections", json=sql_server_connection_body(text)))
        broken = create_account(org_api, "Closed port")
        page.goto(console_link(console_server, org_api.org_id))
        page.wait_for_url(re.compile(r"/console/dataflows$"))
        for screen, path in [
            ("connect: catalog", "/console/connect"),
            ("connect: form", f"/console/connect/{SQLSERVER_SPEC_ID}"),
            ("add data: accounts", "/console/explore"),
            ("add data: tree", f"/console/accounts/{account}/explore"),
            ("add data: table", f"/console/accounts/{account}/explore/table?object=crm.People"),
            ("add data: an unreachable source", f"/console/accounts/{broken}/explore"),
        ]:
            page.goto(f"{base}{path}")
            check(screen)
        page.goto(f"{base}/console/accounts/{broken}/test")
        page.get_by_role("button", name="Test connection").click()
        assert page.get_by_role("alert").count() == 1
        check("connect: a failed test")
        page.goto(f"{base}/console/accounts/{account}/dataflow?table=crm.People")
        check("wizard: dataset")
        page.get_by_label("Name of the new dataset").fill("people")
        page.get_by_role("button", name="Next: mapping").click()
        page.get_by_label("Destination 1").fill("bad")
        page.get_by_label("Expression 1").fill("lower(NoSuchColumn)")
        page.get_by_role("button", name="Check").click()
        check("wizard: mapping with a problem")
        page.get_by_label("Expression 1").fill("lower(Name)")
        page.get_by_role("button", name="Next: schedule").click()
        check("wizard: schedule")
        page.get_by_role("button", name="Next: review").click()
        check("wizard: review")
        page.get_by_role("button", name="Create").click()
        page.wait_for_url(re.compile(r"/console/dataflows/[^/]+/runs$"))
        flow_id = page.url.rsplit("/", 2)[-2]
        for _ in range(120):
            runs = org_api.get(f"/runs?property=flowId=={flow_id}").json()["items"]
            if runs and runs[0]["metrics"]["statusSummary"]["status"] == "success":
                break
            page.wait_for_timeout(500)
    # the chart with a bar of records: its axis and value labels are SVG text
    page.goto(f"{base}/console/monitoring?days=7&flow={flow_id}")
    labels = page.evaluate(TEXTS_JS)
    assert any(item["where"].startswith("text") for item in labels), labels
    check("monitoring chart with data")
    print("\n".join(checked))
    assert not failures, "\n".join(failures)
