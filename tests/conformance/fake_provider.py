#!/usr/bin/env python3
"""A fake model provider on loopback for the agents' conformance suite.

It plays four wire formats well enough for the real agents to run a session:
  - Anthropic Messages (`POST .../v1/messages`, SSE when `stream`), `count_tokens`;
  - OpenAI Responses (`POST .../responses`, SSE) and Chat Completions
    (`POST .../chat/completions`, SSE when `stream`);
  - Gemini `:generateContent`, `:streamGenerateContent?alt=sse`, `:countTokens`.
Every billable answer carries usage numbers chosen here (see `usage_for`), and one JSON line per
request it served is appended to the request log: sequence number, agent (from the URL prefix
`/a/<agent>/`), wire format, model, the usage it returned and the ids it answered with. The
suite compares those lines with what creditwatch books.

The same process is the network guard: as HTTP(S) proxy it refuses every CONNECT or absolute URL
to a host other than loopback and logs it as `outside`; as DNS server (UDP, when `--dns-port` is
given) it answers every name but `localhost` with REFUSED and logs it; on the web ports it is
given (`--catch-ports 80,443`) it logs every connection, which in the suite's namespace is a
client connecting to a literal address. The suite fails the run on any `outside` line.

Usage numbers: request n (1-based, over the whole run) gets a cache read of 1000 * (10 + n) + 777,
the one number of a request that every agent writes verbatim; every other kind is below 200. So a
number ending in 777 found in an agent's files names one request: no sum of other kinds or of
other requests' cache reads (within the few dozen requests of a run) ends in the same digits.
Standard library only, so the suite needs nothing beyond python3.
"""

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()
STATE = {"n": 0}
LOG = None


def log_line(record):
    with LOCK:
        LOG.write(json.dumps(record, sort_keys=True) + "\n")
        LOG.flush()


def next_seq():
    with LOCK:
        STATE["n"] += 1
        return STATE["n"]


def usage_for(n, wire):
    """The usage a billable answer n carries, in creditwatch's kinds.

    input: uncached input; output: all output, reasoning included; reasoning: of output.
    Anthropic has 5m and 1h cache writes; the Responses API a cache write (`cache_write_tokens`);
    chat completions and Gemini no cache writes (the agents read none there). Every wire format
    carries reasoning tokens.
    """
    u = {
        "input": 30 + n,
        "cache_read": 1000 * (10 + n) + 777,
        "cache_write_5m": 0,
        "cache_write_1h": 0,
        "output": 60 + n,
        "reasoning": 0,
    }
    if wire == "anthropic":
        u["cache_write_5m"] = 10 + n
        u["cache_write_1h"] = 5 + n
        u["reasoning"] = 7 + n % 20
    elif wire == "responses":
        u["cache_write_5m"] = 10 + n
        u["reasoning"] = 7 + n % 20
    else:
        u["reasoning"] = 7 + n % 20
    return u


# ---- deciding what to answer ------------------------------------------------------------

# A prompt containing one of these words asks for one call of the first tool the agent offers
# among those listed (answered before any tool result): a shell command, or a subagent.
TOOL_WORDS = {
    "CONFORMANCE_TOOL": ["Bash", "bash", "exec_command", "shell_command", "shell", "run_shell_command"],
    "CONFORMANCE_SUBAGENT": ["Agent", "Task"],
}
# Per tool name the agents offer, the arguments of a harmless call.
TOOL_ARGS = {
    "Agent": {"description": "Conformance subagent", "prompt": "Answer with one word.", "subagent_type": "general-purpose"},
    "Task": {"description": "Conformance subagent", "prompt": "Answer with one word.", "subagent_type": "general-purpose"},
    "Bash": {"command": "echo conformance", "description": "Print a word"},
    "bash": {"command": "echo conformance", "description": "Print a word"},
    "exec_command": {"cmd": "echo conformance"},
    "shell_command": {"command": "echo conformance"},
    "shell": {"command": ["echo", "conformance"]},
    "run_shell_command": {"command": "echo conformance", "description": "Print a word"},
}


def text_of(obj):
    """All strings inside a JSON value, joined (to look for the tool word)."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, list):
        return " ".join(text_of(x) for x in obj)
    if isinstance(obj, dict):
        return " ".join(text_of(v) for v in obj.values())
    return ""


TOOL_RESULT_MARKS = ('"tool_result"', '"function_call_output"', '"role": "tool"', '"functionResponse"',
                     '"custom_tool_call_output"')


def answered_since(raw, word):
    """Whether a tool result follows the last mention of word in the request (JSON keeps the
    conversation's order): a continued session repeats old prompts, already answered."""
    at = raw.rfind(word)
    return any(raw.find(mark, at) != -1 for mark in TOOL_RESULT_MARKS)


def offered_tools(body, wire):
    names = []
    for t in body.get("tools") or []:
        if not isinstance(t, dict):
            continue
        if wire == "gemini":
            for f in t.get("functionDeclarations") or []:
                names.append(f.get("name"))
        elif "function" in t and isinstance(t["function"], dict):
            names.append(t["function"].get("name"))
        else:
            names.append(t.get("name"))
    return [n for n in names if n]


def user_text(body, wire):
    """The text of the user's turns only (system prompts may mention anything)."""
    if wire == "gemini":
        return text_of([c for c in body.get("contents") or [] if c.get("role") == "user"])
    if wire == "responses":
        items = body.get("input") if isinstance(body.get("input"), list) else [body.get("input")]
        return text_of([i for i in items if isinstance(i, str) or (isinstance(i, dict) and i.get("role") == "user")])
    return text_of([m for m in body.get("messages") or [] if m.get("role") == "user"])


def choose_tool(body, wire):
    text, offered, raw = user_text(body, wire), offered_tools(body, wire), json.dumps(body)
    for word, names in TOOL_WORDS.items():
        if word in text and not answered_since(raw, word):
            for name in names:
                if name in offered:
                    return name
    return None


def json_schema_of(body, wire):
    if wire == "gemini":
        g = body.get("generationConfig") or {}
        return g.get("responseJsonSchema") or g.get("responseSchema")
    rf = body.get("response_format") or (body.get("text") or {}).get("format")
    if isinstance(rf, dict):
        return (rf.get("json_schema") or {}).get("schema") or rf.get("schema") or ({} if rf.get("type") == "json_object" else None)
    return None


def value_for(schema):
    if not isinstance(schema, dict):
        return "conformance"
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    t = str(schema.get("type", "object")).lower()
    if t == "object":
        return {k: value_for(v) for k, v in (schema.get("properties") or {}).items()}
    if t == "array":
        return []
    if t == "boolean":
        return False
    if t in ("number", "integer"):
        return schema.get("minimum", 1)
    return "conformance"


def answer_text(body, wire):
    schema = json_schema_of(body, wire)
    if schema is not None:
        return json.dumps(value_for(schema))
    return "Conformance answer."


# ---- the HTTP side ----------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider"

    def log_message(self, fmt, *args):
        pass

    def outside(self, host):
        log_line({"kind": "outside", "host": host, "method": self.command, "path": self.path,
                  "time": time.time()})
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def do_CONNECT(self):
        self.outside(self.path)

    def routed(self):
        """(agent, path) for a request to us; None after refusing one meant for another host."""
        path = self.path
        if path.startswith("http://") or path.startswith("https://"):
            u = urlsplit(path)
            if u.hostname not in ("127.0.0.1", "localhost", "::1"):
                self.outside(u.hostname or path)
                return None
            path = u.path + (("?" + u.query) if u.query else "")
        agent = "unknown"
        if path.startswith("/a/"):
            parts = path.split("/", 3)
            agent = parts[2]
            path = "/" + (parts[3] if len(parts) > 3 else "")
        return agent, path

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip
            raw = gzip.decompress(raw)
        elif self.headers.get("Content-Encoding") == "zstd":
            return {"_undecodable": "zstd"}
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {"_unparsed": len(raw)}

    def do_GET(self):
        r = self.routed()
        if r is None:
            return
        agent, path = r
        log_line({"kind": "other", "agent": agent, "method": "GET", "path": path})
        if path.split("?")[0].endswith("/models"):
            return self.send_json(200, {"object": "list", "data": [], "models": []})
        self.send_json(404, {"error": {"message": "not played by the fake provider", "type": "not_found"}})

    def do_POST(self):
        r = self.routed()
        if r is None:
            return
        agent, path = r
        body = self.read_body()
        p = path.split("?")[0]
        if p.endswith("/messages/count_tokens"):
            log_line({"kind": "other", "agent": agent, "method": "POST", "path": path})
            return self.send_json(200, {"input_tokens": 1000})
        if p.endswith(":countTokens"):
            log_line({"kind": "other", "agent": agent, "method": "POST", "path": path})
            return self.send_json(200, {"totalTokens": 1000})
        if p.endswith("/messages"):
            return self.billable(agent, path, "anthropic", body.get("model", "?"), body, bool(body.get("stream")))
        if p.endswith("/responses"):
            return self.billable(agent, path, "responses", body.get("model", "?"), body, body.get("stream", False) is not False)
        if p.endswith("/chat/completions"):
            return self.billable(agent, path, "chat", body.get("model", "?"), body, bool(body.get("stream")))
        if ":generateContent" in p or ":streamGenerateContent" in p:
            model = p.rsplit("/", 1)[-1].split(":")[0]
            return self.billable(agent, path, "gemini", model, body, ":streamGenerateContent" in p)
        log_line({"kind": "other", "agent": agent, "method": "POST", "path": path})
        self.send_json(404, {"error": {"message": "not played by the fake provider", "type": "not_found"}})

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self, headers=()):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        out = (f"event: {event}\n" if event else "") + "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        self.wfile.write(out.encode())
        self.wfile.flush()

    def billable(self, agent, path, wire, model, body, stream):
        n = next_seq()
        u = usage_for(n, wire)
        tool = choose_tool(body, wire)
        text = answer_text(body, wire)
        ids = {"request_id": f"req_conf{n:04d}x", "response_id": {
            "anthropic": f"msg_conf{n:04d}x", "responses": f"resp_conf{n:04d}x",
            "chat": f"chatcmpl-conf{n:04d}x", "gemini": f"gemresp-conf{n:04d}x"}[wire]}
        log_line({"kind": "billable", "n": n, "agent": agent, "wire": wire, "path": path, "model": model,
                  "stream": stream, "tool": tool, "usage": u, "ids": ids,
                  "tools_offered": offered_tools(body, wire) or [t.get("type") for t in body.get("tools") or [] if isinstance(t, dict)],
                  "user_text_tail": user_text(body, wire)[-160:]})
        getattr(self, "answer_" + wire)(model, u, ids, tool, text, stream)

    # -- Anthropic Messages: https://docs.anthropic.com/en/api/messages-streaming
    def answer_anthropic(self, model, u, ids, tool, text, stream):
        usage = {"input_tokens": u["input"], "cache_read_input_tokens": u["cache_read"],
                 "cache_creation_input_tokens": u["cache_write_5m"] + u["cache_write_1h"],
                 "cache_creation": {"ephemeral_5m_input_tokens": u["cache_write_5m"],
                                    "ephemeral_1h_input_tokens": u["cache_write_1h"]},
                 "output_tokens": u["output"], "service_tier": "standard",
                 # Thinking tokens, inside output_tokens, as Claude Code 2.1.3xx models the usage
                 # it receives (its `output_tokens_details.thinking_tokens`).
                 "output_tokens_details": {"thinking_tokens": u["reasoning"]}}
        if tool:
            block = {"type": "tool_use", "id": f"toolu_{ids['response_id']}", "name": tool, "input": TOOL_ARGS[tool]}
        else:
            block = {"type": "text", "text": text}
        stop = "tool_use" if tool else "end_turn"
        headers = [("request-id", ids["request_id"])]
        if not stream:
            return self.send_json(200, {"id": ids["response_id"], "type": "message", "role": "assistant", "model": model,
                                        "content": [block], "stop_reason": stop, "stop_sequence": None,
                                        "usage": usage}, headers)
        self.start_sse(headers)
        start_usage = dict(usage, output_tokens=1)
        self.sse({"type": "message_start", "message": {"id": ids["response_id"], "type": "message", "role": "assistant",
                  "model": model, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}},
                 "message_start")
        if tool:
            self.sse({"type": "content_block_start", "index": 0, "content_block": dict(block, input={})}, "content_block_start")
            self.sse({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}, "content_block_delta")
        else:
            self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start")
            self.sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")

    # -- OpenAI Responses: https://platform.openai.com/docs/api-reference/responses-streaming
    def answer_responses(self, model, u, ids, tool, text, stream):
        usage = {"input_tokens": u["input"] + u["cache_read"] + u["cache_write_5m"],
                 "input_tokens_details": {"cached_tokens": u["cache_read"], "cache_write_tokens": u["cache_write_5m"]},
                 "output_tokens": u["output"], "output_tokens_details": {"reasoning_tokens": u["reasoning"]},
                 "total_tokens": u["input"] + u["cache_read"] + u["cache_write_5m"] + u["output"]}
        rid = ids["response_id"]
        if tool:
            item = {"type": "function_call", "id": "fc_" + rid, "call_id": "call_" + rid, "name": tool,
                    "arguments": json.dumps(TOOL_ARGS[tool]), "status": "completed"}
        else:
            item = {"type": "message", "id": "msg_" + rid, "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}
        base = {"id": rid, "object": "response", "created_at": int(time.time()), "model": model}
        done = dict(base, status="completed", output=[item], usage=usage)
        # Codex reads its plan's rate limits from these headers and writes a `token_count` line on
        # every update, repeating the last usage (codex-rs core, `update_rate_limits`): a trap for
        # a parser that sums those lines.
        headers = [("x-request-id", ids["request_id"]), ("x-codex-primary-used-percent", "12.5"),
                   ("x-codex-primary-window-minutes", "300"), ("x-codex-primary-reset-after-seconds", "3600"),
                   ("x-codex-secondary-used-percent", "40.0"), ("x-codex-secondary-window-minutes", "10080"),
                   ("x-codex-secondary-reset-after-seconds", "86400")]
        if not stream:
            return self.send_json(200, done, headers)
        self.start_sse(headers)
        seq = iter(range(1000))
        ev = lambda t, **kw: self.sse(dict({"type": t, "sequence_number": next(seq)}, **kw), t)
        ev("response.created", response=dict(base, status="in_progress", output=[]))
        ev("response.in_progress", response=dict(base, status="in_progress", output=[]))
        if tool:
            ev("response.output_item.added", output_index=0, item=dict(item, arguments="", status="in_progress"))
            ev("response.function_call_arguments.delta", item_id=item["id"], output_index=0, delta=item["arguments"])
            ev("response.function_call_arguments.done", item_id=item["id"], output_index=0, arguments=item["arguments"])
        else:
            ev("response.output_item.added", output_index=0, item=dict(item, status="in_progress", content=[]))
            ev("response.content_part.added", item_id=item["id"], output_index=0, content_index=0,
               part={"type": "output_text", "text": "", "annotations": []})
            ev("response.output_text.delta", item_id=item["id"], output_index=0, content_index=0, delta=text)
            ev("response.output_text.done", item_id=item["id"], output_index=0, content_index=0, text=text)
            ev("response.content_part.done", item_id=item["id"], output_index=0, content_index=0, part=item["content"][0])
        ev("response.output_item.done", output_index=0, item=item)
        ev("response.completed", response=done)

    # -- Chat Completions: https://platform.openai.com/docs/api-reference/chat-streaming
    def answer_chat(self, model, u, ids, tool, text, stream):
        usage = {"prompt_tokens": u["input"] + u["cache_read"], "completion_tokens": u["output"],
                 "total_tokens": u["input"] + u["cache_read"] + u["output"],
                 "prompt_tokens_details": {"cached_tokens": u["cache_read"]},
                 "completion_tokens_details": {"reasoning_tokens": u["reasoning"]}}
        cid = ids["response_id"]
        base = {"id": cid, "created": int(time.time()), "model": model}
        if tool:
            call = {"id": "call_" + cid, "type": "function", "function": {"name": tool, "arguments": json.dumps(TOOL_ARGS[tool])}}
            message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": text}, "stop"
        headers = [("x-request-id", ids["request_id"])]
        if not stream:
            return self.send_json(200, dict(base, object="chat.completion", usage=usage,
                                            choices=[{"index": 0, "message": message, "finish_reason": finish}]), headers)
        self.start_sse(headers)
        chunk = lambda **kw: self.sse(dict(base, object="chat.completion.chunk", **kw))
        if tool:
            chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": None,
                            "tool_calls": [dict(call, index=0)]}, "finish_reason": None}])
        else:
            chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}])
        chunk(choices=[{"index": 0, "delta": {}, "finish_reason": finish}])
        chunk(choices=[], usage=usage)
        self.sse("[DONE]")

    # -- Gemini: https://ai.google.dev/api/generate-content
    def answer_gemini(self, model, u, ids, tool, text, stream):
        usage = {"promptTokenCount": u["input"] + u["cache_read"], "cachedContentTokenCount": u["cache_read"],
                 "candidatesTokenCount": u["output"] - u["reasoning"], "thoughtsTokenCount": u["reasoning"],
                 "totalTokenCount": u["input"] + u["cache_read"] + u["output"]}
        part = {"functionCall": {"name": tool, "args": TOOL_ARGS[tool]}} if tool else {"text": text}
        resp = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": model, "responseId": ids["response_id"]}
        if not stream:
            return self.send_json(200, resp)
        self.start_sse()
        self.sse(resp)


# ---- DNS guard and catch-all -------------------------------------------------------------

def dns_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s


def dns_guard(s):
    """Answers every query with REFUSED and logs each name but localhost."""
    while True:
        data, addr = s.recvfrom(4096)
        if len(data) < 12:
            continue
        labels, i = [], 12
        while i < len(data) and data[i] != 0:
            ln = data[i]
            labels.append(data[i + 1:i + 1 + ln].decode("ascii", "replace"))
            i += 1 + ln
        name = ".".join(labels)
        if name.lower() not in ("localhost", "localhost.localdomain"):
            log_line({"kind": "outside", "host": name, "method": "DNS", "path": "", "time": time.time()})
        (qid,) = struct.unpack("!H", data[:2])
        flags = 0x8000 | (data[2] & 0x01) << 8 | 0x0005  # response, RD copied, REFUSED
        s.sendto(struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + data[12:i + 5], addr)


def tls_server_name(hello):
    """The SNI of a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3), or None."""
    try:
        if hello[0] != 0x16 or hello[5] != 0x01:
            return None
        i = 5 + 4 + 2 + 32
        i += 1 + hello[i]                                   # session id
        i += 2 + int.from_bytes(hello[i:i + 2], "big")      # cipher suites
        i += 1 + hello[i]                                   # compression methods
        end = i + 2 + int.from_bytes(hello[i:i + 2], "big")
        i += 2
        while i + 4 <= end:
            kind, ln = int.from_bytes(hello[i:i + 2], "big"), int.from_bytes(hello[i + 2:i + 4], "big")
            if kind == 0:
                n = int.from_bytes(hello[i + 7:i + 9], "big")
                return hello[i + 9:i + 9 + n].decode("ascii", "replace")
            i += 4 + ln
    except IndexError:
        return None
    return None


def catch_socket(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    return s


def catch_all(s):
    """Logs every connection to a web port: in the suite's namespace every IPv4 address is local
    (`ip route add local 0.0.0.0/0 dev lo`), so a client that connects to a literal address
    instead of a name lands here. Names it by TLS SNI or Host header where it sends one."""
    while True:
        conn, _ = s.accept()
        dst = "%s:%d" % conn.getsockname()[:2]
        conn.settimeout(2)
        try:
            head = conn.recv(4096)
        except OSError:
            head = b""
        host = tls_server_name(head)
        if host is None:
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"host:"):
                    host = line[5:].strip().decode("ascii", "replace")
        log_line({"kind": "outside", "host": f"{host} ({dst})" if host else dst, "method": "CONNECT-IP",
                  "path": "", "time": time.time()})
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True, help="request log (JSON lines), appended")
    ap.add_argument("--port-file", required=True, help="written with the port once everything listens")
    ap.add_argument("--dns-port", type=int, default=0, help="DNS guard on 127.0.0.1:PORT (UDP)")
    ap.add_argument("--catch-ports", default="", help="comma-separated ports logged as outside on 0.0.0.0")
    args = ap.parse_args()
    global LOG
    LOG = open(args.log, "a", encoding="utf-8")
    # Every socket is bound before the port file appears: a guard that cannot listen stops the run.
    guards = [(dns_guard, dns_socket(args.dns_port))] if args.dns_port else []
    guards += [(catch_all, catch_socket(int(p))) for p in args.catch_ports.split(",") if p]
    for fn, sock in guards:
        threading.Thread(target=fn, args=(sock,), daemon=True).start()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
