//! Reading request bodies within limits: the content type first (415), a
//! declared length over the cap before a byte is read (413), then the body
//! within the cap and the slow-client timeout (413, 408), then strict JSON
//! (400 with a pointer). Report bodies are streamed instead: see
//! [`LineStream`].

use std::io::{BufRead, Read};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;

use super::problem::Problem;
use crate::case::json::{JsonLimits, parse_strict};

/// Media types of a JSON body.
pub const JSON: &[&str] = &["application/json"];
/// Media types of a JSON Lines body.
pub const JSON_LINES: &[&str] = &["application/x-ndjson", "application/jsonl"];

/// Refuses a body whose content type is not one of `accepted` (415).
/// Parameters other than `charset=utf-8` are refused too.
pub fn require_content_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), Problem> {
    let refuse = || {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!("the body must be {}", accepted.join(" or ")),
        )
    };
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(refuse)?;
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    if !accepted.contains(&essence.as_str()) {
        return Err(refuse());
    }
    for parameter in parts.filter(|p| !p.is_empty()) {
        let (name, val) = parameter.split_once('=').ok_or_else(refuse)?;
        let val = val.trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") || !val.eq_ignore_ascii_case("utf-8") {
            return Err(refuse());
        }
    }
    Ok(())
}

fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        format!("the body is larger than the limit of {limit} bytes"),
    )
}

fn too_slow() -> Problem {
    Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "the body did not arrive in time, or arrived too slowly",
    )
}

/// Refuses a declared `Content-Length` over `limit` before reading.
pub fn check_declared_length(headers: &HeaderMap, limit: u64) -> Result<(), Problem> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// Reads the whole body, at most `limit` bytes, within `timeout`.
///
/// # Errors
/// 413 over the limit, 408 when too slow, 400 when the connection broke.
pub async fn read_bounded(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Problem> {
    check_declared_length(headers, limit as u64)?;
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(too_slow()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit as u64)),
        Ok(Err(_)) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "body-unreadable",
            "the body could not be read",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Parses a JSON body strictly: no duplicate keys, no comments or trailing
/// commas, bounded depth, exact numbers.
///
/// # Errors
/// 400 with the pointer of the first problem.
pub fn parse_json(bytes: &[u8], max_depth: usize) -> Result<Value, Problem> {
    parse_strict(
        bytes,
        JsonLimits {
            max_bytes: bytes.len().max(1),
            max_depth,
        },
    )
    .map_err(|e| {
        Problem::bad_request(
            "invalid-json",
            &crate::case::schema::redact_pointer(&e.pointer, super::openapi::declared_names()),
            format!("the body is not valid JSON: {}", e.message),
        )
    })
}

/// Why a streamed body stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFault {
    /// More than the limit arrived.
    TooLarge(u64),
    /// Nothing arrived for longer than the timeout.
    TooSlow,
    /// The connection broke.
    Broken,
}

impl StreamFault {
    /// The problem to answer with.
    pub fn problem(self) -> Problem {
        match self {
            StreamFault::TooLarge(limit) => too_large(limit),
            StreamFault::TooSlow => too_slow(),
            StreamFault::Broken => Problem::new(
                StatusCode::BAD_REQUEST,
                "body-unreadable",
                "the body could not be read",
            ),
        }
    }
}

/// How a streamed body must keep arriving.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Most bytes in all.
    pub max_bytes: u64,
    /// Longest wait for the next part.
    pub idle: Duration,
    /// Slowest average rate, counted once `idle` has passed, over the time
    /// spent waiting for the client only (not while the server is busy with
    /// what arrived).
    pub min_bytes_per_second: u64,
}

impl StreamLimits {
    /// Whether `received` bytes after `waited` of waiting on the client is
    /// slower than allowed.
    fn too_slow(&self, received: u64, waited: Duration) -> bool {
        let Some(counted) = waited.checked_sub(self.idle) else {
            return false;
        };
        let owed = u128::from(self.min_bytes_per_second) * counted.as_millis() / 1000;
        u128::from(received) < owed
    }
}

/// A streamed body read on a blocking thread: a task forwards the body's
/// chunks through a small bounded channel (so a fast client cannot fill the
/// server's memory), enforcing the size cap, the idle timeout and the
/// minimum rate (so a trickling client cannot hold an evaluation place);
/// this side reads them as a [`BufRead`].
pub struct LineStream {
    chunks: tokio::sync::mpsc::Receiver<Result<Bytes, StreamFault>>,
    current: Bytes,
    fault: Arc<OnceLock<StreamFault>>,
}

impl LineStream {
    /// Starts forwarding `body`.
    pub fn start(body: Body, limits: StreamLimits) -> LineStream {
        let (sender, chunks) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            let mut body = body;
            let mut received = 0u64;
            let mut waited = Duration::ZERO;
            loop {
                let asked = tokio::time::Instant::now();
                let frame = tokio::time::timeout(limits.idle, body.frame()).await;
                waited += asked.elapsed();
                let next = match frame {
                    Err(_) => Err(StreamFault::TooSlow),
                    Ok(None) => return,
                    Ok(Some(Err(_))) => Err(StreamFault::Broken),
                    Ok(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => {
                            received += data.len() as u64;
                            if received > limits.max_bytes {
                                Err(StreamFault::TooLarge(limits.max_bytes))
                            } else if limits.too_slow(received, waited) {
                                Err(StreamFault::TooSlow)
                            } else {
                                Ok(data)
                            }
                        }
                        Err(_) => continue,
                    },
                };
                let stop = next.is_err();
                if sender.send(next).await.is_err() || stop {
                    return;
                }
            }
        });
        LineStream {
            chunks,
            current: Bytes::new(),
            fault: Arc::default(),
        }
    }

    /// Where the reason the stream stopped early will be, if it does (kept
    /// apart so that it can be read after the stream was handed on).
    pub fn fault(&self) -> Arc<OnceLock<StreamFault>> {
        Arc::clone(&self.fault)
    }
}

impl Read for LineStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for LineStream {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.current.is_empty() {
            if self.fault.get().is_some() {
                return Err(std::io::Error::other("the body stopped"));
            }
            match self.chunks.blocking_recv() {
                None => return Ok(&[]),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(fault)) => {
                    let _ = self.fault.set(fault);
                    return Err(std::io::Error::other("the body stopped"));
                }
            }
        }
        Ok(&self.current)
    }

    fn consume(&mut self, amount: usize) {
        let _ = self.current.split_to(amount.min(self.current.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_owed_only_after_the_first_idle_period() {
        let limits = StreamLimits {
            max_bytes: u64::MAX,
            idle: Duration::from_secs(15),
            min_bytes_per_second: 1000,
        };
        assert!(!limits.too_slow(0, Duration::from_secs(15)));
        assert!(!limits.too_slow(5_000, Duration::from_secs(20)));
        assert!(limits.too_slow(4_999, Duration::from_secs(20)));
    }
}
