"""A real OTLP logs exporter for creditwatch's tests and benchmark.

Builds ExportLogsServiceRequest messages with the `opentelemetry-proto`
package and sends them over OTLP/gRPC (`grpcio`), OTLP/HTTP protobuf (gzip)
or OTLP/HTTP JSON, the three protocols Claude Code's exporter speaks.

  client.py send --transport grpc|http-protobuf|http-json --endpoint HOST:PORT
            [--token T] [--file REQUEST.json] [--tls-ca CA.pem] [--retry-until-ok SECONDS]
      sends one request (a JSON file in OTLP/JSON, default stdin) and prints
      {"status": <HTTP status or gRPC code name>, "rejected": N, "message": "..."}
  client.py bench --transport T --endpoint HOST:PORT --token T --batches N --batch-size K
      sends N generated batches back to back and prints events/s and latency p50/p99
"""

import argparse
import gzip
import json
import ssl
import sys
import time
import urllib.error
import urllib.request

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2


def request_from_json(text):
    return json_format.Parse(text, logs_service_pb2.ExportLogsServiceRequest())


def send_grpc(endpoint, token, request, tls_ca=None):
    if tls_ca:
        creds = grpc.ssl_channel_credentials(open(tls_ca, "rb").read())
        channel = grpc.secure_channel(endpoint, creds, options=[("grpc.ssl_target_name_override", "localhost")])
    else:
        channel = grpc.insecure_channel(endpoint)
    stub = logs_service_pb2_grpc.LogsServiceStub(channel)
    metadata = [("authorization", f"Bearer {token}")] if token else []
    try:
        resp = stub.Export(request, metadata=metadata, timeout=30, compression=grpc.Compression.Gzip)
        return {"status": "OK", "rejected": resp.partial_success.rejected_log_records, "message": resp.partial_success.error_message}
    except grpc.RpcError as e:
        return {"status": e.code().name, "rejected": None, "message": e.details()}
    finally:
        channel.close()


def send_http(endpoint, token, request, as_json, tls_ca=None, raw_body=None, content_type=None, content_encoding=None):
    scheme = "https" if tls_ca else "http"
    if raw_body is not None:
        body = raw_body
        headers = {"Content-Type": content_type or "application/x-protobuf"}
        if content_encoding:
            headers["Content-Encoding"] = content_encoding
    elif as_json:
        body = json_format.MessageToJson(request).encode()
        headers = {"Content-Type": "application/json"}
    else:
        body = gzip.compress(request.SerializeToString())
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{scheme}://{endpoint}/v1/logs", data=body, headers=headers, method="POST")
    context = ssl.create_default_context(cafile=tls_ca) if tls_ca else None
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return decode_http(resp.status, resp.headers.get("Content-Type", ""), resp.read())
    except urllib.error.HTTPError as e:
        return decode_http(e.code, e.headers.get("Content-Type", ""), e.read())


def decode_http(status, content_type, body):
    out = {"status": status, "rejected": None, "message": "", "content_type": content_type}
    if status == 200:
        resp = logs_service_pb2.ExportLogsServiceResponse()
        if content_type.startswith("application/json"):
            json_format.Parse(body.decode(), resp)
        else:
            resp.ParseFromString(body)
        out["rejected"] = resp.partial_success.rejected_log_records
        out["message"] = resp.partial_success.error_message
    else:
        # google.rpc.Status: message is field 2 (JSON: "message").
        if content_type.startswith("application/json"):
            out["message"] = json.loads(body.decode() or "{}").get("message", "")
        else:
            from google.rpc import status_pb2  # googleapis-common-protos

            st = status_pb2.Status()
            st.ParseFromString(body)
            out["message"] = st.message
    return out


def send(args, request):
    if args.raw_body_file:
        raw = open(args.raw_body_file, "rb").read()
        return send_http(args.endpoint, args.token, None, False, args.tls_ca, raw, args.content_type, args.content_encoding)
    if args.transport == "grpc":
        return send_grpc(args.endpoint, args.token, request, args.tls_ca)
    return send_http(args.endpoint, args.token, request, args.transport == "http-json", args.tls_ca)


def generated_batch(start, size, session="bench-session"):
    """`size` claude_code.api_request records with ids start..start+size."""
    records = []
    now = time.time_ns()
    for i in range(start, start + size):
        attrs = {
            "event.name": "api_request",
            "event.timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "model": "claude-sonnet-4-6",
            "request_id": f"req_bench_{i:012d}",
            "input_tokens": "100",
            "output_tokens": "50",
            "cache_read_tokens": "1000",
            "cache_creation_tokens": "10",
            "session.id": session,
            "user.email": f"dev{i % 7}@example.org",
        }
        records.append(
            logs_pb2.LogRecord(
                time_unix_nano=now,
                event_name="claude_code.api_request",
                body=common_pb2.AnyValue(string_value="claude_code.api_request"),
                attributes=[common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(string_value=v)) for k, v in attrs.items()],
            )
        )
    resource = resource_pb2.Resource(attributes=[common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value="claude-code"))])
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[logs_pb2.ResourceLogs(resource=resource, scope_logs=[logs_pb2.ScopeLogs(log_records=records)])]
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["send", "bench"])
    p.add_argument("--transport", required=True, choices=["grpc", "http-protobuf", "http-json"])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--token", default="")
    p.add_argument("--file")
    p.add_argument("--tls-ca")
    p.add_argument("--raw-body-file", help="POST these bytes as they are (malformed-body tests)")
    p.add_argument("--content-type")
    p.add_argument("--content-encoding")
    p.add_argument("--retry-until-ok", type=float, default=0.0, help="retry retryable failures (connection refused, 503, UNAVAILABLE) for up to this many seconds")
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--ready", action="store_true", help="bench: print `ready` once the batches are built, then wait for a line on stdin")
    args = p.parse_args()

    if args.mode == "send":
        request = None if args.raw_body_file else request_from_json(open(args.file).read() if args.file else sys.stdin.read())
        deadline = time.monotonic() + args.retry_until_ok
        attempts = 0
        while True:
            attempts += 1
            try:
                out = send(args, request)
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                out = {"status": "CONNECTION_FAILED", "rejected": None, "message": str(e)}
            retryable = out["status"] in ("CONNECTION_FAILED", 503, 502, 504, 429, "UNAVAILABLE")
            if not retryable or time.monotonic() >= deadline:
                break
            time.sleep(0.1)  # exporter backoff between retries
        out["attempts"] = attempts
        print(json.dumps(out))
        return

    # Every batch is built and encoded before the clock starts, and one
    # connection (a gRPC channel, an HTTP/1.1 keep-alive connection) carries
    # them all, as an SDK exporter does: the figures are the receiver's, not
    # the Python client's.
    requests = [generated_batch(args.start + b * args.batch_size, args.batch_size) for b in range(args.batches)]
    if args.transport == "grpc":
        channel = grpc.insecure_channel(args.endpoint)
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)
        metadata = [("authorization", f"Bearer {args.token}")]

        def send_one(request):
            resp = stub.Export(request, metadata=metadata, timeout=30, compression=grpc.Compression.Gzip)
            return "OK", resp.partial_success.rejected_log_records
    else:
        import http.client

        host, port = args.endpoint.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        as_json = args.transport == "http-json"
        headers = {"Content-Type": "application/json" if as_json else "application/x-protobuf", "Authorization": f"Bearer {args.token}"}
        if not as_json:
            headers["Content-Encoding"] = "gzip"
        requests = [json_format.MessageToJson(r).encode() if as_json else gzip.compress(r.SerializeToString()) for r in requests]

        def send_one(body):
            connection.request("POST", "/v1/logs", body=body, headers=headers)
            resp = connection.getresponse()
            out = decode_http(resp.status, resp.getheader("Content-Type", ""), resp.read())
            return out["status"], out["rejected"]

    if args.ready:
        print("ready", flush=True)
        sys.stdin.readline()  # the benchmark starts every client at once
    latencies = []
    sent = 0
    begin = time.perf_counter()
    for request in requests:
        t0 = time.perf_counter()
        status, rejected = send_one(request)
        latencies.append(time.perf_counter() - t0)
        if status not in (200, "OK") or rejected:
            print(json.dumps({"error": {"status": status, "rejected": rejected}}), file=sys.stderr)
            sys.exit(1)
        sent += args.batch_size
    elapsed = time.perf_counter() - begin
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(json.dumps({"transport": args.transport, "events": sent, "seconds": round(elapsed, 3), "events_per_second": round(sent / elapsed),
                      "p50_ms": round(pct(0.50), 2), "p99_ms": round(pct(0.99), 2)}))

if __name__ == "__main__":
    main()
