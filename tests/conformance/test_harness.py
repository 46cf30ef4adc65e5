#!/usr/bin/env python3
"""Tests of the conformance suite's own parts, run by scripts/agents-conformance before the agents:
the fake provider over real sockets (each wire format's usage as the docs define it, the guards),
the uniqueness of the cache-read number the suite finds requests by, and the diff it prints.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_provider  # noqa: E402
import run  # noqa: E402


def sse_events(raw):
    return [json.loads(line[6:]) for line in raw.decode().splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


class Provider(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="conformance-harness-")
        cls.log = os.path.join(cls.dir, "requests.jsonl")
        pf = os.path.join(cls.dir, "port")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        cls.dns_port = s.getsockname()[1]
        s.close()
        cls.catch_port = run.free_port()
        cls.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_provider.py"), "--log", cls.log,
                                     "--port-file", pf, "--dns-port", str(cls.dns_port),
                                     "--catch-ports", str(cls.catch_port)])
        run.wait_until(lambda: os.path.exists(pf), 10, "the fake provider")
        with open(pf) as f:
            cls.port = int(f.read())

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        shutil.rmtree(cls.dir)

    def post(self, path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/a/test{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers, r.read()

    def logged(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def last_billable(self):
        return [r for r in self.logged() if r["kind"] == "billable"][-1]

    def test_anthropic_stream_carries_the_logged_usage_and_a_tool_call_when_asked(self):
        body = {"model": "claude-x", "stream": True, "tools": [{"name": "Bash"}],
                "messages": [{"role": "user", "content": "go CONFORMANCE_TOOL"}]}
        headers, raw = self.post("/v1/messages", body)
        ev = sse_events(raw)
        rec = self.last_billable()
        u = rec["usage"]
        self.assertEqual(headers["request-id"], rec["ids"]["request_id"])
        self.assertEqual(ev[0]["message"]["id"], rec["ids"]["response_id"])
        self.assertEqual(ev[1]["content_block"]["name"], "Bash")
        final = [e for e in ev if e["type"] == "message_delta"][0]["usage"]
        self.assertEqual(final["input_tokens"], u["input"])
        self.assertEqual(final["cache_read_input_tokens"], u["cache_read"])
        self.assertEqual(final["cache_creation"], {"ephemeral_5m_input_tokens": u["cache_write_5m"],
                                                   "ephemeral_1h_input_tokens": u["cache_write_1h"]})
        self.assertEqual(final["cache_creation_input_tokens"], u["cache_write_5m"] + u["cache_write_1h"])
        self.assertEqual(final["output_tokens"], u["output"])
        self.assertEqual(rec["tool"], "Bash")

    def test_a_prompt_answered_by_a_tool_result_gets_no_second_tool_call(self):
        body = {"model": "claude-x", "stream": False, "tools": [{"name": "Bash"}],
                "messages": [{"role": "user", "content": "go CONFORMANCE_TOOL"},
                             {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}]}
        _, raw = self.post("/v1/messages", body)
        self.assertEqual(json.loads(raw)["content"][0]["type"], "text")
        self.assertIsNone(self.last_billable()["tool"])

    def test_responses_input_includes_cached_and_cache_writes(self):
        _, raw = self.post("/v1/responses", {"model": "gpt-x", "stream": True, "input": "hi"})
        done = [e for e in sse_events(raw) if e["type"] == "response.completed"][0]["response"]
        u = self.last_billable()["usage"]
        self.assertEqual(done["usage"]["input_tokens"], u["input"] + u["cache_read"] + u["cache_write_5m"])
        self.assertEqual(done["usage"]["input_tokens_details"], {"cached_tokens": u["cache_read"],
                                                                 "cache_write_tokens": u["cache_write_5m"]})
        self.assertEqual(done["usage"]["output_tokens_details"]["reasoning_tokens"], u["reasoning"])

    def test_chat_completions_prompt_includes_cached_and_completion_includes_reasoning(self):
        _, raw = self.post("/v1/chat/completions", {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        usage = [e for e in sse_events(raw) if e.get("usage")][0]["usage"]
        u = self.last_billable()["usage"]
        self.assertEqual(usage["prompt_tokens"], u["input"] + u["cache_read"])
        self.assertEqual(usage["completion_tokens"], u["output"])
        self.assertEqual(usage["completion_tokens_details"]["reasoning_tokens"], u["reasoning"])

    def test_gemini_candidates_exclude_thoughts_and_json_follows_the_schema(self):
        schema = {"type": "object", "properties": {"model_choice": {"type": "string", "enum": ["flash", "pro"]},
                                                   "complexity_score": {"type": "integer", "minimum": 1}}}
        _, raw = self.post("/v1beta/models/gemini-x:generateContent",
                           {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                            "generationConfig": {"responseJsonSchema": schema}})
        doc = json.loads(raw)
        u = self.last_billable()["usage"]
        self.assertEqual(self.last_billable()["model"], "gemini-x")
        self.assertEqual(doc["usageMetadata"]["candidatesTokenCount"] + doc["usageMetadata"]["thoughtsTokenCount"], u["output"])
        self.assertEqual(json.loads(doc["candidates"][0]["content"]["parts"][0]["text"]),
                         {"model_choice": "flash", "complexity_score": 1})

    def test_connect_to_another_host_is_refused_and_logged(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n")
        self.assertIn(b" 403 ", s.recv(100))
        s.close()
        run.wait_until(lambda: any(r.get("host") == "api.example.com:443" for r in self.logged()), 5, "the log line")

    def test_dns_lookup_is_refused_and_logged(self):
        q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07example\x03org\x00\x00\x01\x00\x01"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(q, ("127.0.0.1", self.dns_port))
        answer = s.recv(512)
        s.close()
        self.assertEqual(answer[:2], b"\x12\x34")
        self.assertEqual(answer[3] & 0x0F, 5)  # REFUSED
        run.wait_until(lambda: any(r.get("host") == "example.org" for r in self.logged()), 5, "the log line")


    def test_a_connection_to_a_web_port_is_logged_with_its_tls_server_name(self):
        # A ClientHello as Python's own TLS client sends it, for a literal address with SNI.
        import ssl
        ctx = ssl.create_default_context()
        raw = socket.create_connection(("127.0.0.1", self.catch_port), timeout=5)
        try:
            ctx.wrap_socket(raw, server_hostname="telemetry.example.net")
        except (ssl.SSLError, OSError):
            pass  # the catch-all closes the connection: what matters is what it logged
        finally:
            raw.close()
        want = f"telemetry.example.net (127.0.0.1:{self.catch_port})"
        run.wait_until(lambda: any(r.get("host") == want for r in self.logged()), 5, want)

    def test_a_plain_http_connection_is_named_by_its_host_header(self):
        c = socket.create_connection(("127.0.0.1", self.catch_port), timeout=5)
        c.sendall(b"GET / HTTP/1.1\r\nHost: updates.example.org\r\n\r\n")
        c.recv(10)
        c.close()
        want = f"updates.example.org (127.0.0.1:{self.catch_port})"
        run.wait_until(lambda: any(r.get("host") == want for r in self.logged()), 5, want)


class Detection(unittest.TestCase):
    def test_a_cache_read_number_names_one_request_even_among_running_totals(self):
        # What agents write besides each request's own numbers: the wire's sums (input plus cached,
        # totals) and running totals over a session (Codex, Qwen Code, Claude Code's cost-state).
        n_max = 80
        for wire in ("anthropic", "responses", "chat", "gemini"):
            us = [fake_provider.usage_for(n, wire) for n in range(1, n_max + 1)]
            signatures = {u["cache_read"] for u in us}
            written = set()
            for u in us:
                small = [u[k] for k in ("input", "output", "cache_write_5m", "cache_write_1h", "reasoning")]
                written.update(small)
                written.add(u["input"] + u["cache_read"] + u["cache_write_5m"] + u["cache_write_1h"])
                written.add(u["input"] + u["cache_read"] + u["cache_write_5m"] + u["cache_write_1h"] + u["output"])
                written.add(u["input"] + u["cache_read"])
            for start in range(n_max):
                for end in range(start + 2, min(n_max, start + 30) + 1):
                    chunk = us[start:end]
                    written.add(sum(u["cache_read"] for u in chunk))
                    written.add(sum(u["cache_read"] + u["input"] for u in chunk))
            self.assertEqual(written & signatures, set(), wire)

    def test_an_id_inside_a_longer_id_is_not_the_request(self):
        req = {"ids": {"response_id": "msg_conf0001x"}, "usage": {"cache_read": 11777}}
        self.assertFalse(run.logged_by_agent(req, b'{"tool_use_id":"toolu_msg_conf0001x","n":111777}'))
        self.assertTrue(run.logged_by_agent(req, b'{"id":"msg_conf0001x"}'))
        self.assertTrue(run.logged_by_agent(req, b'{"cache":{"read":11777,"write":0}}'))

    def test_the_diff_names_each_kind_that_differs(self):
        e = dict(run.zero(), requests=2, cache_write_5m=23, cache_write_1h=13)
        b = dict(run.zero(), requests=2, cache_write_5m=36)
        lines = run.diff_table({"m": e}, {"m": b}).splitlines()
        differs = [line.split()[0] for line in lines if "differs" in line]
        self.assertEqual(differs, ["cache_write_5m", "cache_write_1h"])
        self.assertEqual(run.diff_table({"m": e}, {"m": dict(e)}), "")


if __name__ == "__main__":
    unittest.main(verbosity=1)
