//! The MovieDetailsViewedEvent (SPEC 1.2) and where it goes: an S3 object
//! `<sessionId>/<activityId>.json`, and one SNS Publish (or, with a queue and no
//! topic, one SQS SendMessage).
//!
//! Only the official AWS SDK for Rust talks to AWS here, configured by the standard
//! chain (environment, profile, ...) plus the settings of [`Config`], so that real AWS
//! and a local endpoint are the same code path. This module knows nothing of HTTP
//! requests: the handler builds an [`Event`] and calls [`Publisher::send`].

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{
    RequestChecksumCalculation, ResponseChecksumValidation, StalledStreamProtectionConfig,
};
use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, non_empty};

/// One MovieDetailsViewedEvent, fields in the original's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// A UUID v4, new for every event.
    pub activity_id: String,
    /// The visitor's session (the `session_id` cookie).
    pub session_id: String,
    /// ISO-8601 UTC with milliseconds, as JavaScript's `toISOString()`.
    pub timestamp: String,
    /// The id the page sent, as it sent it (a number or a string).
    pub media_id: Value,
}

impl Event {
    /// A new event for `media_id`, viewed now in `session_id`.
    pub fn new(session_id: &str, media_id: Value) -> Self {
        Self {
            activity_id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            timestamp: crate::time::now_iso8601(),
            media_id,
        }
    }

    /// The S3 key of the event: `<sessionId>/<activityId>.json`.
    pub fn object_key(&self) -> String {
        format!("{}/{}.json", self.session_id, self.activity_id)
    }
}

/// Which destination an event could not reach, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} the event: {message}")]
pub struct PublishError {
    /// `store (S3 PutObject)`, `publish (SNS Publish)` or `send (SQS SendMessage)`.
    pub action: &'static str,
    /// The SDK's error with its chain of causes.
    pub message: String,
}

impl PublishError {
    fn new(action: &'static str, err: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            action,
            message: aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
        }
    }
}

/// The configured destinations, with their clients built once.
#[derive(Debug, Clone, Default)]
pub struct Publisher {
    s3: Option<(aws_sdk_s3::Client, String)>,
    sqs: Option<(aws_sdk_sqs::Client, String)>,
    sns: Option<(aws_sdk_sns::Client, String)>,
}

impl Publisher {
    /// Builds the clients of the destinations `config` names (none when it names
    /// none, so that a frontend without AWS never touches the AWS chain).
    pub async fn new(config: &Config) -> Self {
        let bucket = non_empty(&config.s3_bucket);
        let topic = non_empty(&config.sns_topic_arn);
        // As in the original: the queue is used only when there is no topic.
        let queue = non_empty(&config.sqs_queue_url).filter(|_| topic.is_none());
        if bucket.is_none() && topic.is_none() && queue.is_none() {
            return Self::default();
        }
        let sdk = sdk_config(config).await;
        let s3 = bucket.map(|bucket| {
            // A local endpoint has no per-bucket host names: path-style addressing.
            let path_style = sdk.endpoint_url().is_some();
            let conf = aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(path_style)
                .build();
            (aws_sdk_s3::Client::from_conf(conf), bucket.to_owned())
        });
        let sns = topic.map(|arn| (aws_sdk_sns::Client::new(&sdk), arn.to_owned()));
        let sqs = queue.map(|url| (aws_sdk_sqs::Client::new(&sdk), url.to_owned()));
        Self { s3, sqs, sns }
    }

    /// What this publisher does with an event, for logs: e.g. `s3+sns`.
    pub fn describe(&self) -> String {
        let parts: Vec<&str> = [
            self.s3.as_ref().map(|_| "s3"),
            self.sns.as_ref().map(|_| "sns"),
            self.sqs.as_ref().map(|_| "sqs"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("+")
        }
    }

    /// Stores and publishes the event, both at once; the first failure is the error.
    pub async fn send(&self, event: &Event) -> Result<(), PublishError> {
        let body = serde_json::to_string(event).map_err(|e| PublishError::new("encode", &e))?;
        let store = async {
            let Some((client, bucket)) = &self.s3 else {
                return Ok(());
            };
            client
                .put_object()
                .bucket(bucket)
                .key(event.object_key())
                .content_type("application/json")
                .body(ByteStream::from(body.clone().into_bytes()))
                .send()
                .await
                .map(drop)
                .map_err(|e| PublishError::new("store (S3 PutObject)", &e))
        };
        let notify = async {
            if let Some((client, arn)) = &self.sns {
                client
                    .publish()
                    .topic_arn(arn)
                    .message(body.as_str())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| PublishError::new("publish (SNS Publish)", &e))
            } else if let Some((client, url)) = &self.sqs {
                client
                    .send_message()
                    .queue_url(url)
                    .message_body(body.as_str())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| PublishError::new("send (SQS SendMessage)", &e))
            } else {
                Ok(())
            }
        };
        let (stored, notified) = tokio::join!(store, notify);
        stored.and(notified)
    }
}

/// The standard AWS chain, with the region, endpoint and credentials of `config`
/// when it gives them, and timeouts short enough for a page's request.
async fn sdk_config(config: &Config) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build();
    let region = RegionProviderChain::first_try(
        non_empty(&config.aws_region).map(|r| Region::new(r.to_owned())),
    )
    .or_default_provider()
    .or_else(Region::from_static("us-east-1"));
    // An event is a few hundred bytes: no stalled-stream watchdog, and checksums only
    // where the API requires them (S3 would otherwise add a CRC trailer to each put).
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .timeout_config(timeouts)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = non_empty(&config.aws_endpoint_url) {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(credentials) = &config.aws_credentials {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            None,
            None,
            "nextflix-web-config",
        ));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_has_the_original_shape() {
        let event = Event::new("s-1", serde_json::json!(550));
        let value = serde_json::to_value(&event).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4);
        assert_eq!(value["sessionId"], "s-1");
        assert_eq!(value["mediaId"], 550);
        assert!(uuid::Uuid::parse_str(&event.activity_id).is_ok());
        assert_eq!(event.timestamp.len(), 24);
        assert!(event.timestamp.ends_with('Z'));
        assert_eq!(
            event.object_key(),
            format!("s-1/{}.json", event.activity_id)
        );
    }
}
