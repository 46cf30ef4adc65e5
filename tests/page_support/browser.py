"""Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe:
NUL-separated JSON on fds 3 and 4, no extra package) for tests/page.rs.

Usage: browser.py CHROMIUM URL WIDTH SHOT_PNG [USER:PASSWORD]
With BROWSER_APPEND=FILE and BROWSER_LINE=TEXT, after the first measure it
appends TEXT to FILE (as an agent writes), waits until /api/v1/summary's first
balance changes, lets 31 s of the page's (virtual) time pass, so its script
refreshes, and measures again: "refreshed" holds the second measure and
whether the page was kept (no reload).
With BROWSER_DARK=1 the page sees prefers-color-scheme: dark.
Loads URL in a WIDTH x 900 viewport, waits for the load event, and prints one
JSON object: the page's figures (every [data-figure] element's text and
data- attributes), document.scrollWidth, innerWidth, the visible chart's box,
and of a screenshot of that box its distinct colours and the share of its
pixels in a saturated colour, the bars (the PNG is decoded here with zlib). The full-page
screenshot is written to SHOT_PNG.
"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe"]


class Browser:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="cw-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            # The pipes may already sit on 3 and 4 (close-on-exec): copy
            # them away first, then onto 3 and 4 (dup2 clears close-on-exec).
            r, w = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen([binary, *FLAGS, "--user-data-dir=" + self.profile, "about:blank"],
                                     # close_fds would close 3 and 4 after fds() set them up.
                                     preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        while True:
            m = self.read()
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def wait_event(self, method, session):
        for i, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            m = self.read()
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        self.proc.wait(timeout=30)


def png_colours(data):
    """Of an 8-bit RGB or RGBA PNG: its distinct colours, and the share of
    its pixels in a saturated colour (bars; text, axes and the background
    are greys)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, kind = 8, b"", 0, 0, 0
    while pos < len(data):
        length, name = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if name == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and kind in (2, 6), (depth, kind)
        elif name == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = 4 if kind == 6 else 3
    stride = width * bpp
    prev = bytearray(stride)
    colours = set()
    saturated = 0
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            px = bytes(line[x:x + 3])
            colours.add(px)
            if max(px) - min(px) > 60:
                saturated += 1
        prev = line
    return len(colours), saturated / max(1, width * height)


MEASURE = """(() => {
  const figures = {};
  document.querySelectorAll('[data-figure]').forEach(e => {
    const account = e.closest('[data-account]');
    const key = (account ? account.dataset.account + '.' : '') + e.dataset.figure;
    figures[key] = {text: e.textContent, usd: e.dataset.usd ?? null, seconds: e.dataset.seconds ?? null};
  });
  const chart = [...document.querySelectorAll('[data-chart] svg')].find(s => s.getBoundingClientRect().width > 0);
  const box = chart ? chart.getBoundingClientRect() : null;
  return JSON.stringify({
    figures,
    scroll_width: document.documentElement.scrollWidth,
    inner_width: window.innerWidth,
    chart: box ? {x: box.x + scrollX, y: box.y + scrollY, width: box.width, height: box.height, bars: chart.querySelectorAll('rect').length} : null,
    scripts: document.scripts.length,
  });
})()"""


def balance(url):
    import urllib.request
    with urllib.request.urlopen(url.split("?")[0].rstrip("/") + "/api/v1/summary", timeout=10) as r:
        return json.load(r)["accounts"][0]["balance_usd"]


def refresh(b, s, url, path, line):
    import time
    b.send("Runtime.evaluate", {"expression": "window.__kept = 'yes'"}, session=s)
    before = balance(url)
    with open(path, "a") as f:
        f.write(line)
    deadline = time.monotonic() + 20
    while balance(url) == before:
        if time.monotonic() > deadline:
            raise RuntimeError("the booking did not show in /api/v1/summary")
        time.sleep(0.05)
    b.send("Emulation.setVirtualTimePolicy", {"policy": "pauseIfNetworkFetchesPending", "budget": 31000}, session=s)
    b.wait_event("Emulation.virtualTimeBudgetExpired", s)
    # The fetch the timer started may still be on its way: wait for the
    # new figures (or give up after 10 s and report what is there).
    deadline = time.monotonic() + 10
    while True:
        out = json.loads(b.send("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True}, session=s)["result"]["value"])
        kept = b.send("Runtime.evaluate", {"expression": "window.__kept || 'reloaded'", "returnByValue": True}, session=s)["result"]["value"]
        out["kept"] = kept
        shown = next((f["usd"] for k, f in out["figures"].items() if k.endswith(".balance")), None)
        if shown != before or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def main():
    binary, url, width, shot = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    auth = sys.argv[5] if len(sys.argv) > 5 else None
    b = Browser(binary)
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        b.send("Page.enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}, session=s)
        if os.environ.get("BROWSER_DARK") == "1":
            b.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}, session=s)
        if auth:
            header = "Basic " + base64.b64encode(auth.encode()).decode()
            b.send("Network.enable", session=s)
            b.send("Network.setExtraHTTPHeaders", {"headers": {"Authorization": header}}, session=s)
        nav = b.send("Page.navigate", {"url": url}, session=s)
        if nav.get("errorText"):
            raise RuntimeError(nav["errorText"])
        b.wait_event("Page.loadEventFired", s)
        out = json.loads(b.send("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True}, session=s)["result"]["value"])
        metrics = b.send("Page.getLayoutMetrics", session=s)
        size = metrics["cssContentSize"]
        full = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                  "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}, session=s)
        with open(shot, "wb") as f:
            f.write(base64.b64decode(full["data"]))
        c = out["chart"]
        if c:
            clip = {"x": c["x"], "y": c["y"], "width": c["width"], "height": c["height"], "scale": 1}
            area = b.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session=s)
            out["chart_colours"], out["chart_coloured_share"] = png_colours(base64.b64decode(area["data"]))
        append = os.environ.get("BROWSER_APPEND")
        if append:
            out["refreshed"] = refresh(b, s, url, append, os.environ["BROWSER_LINE"])
        print(json.dumps(out))
    finally:
        b.close()


if __name__ == "__main__":
    main()
