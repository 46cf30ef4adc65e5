//! OTLP/HTTP `POST /v1/logs`: binary protobuf or JSON, optionally gzip,
//! answered as the OTLP specification says: 200 with an
//! `ExportLogsServiceResponse` (its `partial_success` set only when records
//! were rejected), errors as a `google.rpc.Status` in the request's own
//! encoding — 400 bad data, 401 no/wrong token, 413 too large, 415 unknown
//! type or encoding (none of them retried by exporters), 503 when the
//! journal cannot be written (retried).

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse};
use prost::Message;

use super::{Accepted, Receiver, Refused, MAX_BODY};

type Resp = Response<Full<Bytes>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// `google.rpc.Status`, the body of every OTLP/HTTP error.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn reply(encoding: Encoding, status: StatusCode, body: Vec<u8>) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(encoding.content_type()));
    resp
}

/// An error reply; `grpc_code` is the matching gRPC code (the spec lets
/// servers omit it; clients may log it).
fn failure(encoding: Encoding, status: StatusCode, grpc_code: tonic::Code, message: &str) -> Resp {
    let st = RpcStatus { code: grpc_code as i32, message: message.to_string() };
    let body = match encoding {
        Encoding::Protobuf => st.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&serde_json::json!({ "code": st.code, "message": st.message })).unwrap_or_default(),
    };
    reply(encoding, status, body)
}

fn success(encoding: Encoding, accepted: &Accepted) -> Resp {
    let partial_success = (accepted.rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(accepted.rejected).unwrap_or(i64::MAX),
        error_message: format!(
            "{} of {} log records rejected: {}",
            accepted.rejected,
            accepted.records,
            accepted.first_error.as_deref().unwrap_or("unreadable")
        ),
    });
    let response = ExportLogsServiceResponse { partial_success };
    let body = match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&response).unwrap_or_default(),
    };
    reply(encoding, StatusCode::OK, body)
}

/// The request's encoding from its Content-Type; `None` for another type.
fn encoding_of(headers: &HeaderMap) -> Option<Encoding> {
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
        "application/json" => Some(Encoding::Json),
        _ => None,
    }
}

/// Handles `POST /v1/logs`. `discard` is called with the body when the
/// reply is an error before the body was read.
pub async fn export(receiver: &Arc<Receiver>, headers: &HeaderMap, body: Incoming) -> (Resp, Option<Incoming>) {
    let encoding = encoding_of(headers);
    let reply_as = encoding.unwrap_or(Encoding::Protobuf);
    let auth = headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !receiver.authorized(auth) {
        let mut resp = failure(
            reply_as,
            StatusCode::UNAUTHORIZED,
            tonic::Code::Unauthenticated,
            "missing or wrong `Authorization: Bearer <otlp token>`",
        );
        resp.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return (resp, Some(body));
    }
    let Some(encoding) = encoding else {
        let msg = "Content-Type must be application/x-protobuf or application/json";
        return (failure(reply_as, StatusCode::UNSUPPORTED_MEDIA_TYPE, tonic::Code::InvalidArgument, msg), Some(body));
    };
    let gzip = match headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(e) if e.is_empty() || e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(e) => {
            let msg = format!("Content-Encoding `{e}` is not supported (gzip is)");
            return (failure(encoding, StatusCode::UNSUPPORTED_MEDIA_TYPE, tonic::Code::InvalidArgument, &msg), Some(body));
        }
    };
    let raw = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let resp = if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                failure(
                    encoding,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    tonic::Code::InvalidArgument,
                    &format!("request body over {MAX_BODY} bytes"),
                )
            } else {
                failure(encoding, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument, &format!("cannot read the request body: {e}"))
            };
            return (resp, None);
        }
    };
    let plain = if gzip {
        match gunzip(&raw) {
            Ok(plain) => Bytes::from(plain),
            Err(msg) => return (failure(encoding, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument, &msg), None),
        }
    } else {
        raw
    };
    let request = match decode(encoding, &plain) {
        Ok(r) => r,
        Err(msg) => return (failure(encoding, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument, &msg), None),
    };
    let resp = match receiver.ingest(&request).await {
        Ok(accepted) => success(encoding, &accepted),
        Err(Refused::Unavailable(msg)) => {
            let mut resp = failure(encoding, StatusCode::SERVICE_UNAVAILABLE, tonic::Code::Unavailable, &msg);
            resp.headers_mut().insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
    };
    (resp, None)
}

/// Decompresses at most `MAX_BODY` bytes (a gzip bomb is refused, not expanded).
fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len() * 4);
    let mut decoder = flate2::read::GzDecoder::new(raw).take(MAX_BODY as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| format!("body is not valid gzip: {e}"))?;
    if out.len() > MAX_BODY {
        return Err(format!("decompressed body over {MAX_BODY} bytes"));
    }
    Ok(out)
}

fn decode(encoding: Encoding, body: &[u8]) -> Result<ExportLogsServiceRequest, String> {
    match encoding {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(body).map_err(|e| format!("body is not an ExportLogsServiceRequest: {e}")),
        Encoding::Json => serde_json::from_slice(body).map_err(|e| format!("body is not OTLP/JSON: {e}")),
    }
}
