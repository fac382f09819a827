//! The MovieDetailsViewedEvent and how it is read out of an SQS message body.
//!
//! A body is one of three shapes: the SNS envelope (`"Type": "Notification"`, the
//! event as a JSON string in `"Message"`), SNS raw delivery (the event itself), or
//! the event sent straight to SQS (the same). Anything else is an [`EventError`]:
//! the consumer leaves such a message on the queue, where the redrive policy moves
//! it to the dead-letter queue. This module never touches the network or the state.

use aws_sdk_sqs::primitives::{DateTime, DateTimeFormat};
use serde::Deserialize;
use serde_json::Value;

/// One MovieDetailsViewedEvent, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unique per event: what makes processing idempotent.
    pub activity_id: String,
    pub session_id: String,
    /// As sent (ISO-8601).
    pub timestamp: String,
    /// `timestamp` in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The title's id, as a string whatever its JSON type was.
    pub media_id: String,
}

/// Why a message body is not an event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the SNS notification has no string \"Message\"")]
    EnvelopeWithoutMessage,
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error("the event has no valid {0:?}")]
    Field(&'static str),
    #[error("the event's timestamp {0:?} is not ISO-8601")]
    Timestamp(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    activity_id: Option<Value>,
    session_id: Option<Value>,
    timestamp: Option<Value>,
    media_id: Option<Value>,
}

/// The longest id we accept (activity, session, media).
const MAX_ID: usize = 128;

impl Event {
    /// Reads an event out of an SQS message body (any of the three shapes).
    pub fn from_body(body: &str) -> Result<Event, EventError> {
        let value: Value =
            serde_json::from_str(body).map_err(|e| EventError::NotJson(e.to_string()))?;
        let is_envelope = value.get("Type").and_then(Value::as_str) == Some("Notification");
        if is_envelope {
            let message = value
                .get("Message")
                .and_then(Value::as_str)
                .ok_or(EventError::EnvelopeWithoutMessage)?;
            let inner: Value =
                serde_json::from_str(message).map_err(|e| EventError::NotJson(e.to_string()))?;
            Self::from_value(inner)
        } else {
            Self::from_value(value)
        }
    }

    fn from_value(value: Value) -> Result<Event, EventError> {
        if !value.is_object() {
            return Err(EventError::NotAnObject);
        }
        let wire: Wire = serde_json::from_value(value).map_err(|_| EventError::NotAnObject)?;
        let activity_id = id_string(wire.activity_id, "activityId", false)?;
        let session_id = id_string(wire.session_id, "sessionId", false)?;
        let media_id = id_string(wire.media_id, "mediaId", true)?;
        if !media_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(EventError::Field("mediaId"));
        }
        let timestamp = match wire.timestamp {
            Some(Value::String(s)) => s,
            _ => return Err(EventError::Field("timestamp")),
        };
        let timestamp_ms = parse_timestamp(&timestamp)?;
        Ok(Event {
            activity_id,
            session_id,
            timestamp,
            timestamp_ms,
            media_id,
        })
    }
}

fn id_string(
    value: Option<Value>,
    field: &'static str,
    numbers: bool,
) -> Result<String, EventError> {
    let s = match value {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if numbers => n.to_string(),
        _ => return Err(EventError::Field(field)),
    };
    if s.is_empty() || s.len() > MAX_ID {
        return Err(EventError::Field(field));
    }
    Ok(s)
}

/// ISO-8601 / RFC 3339 (`2026-12-04T06:44:08.123Z`, offsets allowed) to epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Result<i64, EventError> {
    let bad = || EventError::Timestamp(s.to_owned());
    // The SDK's parser takes UTC (`Z`) only: an offset is applied here.
    let (utc, offset_ms) = match s
        .len()
        .checked_sub(6)
        .and_then(|at| s.get(at..).map(|o| (at, o)))
    {
        Some((at, offset))
            if (offset.starts_with('+') || offset.starts_with('-'))
                && offset.as_bytes().get(3) == Some(&b':') =>
        {
            let hours: i64 = offset
                .get(1..3)
                .and_then(|h| h.parse().ok())
                .ok_or_else(bad)?;
            let minutes: i64 = offset
                .get(4..6)
                .and_then(|m| m.parse().ok())
                .ok_or_else(bad)?;
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            (
                format!("{}Z", &s[..at]),
                sign * (hours * 60 + minutes) * 60_000,
            )
        }
        _ => (s.to_owned(), 0),
    };
    let parsed = DateTime::from_str(&utc, DateTimeFormat::DateTime).map_err(|_| bad())?;
    let ms = parsed.to_millis().map_err(|_| bad())?;
    Ok(ms - offset_ms)
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Epoch milliseconds as ISO-8601 UTC with milliseconds, as the web writes them.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let nanos = u32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0);
    let dt = DateTime::from_secs_and_nanos(secs, nanos);
    dt.fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// An event for unit tests.
#[cfg(test)]
pub(crate) fn test_event(activity: &str, session: &str, media: &str, at: i64) -> Event {
    Event {
        activity_id: activity.into(),
        session_id: session.into(),
        timestamp: format_ms(at),
        timestamp_ms: at,
        media_id: media.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"activityId":"a-1","sessionId":"s-1","timestamp":"2026-12-04T06:44:08.123Z","mediaId":550}"#;

    #[test]
    fn plain_and_raw_events_are_read() {
        let e = Event::from_body(EVENT).unwrap();
        assert_eq!(e.activity_id, "a-1");
        assert_eq!(e.session_id, "s-1");
        assert_eq!(e.media_id, "550");
        assert_eq!(e.timestamp_ms % 1000, 123);
        assert_eq!(format_ms(e.timestamp_ms), "2026-12-04T06:44:08.123Z");
    }

    #[test]
    fn the_sns_envelope_is_opened() {
        let body = serde_json::json!({
            "Type": "Notification",
            "MessageId": "m",
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
            "Message": EVENT,
        })
        .to_string();
        assert_eq!(Event::from_body(&body).unwrap().media_id, "550");
        let empty = r#"{"Type":"Notification","Message":5}"#;
        assert_eq!(
            Event::from_body(empty),
            Err(EventError::EnvelopeWithoutMessage)
        );
    }

    #[test]
    fn string_media_ids_and_offsets_are_accepted() {
        let body = r#"{"activityId":"a","sessionId":"s","timestamp":"2026-01-01T01:00:00+01:00","mediaId":"100001"}"#;
        let e = Event::from_body(body).unwrap();
        assert_eq!(e.media_id, "100001");
        assert_eq!(format_ms(e.timestamp_ms), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn what_is_not_an_event_is_refused() {
        assert!(matches!(
            Event::from_body("not json"),
            Err(EventError::NotJson(_))
        ));
        assert_eq!(Event::from_body("[1]"), Err(EventError::NotAnObject));
        assert_eq!(
            Event::from_body(
                r#"{"activityId":"a","sessionId":"s","timestamp":"2026-01-01T00:00:00Z"}"#
            ),
            Err(EventError::Field("mediaId"))
        );
        assert_eq!(
            Event::from_body(
                r#"{"activityId":"a","sessionId":"s","timestamp":"yesterday","mediaId":1}"#
            ),
            Err(EventError::Timestamp("yesterday".into()))
        );
        assert_eq!(
            Event::from_body(
                r#"{"activityId":"a","sessionId":"s","timestamp":"2026-01-01T00:00:00Z","mediaId":"../x"}"#
            ),
            Err(EventError::Field("mediaId"))
        );
        assert_eq!(
            Event::from_body(
                r#"{"activityId":1,"sessionId":"s","timestamp":"2026-01-01T00:00:00Z","mediaId":1}"#
            ),
            Err(EventError::Field("activityId"))
        );
    }
}
