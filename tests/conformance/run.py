#!/usr/bin/env python3
"""The agents' conformance suite: real agents, a fake provider, creditwatch judged on both.

Run by `scripts/agents-conformance` inside a network namespace that has only loopback (and with
/etc/resolv.conf pointing at the fake provider's DNS guard), after it has installed the agents.
For each agent in agents.txt this script:
  1. runs it non-interactively, two or three times (a first prompt that makes one tool call,
     then a continue/resume with another model; Claude Code also a subagent and a fork), with
     HOME in a fresh folder and every base URL at the fake provider (fake_provider.py), which
     logs every request it served and the usage it chose (agents.py says how, per agent);
  2. decides, per served request, whether the agent logged it: its response id or its cache-read
     number (unique per request, see fake_provider.usage_for) is in the agent's files;
  3. runs `creditwatch report --json --by model --format F` with that HOME (the format's default
     paths, as a user would) and compares, model by model and token kind by token kind, what is
     booked with the sum of what the provider answered to the logged requests; each model
     booked must have a price;
  4. lists the requests the agent never logged (the provider served them; no file shows them).
Two `creditwatch run` daemons run meanwhile: one receives Claude Code's OpenTelemetry export
(gRPC, then HTTP/protobuf, then HTTP/JSON) and its /metrics must equal every Messages request the
provider served to Claude Code; the other follows every agent's files live and its /metrics must
equal the logged requests, with no line counted as an error.

What "correct" means (the issue's, and each provider's own definition of its usage fields):
  input: uncached input; cache_read: cached input; cache_write_5m / cache_write_1h: cache writes
  (OpenAI Responses `cache_write_tokens` count as 5m writes); output: all billed output,
  reasoning included; reasoning: of output, the reasoning tokens, where the agent logs them.
Any request a network client makes to a host other than loopback (proxy CONNECT, DNS lookup, or a
connection to a literal address on port 80 or 443) fails the suite. Every wait has a deadline; nothing waits on a fixed sleep.
"""

import argparse
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

from agents import AGENTS, OTLP_TOKEN, write

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ["input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning"]
FOLLOW_GRACE = 90  # seconds after the last agent run for the following daemon to book everything
RUN_TIMEOUT = 150  # seconds one agent run may take (a cold first run on a busy 2-core machine took 70)


def free_port():
    # Inside the suite's own network namespace nobody else binds: the port stays free.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {seconds:.0f}s waiting for {what}")
        time.sleep(0.05)  # polling interval of a condition with a deadline, not a synchronisation


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except OSError:
        return None, ""


# ---- checks --------------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.checks = []  # (agent, name, ok, detail)

    def add(self, agent, name, ok, detail=""):
        self.checks.append((agent, name, ok, detail))
        print(f"  {'PASS' if ok else 'FAIL'}  {agent}: {name}")
        if detail and not ok:
            for line in detail.rstrip().splitlines():
                print("        " + line)


def known_unpriced():
    """Models the agents default to whose maker publishes no price yet (tests/conformance/unpriced.txt:
    `model  reason`), so creditwatch rightly books them unpriced."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unpriced.txt")
    models = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                model, _, reason = line.partition(" ")
                models[model] = reason.strip()
    return models


KNOWN_UNPRICED = known_unpriced()


def zero():
    return dict({"requests": 0}, **{k: 0 for k in KINDS})


def diff_table(expected, booked):
    """Rows per model and kind where expected and booked differ (all kinds shown for such a model)."""
    lines = []
    for model in sorted(set(expected) | set(booked)):
        e, b = expected.get(model, zero()), booked.get(model, zero())
        if e == b:
            continue
        lines.append(f"model {model}:   {'kind':<15}{'expected':>10}{'booked':>10}")
        for k in ["requests"] + KINDS:
            mark = "   <-- differs" if e[k] != b[k] else ""
            lines.append(f"{'':<{len(model) + 9}}{k:<15}{e[k]:>10}{b[k]:>10}{mark}")
    return "\n".join(lines)


def read_provider_log(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    return out


def log_files(home, globs):
    files = []
    for g in globs:
        files += [p for p in glob.glob(os.path.join(home, g), recursive=True) if os.path.isfile(p)]
    return sorted(set(files))


def logged_by_agent(req, blob):
    """The agent logged the request if its files hold its response id or its cache-read number."""
    rid = re.escape(req["ids"]["response_id"].encode())
    if re.search(rb"(?<![\w-])" + rid + rb"(?![\w-])", blob):
        return True
    return re.search(rb"(?<![\d.])%d(?![\d.])" % req["usage"]["cache_read"], blob) is not None


def expected_by_model(requests):
    out = {}
    for r in requests:
        m = out.setdefault(r["model"], zero())
        m["requests"] += 1
        for k in KINDS:
            m[k] += r["usage"][k]
    return out


def booked_from_report(doc):
    out = {}
    for g in doc.get("groups", []):
        t = g.get("tokens", {})
        out[g["key"]] = dict({"requests": g.get("requests", 0), "reasoning": g.get("reasoning_tokens", 0)},
                             **{k: t.get(k, 0) for k in KINDS if k != "reasoning"})
    return out


def parse_metrics(text, app):
    """Per model: requests and token kinds from creditwatch's /metrics, for one app."""
    out = {}
    pat = re.compile(r'^(creditwatch_tokens_total|creditwatch_requests_total)\{([^}]*)\} (\S+)$')
    for line in text.splitlines():
        m = pat.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if labels.get("app") != app:
            continue
        row = out.setdefault(labels.get("model", "?"), zero())
        value = int(float(m.group(3)))
        if m.group(1) == "creditwatch_requests_total":
            row["requests"] += value
        elif labels.get("kind") in row:
            row[labels["kind"]] += value
    for row in out.values():
        row["reasoning"] = 0  # the metrics carry no reasoning kind
    return out


def check_metrics(results, agent, label, app, expected, url, deadline):
    """The daemon's /metrics for one app equal the expected requests, model by model, kind by kind
    (reasoning is not a kind there). Waits until the requests are all in, or the deadline
    (time.monotonic()) passes."""
    for e in expected.values():
        e["reasoning"] = 0
    want = sum(e["requests"] for e in expected.values())
    try:
        wait_until(lambda: sum(r["requests"] for r in parse_metrics(http_get(url)[1], app).values()) >= want,
                   max(0.0, deadline - time.monotonic()), f"{want} {label} requests in /metrics")
    except TimeoutError as e:
        print(f"  ({e})")
    booked = parse_metrics(http_get(url)[1], app)
    for model in sorted(set(expected) | set(booked)):
        e, b = expected.get(model, zero()), booked.get(model, zero())
        results.add(agent, f"{label} {model}: {e['requests']} requests in /metrics, kind by kind", e == b,
                    diff_table({model: e}, {model: b}))


def source_errors(text, source):
    m = re.search(r'^creditwatch_source_lines_total\{[^}]*outcome="error"[^}]*source="%s"[^}]*\} (\S+)$|'
                  r'^creditwatch_source_lines_total\{[^}]*source="%s"[^}]*outcome="error"[^}]*\} (\S+)$'
                  % (re.escape(source), re.escape(source)), text, re.M)
    return int(float(m.group(1) or m.group(2))) if m else 0


# ---- the run -------------------------------------------------------------------------------

def start_daemon(work, creditwatch, name, port, sources, otlp=""):
    """A `creditwatch run` on 127.0.0.1:port with these sources (YAML list items), ready."""
    d = f"{work}/daemon-{name}"
    write(f"{d}/config.yaml", f"""listen: "127.0.0.1:{port}"
state_dir: "{d}/state"
timezone: "UTC"
accounts:
  - name: personal
    opening_balance_usd: "100.00"
{otlp}sources:
{sources}""")
    log = open(f"{work}/logs/creditwatch-{name}.log", "w")
    proc = subprocess.Popen([creditwatch, "run", "--config", f"{d}/config.yaml"], stdout=log,
                            stderr=subprocess.STDOUT, env=dict(os.environ, HOME=d))
    wait_until(lambda: proc.poll() is not None or http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200,
               30, f"creditwatch run ({name}) to be ready")
    if proc.poll() is not None:
        raise RuntimeError(f"creditwatch run ({name}) exited ({proc.returncode}); see {work}/logs/creditwatch-{name}.log")
    return proc


def start_daemons(work, creditwatch, ctx, names):
    """Two daemons, since one request has one id across a daemon's sources (the contract): one
    receives only Claude Code's OTLP export, the other follows every agent's files live (one
    source per agent, app = the agent's name) while the agents run."""
    write(f"{work}/daemon-otlp/otlp.token", OTLP_TOKEN + "\n")
    otlp = start_daemon(work, creditwatch, "otlp", ctx["http"],
                        "  - { name: telemetry, format: otlp, account: personal, app: claude-code-otlp }\n",
                        f"otlp:\n  grpc_listen: \"127.0.0.1:{ctx['grpc']}\"\n"
                        f"  token_file: \"{work}/daemon-otlp/otlp.token\"\n")
    sources = "".join(f"""  - name: files-{name}
    format: {AGENTS[name]['format']}
    paths: {json.dumps([f"{work}/homes/{name}/{g}" for g in AGENTS[name]['paths']])}
    account: personal
    app: {name}
""" for name in names)
    return [otlp, start_daemon(work, creditwatch, "files", ctx["files"], sources)]


def run_agent(name, spec, ctx, args, results):
    home = f"{args.work}/homes/{name}"
    proj = f"{home}/project"
    os.makedirs(proj, exist_ok=True)
    if spec["setup"]:
        spec["setup"](ctx, home)
    binary = os.path.join(args.agents_dir, name, "node_modules", ".bin", spec["bin"])
    base_env = {
        "PATH": os.environ["PATH"], "HOME": home, "TMPDIR": f"{home}/tmp", "LANG": "C.UTF-8", "TERM": "dumb",
        "CI": "1", "NO_COLOR": "1",
        # Any client that honours a proxy sends every non-loopback request to the guard.
        "HTTPS_PROXY": f"http://127.0.0.1:{ctx['port']}", "HTTP_PROXY": f"http://127.0.0.1:{ctx['port']}",
        "https_proxy": f"http://127.0.0.1:{ctx['port']}", "http_proxy": f"http://127.0.0.1:{ctx['port']}",
        "ALL_PROXY": f"http://127.0.0.1:{ctx['port']}",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    }
    os.makedirs(base_env["TMPDIR"], exist_ok=True)
    started = time.time()
    for i, (argv, extra) in enumerate(spec["runs"](ctx, binary), 1):
        env = dict(base_env, **spec["env"](ctx, home), **extra)
        logp = f"{args.work}/logs/{name}-run{i}.log"
        t0 = time.monotonic()
        with open(logp, "w") as log:
            proc = subprocess.Popen(argv, cwd=proj, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = f"timed out after {RUN_TIMEOUT}s"
            # What the agent left running (helpers, a timed-out run) goes with it.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        with open(logp) as f:
            tail = "".join(f.readlines()[-15:])
        shown = " ".join([os.path.basename(argv[0])] + ["<prompt>" if len(a) > 24 else a for a in argv[1:]])
        results.add(name, f"run {i} ({shown}) exits 0 in {time.monotonic() - t0:.1f}s", rc == 0,
                    f"exit: {rc}; last lines of {logp}:\n{tail}")
    return home, (started, time.time())


def judge_agent(name, spec, home, window, served_all, args, results, unlogged):
    served = [r for r in served_all if r.get("kind") == "billable" and r.get("agent") == name]
    files = log_files(home, spec["logs"])
    blob = b""
    for p in files:
        with open(p, "rb") as f:
            blob += f.read() + b"\n"
    logged = [r for r in served if logged_by_agent(r, blob)]
    for r in served:
        if r not in logged:
            unlogged.append((name, r))
    results.add(name, f"the provider served requests ({len(served)}) and the agent logged some ({len(logged)}) "
                f"in {len(files)} files", len(served) > 0 and len(logged) > 0,
                "no request reached the provider or none is in the agent's files")
    env = {"PATH": os.environ["PATH"], "HOME": home, "TZ": "UTC"}
    proc = subprocess.run([args.creditwatch, "report", "--json", "--by", "model", "--format", spec["format"]],
                          env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        results.add(name, "creditwatch report succeeds", False, proc.stderr[-2000:])
        return served, logged, None
    doc = json.loads(proc.stdout)
    booked = booked_from_report(doc)
    expected = expected_by_model(logged)
    for model in sorted(set(expected) | set(booked)):
        e, b = expected.get(model, zero()), booked.get(model, zero())
        results.add(name, f"{model}: {e['requests']} logged requests booked once, kind by kind", e == b,
                    diff_table({model: e}, {model: b}))
    # The models these versions use need a price (issue 23: built in for every agent's defaults),
    # except those listed in unpriced.txt because their maker publishes no price yet: such a model
    # must still be unpriced (a price that appears makes the list wrong, and the check says so).
    for g in doc.get("groups", []):
        unpriced = g.get("unpriced_requests", 0)
        if g["key"] in KNOWN_UNPRICED:
            results.add(name, f"{g['key']}: unpriced as listed in unpriced.txt ({KNOWN_UNPRICED[g['key']]})",
                        unpriced == g.get("requests"),
                        f"{g.get('requests') - unpriced} of {g.get('requests')} requests are priced now: "
                        "take the model out of tests/conformance/unpriced.txt")
            print(f"  GAP   {name}: {g['key']} has no maker's price ({KNOWN_UNPRICED[g['key']]})")
            continue
        results.add(name, f"{g['key']}: priced (cost ${g.get('cost_usd')})", unpriced == 0,
                    f"{unpriced} of {g.get('requests')} requests booked at $0 as unpriced")
    return served, logged, booked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--agents-dir", required=True, help="<dir>/<name>/node_modules/.bin/<bin>")
    ap.add_argument("--creditwatch", required=True)
    ap.add_argument("--versions", required=True, help="name=version,...")
    ap.add_argument("--only", default="", help="comma-separated agent names")
    args = ap.parse_args()
    versions = dict(kv.split("=", 1) for kv in args.versions.split(",") if kv)
    names = [n for n in AGENTS if n in versions and (not args.only or n in args.only.split(","))]
    os.makedirs(f"{args.work}/logs", exist_ok=True)
    provider_log = f"{args.work}/provider-requests.jsonl"
    ctx = {"grpc": free_port(), "http": free_port(), "files": free_port()}
    results = Results()
    procs = []
    try:
        run_suite(args, names, versions, ctx, results, procs, provider_log)
    except Exception:  # a broken harness is a failed check, and the summary line still comes
        results.add("suite", "runs to its end", False, traceback.format_exc())
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    passed = sum(1 for c in results.checks if c[2])
    failed = len(results.checks) - passed
    write(f"{args.work}/results.json", json.dumps(
        [{"agent": a, "check": n, "ok": ok, "detail": d} for a, n, ok, d in results.checks], indent=1))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def run_suite(args, names, versions, ctx, results, procs, provider_log):
    """Starts the provider (and the daemon), runs the agents, checks; started processes go to procs."""
    pf = f"{args.work}/provider.port"
    plog = open(f"{args.work}/logs/fake-provider.log", "w")
    procs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "fake_provider.py"), "--log", provider_log,
                                   "--port-file", pf, "--dns-port", "53", "--catch-ports", "80,443"], stdout=plog, stderr=subprocess.STDOUT))
    wait_until(lambda: os.path.exists(pf) or procs[0].poll() is not None, 10, "the fake provider")
    if procs[0].poll() is not None:
        raise RuntimeError(f"fake provider exited; see {args.work}/logs/fake-provider.log")
    with open(pf) as f:
        ctx["port"] = int(f.read())
    print(f"fake provider on 127.0.0.1:{ctx['port']}")
    procs.extend(start_daemons(args.work, args.creditwatch, ctx, names))
    print(f"creditwatch run (OTLP) on 127.0.0.1:{ctx['http']} (gRPC :{ctx['grpc']}); "
          f"creditwatch run (files) on 127.0.0.1:{ctx['files']}")

    homes = {}
    for name in names:
        print(f"\n== {name} {versions[name]}")
        homes[name] = run_agent(name, AGENTS[name], ctx, args, results)
    agents_ended = time.monotonic()

    served_all = read_provider_log(provider_log)
    unlogged, table, logged_by = [], [], {}
    print("\n== creditwatch report on what each agent wrote")
    for name in names:
        home, window = homes[name]
        served, logged, _ = judge_agent(name, AGENTS[name], home, window, served_all, args, results, unlogged)
        table.append((name, versions[name], len(served), len(logged)))
        logged_by[name] = logged

    outside = [r for r in served_all if r.get("kind") == "outside"]
    for name in names:
        start, end = homes[name][1]
        mine = sorted({r["host"] for r in outside if start <= r["time"] <= end + 1})
        results.add(name, "no request beyond loopback", not mine, "attempted: " + ", ".join(mine))
    stray = [r for r in outside if not any(s <= r["time"] <= e + 1 for _, (s, e) in homes.values())]
    if stray:
        results.add("suite", "no request beyond loopback", False, ", ".join(sorted({r["host"] for r in stray})))

    url = f"http://127.0.0.1:{ctx['http']}/metrics"
    files_url = f"http://127.0.0.1:{ctx['files']}/metrics"
    if "claude-code" in names:
        print("\n== creditwatch run: Claude Code's OpenTelemetry export")
        claude = [r for r in served_all if r.get("kind") == "billable" and r.get("agent") == "claude-code"
                  and r["wire"] == "anthropic"]
        check_metrics(results, "claude-code", "OTLP", "claude-code-otlp", expected_by_model(claude), url,
                      time.monotonic() + 30)
    print("\n== creditwatch run: the agents' files followed live (paths as a user configures them)")
    # A live reader may hold a record back while it waits for what may complete it (Qwen Code's
    # telemetry waits up to 60 s for its assistant twin): 90 s after the last agent ended.
    follow_deadline = agents_ended + FOLLOW_GRACE
    for name in names:
        check_metrics(results, name, "followed", name, expected_by_model(logged_by[name]), files_url, follow_deadline)
        errors = source_errors(http_get(files_url)[1], f"files-{name}")
        results.add(name, f"followed: no line of the agent's files counted as an error ({errors})", errors == 0,
                    f"creditwatch_source_lines_total{{source=\"files-{name}\",outcome=\"error\"}} is {errors}; "
                    f"see {args.work}/logs/creditwatch-files.log")

    others = [r for r in served_all if r.get("kind") == "other"]
    print("\n== requests the provider served that no agent file shows (not bookable from logs)")
    for name, r in unlogged:
        tail = r.get("user_text_tail", "").replace("\n", " ")[-70:]
        print(f"  {name:<12} #{r['n']:<3} {r['wire']:<9} {r['model']:<24} {r['path'].split('?')[0]:<45} {tail!r}")
    if not unlogged:
        print("  (none)")
    print("\n== other requests served on loopback (not billed)")
    for r in others:
        print(f"  {r['agent']:<12} {r['method']:<5} {r['path']}")
    if not others:
        print("  (none)")

    print("\n== per agent")
    print(f"  {'agent':<12}{'version':<10}{'served':>7}{'logged':>7}{'unlogged':>9}{'passed':>8}{'failed':>8}")
    for name, version, n_served, n_logged in table:
        mine = [c for c in results.checks if c[0] == name]
        ok = sum(1 for c in mine if c[2])
        print(f"  {name:<12}{version:<10}{n_served:>7}{n_logged:>7}{n_served - n_logged:>9}{ok:>8}{len(mine) - ok:>8}")

if __name__ == "__main__":
    sys.exit(main())
