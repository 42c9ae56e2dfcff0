#!/usr/bin/env python3
"""Loads the demo page (examples/web, built by build.sh) in headless Chromium and checks it.

Serves the folder over HTTP, drives Chromium through chromedriver's WebDriver protocol (plain
HTTP and JSON: no Python packages needed), waits for the page's default match (the mission
patch cut from the astronaut photograph at row 345, column 130), checks the reported position
and backend, and saves a screenshot. With XCORR_REQUIRE_GPU=1 the page must have run on WebGPU.
With --no-webgpu Chromium runs without WebGPU: the page must say so and match on the CPU.

    python3 examples/web/test_page.py [--screenshot PATH] [--timeout SECONDS] [--no-webgpu]
"""
import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = (345, 130)  # where data/astronaut-patch.png was cut from data/astronaut.png
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1400,860"]
WEBGPU_ARGS = ["--enable-unsafe-webgpu"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler(http.server.SimpleHTTPRequestHandler):
    # WebAssembly.instantiateStreaming insists on this type.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript"}

    def log_message(self, *args):
        pass


def serve(directory):
    handler = functools.partial(Handler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class WebDriver:
    def __init__(self, chromedriver, args):
        self.port = free_port()
        self.process = subprocess.Popen([chromedriver, f"--port={self.port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                self.call("GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": {"args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)["value"]

    def session_call(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def script(self, source):
        return self.session_call("POST", "/execute/sync", {"script": source, "args": []})

    def close(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        finally:
            self.process.terminate()
            self.process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", default="web-demo.png")
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--no-webgpu", action="store_true",
                        help="run Chromium without WebGPU and expect the CPU fallback")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(HERE, "pkg", "xcorr_web_demo.js")):
        sys.exit("examples/web/pkg is missing: run examples/web/build.sh first")
    chromedriver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromedriver:
        sys.exit("chromedriver not found (apt-get install chromium-driver)")

    server = serve(HERE)
    driver = WebDriver(chromedriver, CHROMIUM_ARGS + ([] if args.no_webgpu else WEBGPU_ARGS))
    try:
        driver.session_call("POST", "/url",
                            {"url": f"http://127.0.0.1:{server.server_address[1]}/index.html"})
        deadline = time.monotonic() + args.timeout
        state = None
        while time.monotonic() < deadline:
            state = driver.script("return document.body.dataset.state || null;")
            if state in ("done", "error"):
                break
            time.sleep(0.5)
        status = driver.script("return document.getElementById('status').textContent;")
        note = driver.script("return document.getElementById('note').textContent;")
        result = driver.script("return window.xcorrResult || null;")
        shot = base64.b64decode(driver.session_call("GET", "/screenshot"))
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        with open(args.screenshot, "wb") as f:
            f.write(shot)
    finally:
        driver.close()
        server.shutdown()

    print(f"page status: {status}")
    if note:
        print(f"page note: {note}")
    print(f"page result: {json.dumps(result)}")
    print(f"screenshot: {args.screenshot}")
    if state != "done":
        sys.exit(f"the page did not finish matching (state {state!r}): {result}")
    best = result["peaks"][0]
    if (best["row"], best["col"]) != EXPECTED:
        sys.exit(f"best match at {(best['row'], best['col'])}, expected {EXPECTED}")
    if args.no_webgpu:
        if result["backend"] != "cpu" or "WebGPU is not available" not in note:
            sys.exit(f"without WebGPU the page should say so and use the CPU: {note!r}")
    elif os.environ.get("XCORR_REQUIRE_GPU") == "1" and result["backend"] != "gpu":
        sys.exit(f"XCORR_REQUIRE_GPU=1 but the page ran on {result['backend']}: {note}")
    print(f"ok: best match at {EXPECTED} on the {result['backend']} "
          f"in {result['millis']:.0f} ms")


if __name__ == "__main__":
    main()
