//! Queue attributes: the settable ones as a typed [`QueueSettings`], their
//! validation with AWS's limits and messages, and their rendering back to the
//! string map of GetQueueAttributes. Rules that need other queues (does the
//! dead-letter target exist, does it allow us) are the engine's.

use serde::{Deserialize, Serialize};

use crate::sqs::error::{ErrorKind, SqsError, SqsResult};
use crate::sqs::model::Attributes;

/// Every attribute name GetQueueAttributes knows.
pub const ALL_NAMES: [&str; 22] = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "All",
];

/// A RedrivePolicy: where messages go after `max_receive_count` receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

/// A RedriveAllowPolicy: which source queues may use this queue as their DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedriveAllow {
    AllowAll,
    DenyAll,
    ByQueue(Vec<String>),
}

/// The settable attributes of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSettings {
    pub delay_seconds: u32,
    pub maximum_message_size: u32,
    pub message_retention_period: u32,
    pub receive_message_wait_time_seconds: u32,
    pub visibility_timeout: u32,
    pub policy: Option<String>,
    pub redrive_policy: Option<RedrivePolicy>,
    /// The JSON as given, and its meaning.
    pub redrive_allow_policy: Option<(String, RedriveAllow)>,
    pub kms_master_key_id: Option<String>,
    pub kms_data_key_reuse_period_seconds: u32,
    pub sqs_managed_sse_enabled: bool,
    pub fifo_queue: bool,
    pub content_based_deduplication: bool,
    /// `queue` or `messageGroup`.
    pub deduplication_scope: String,
    /// `perQueue` or `perMessageGroupId`.
    pub fifo_throughput_limit: String,
}

impl QueueSettings {
    pub fn defaults(fifo: bool) -> Self {
        QueueSettings {
            delay_seconds: 0,
            maximum_message_size: 1_048_576,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 0,
            visibility_timeout: 30,
            policy: None,
            redrive_policy: None,
            redrive_allow_policy: None,
            kms_master_key_id: None,
            kms_data_key_reuse_period_seconds: 300,
            sqs_managed_sse_enabled: true,
            fifo_queue: fifo,
            content_based_deduplication: false,
            deduplication_scope: "queue".into(),
            fifo_throughput_limit: "perQueue".into(),
        }
    }

    /// Applies `attributes` (CreateQueue or SetQueueAttributes). `creating` allows
    /// FifoQueue; after creation it may not change.
    pub fn apply(&mut self, attributes: &Attributes, creating: bool) -> SqsResult<()> {
        for (name, value) in attributes {
            self.apply_one(name, value, creating)?;
        }
        if !self.fifo_queue {
            for fifo_only in [
                "ContentBasedDeduplication",
                "DeduplicationScope",
                "FifoThroughputLimit",
            ] {
                if attributes.contains_key(fifo_only) {
                    return Err(SqsError::new(
                        ErrorKind::InvalidAttributeName,
                        format!("Unknown Attribute {fifo_only}."),
                    ));
                }
            }
        }
        if self.fifo_throughput_limit == "perMessageGroupId"
            && self.deduplication_scope != "messageGroup"
        {
            return Err(SqsError::new(
                ErrorKind::InvalidAttributeValue,
                "Invalid value for the parameter FifoThroughputLimit. Reason: To enable high \
                 throughput for FIFO queues, set DeduplicationScope to messageGroup.",
            ));
        }
        Ok(())
    }

    fn apply_one(&mut self, name: &str, value: &str, creating: bool) -> SqsResult<()> {
        match name {
            "DelaySeconds" => self.delay_seconds = int(name, value, 0, 900)?,
            "MaximumMessageSize" => self.maximum_message_size = int(name, value, 1024, 1_048_576)?,
            "MessageRetentionPeriod" => {
                self.message_retention_period = int(name, value, 60, 1_209_600)?
            }
            "ReceiveMessageWaitTimeSeconds" => {
                self.receive_message_wait_time_seconds = int(name, value, 0, 20)?
            }
            "VisibilityTimeout" => self.visibility_timeout = int(name, value, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => {
                self.kms_data_key_reuse_period_seconds = int(name, value, 60, 86_400)?
            }
            "KmsMasterKeyId" => {
                self.kms_master_key_id = Some(value.to_owned()).filter(|v| !v.is_empty())
            }
            "SqsManagedSseEnabled" => self.sqs_managed_sse_enabled = boolean(name, value)?,
            "Policy" => {
                if value.is_empty() {
                    self.policy = None;
                } else {
                    let parsed: serde_json::Value = serde_json::from_str(value).map_err(|_| {
                        invalid_attribute(name, "Invalid value for the parameter Policy.")
                    })?;
                    if !parsed.is_object() {
                        return Err(invalid_attribute(
                            name,
                            "Invalid value for the parameter Policy.",
                        ));
                    }
                    self.policy = Some(value.to_owned());
                }
            }
            "RedrivePolicy" => self.redrive_policy = parse_redrive_policy(value)?,
            "RedriveAllowPolicy" => {
                self.redrive_allow_policy = if value.is_empty() {
                    None
                } else {
                    Some((value.to_owned(), parse_redrive_allow(value)?))
                }
            }
            "FifoQueue" => {
                let fifo = boolean(name, value)?;
                if !creating && fifo != self.fifo_queue {
                    return Err(SqsError::new(
                        ErrorKind::InvalidAttributeName,
                        "Unknown Attribute FifoQueue.",
                    ));
                }
                self.fifo_queue = fifo;
            }
            "ContentBasedDeduplication" => self.content_based_deduplication = boolean(name, value)?,
            "DeduplicationScope" => {
                if value != "queue" && value != "messageGroup" {
                    return Err(invalid_attribute(
                        name,
                        "Invalid value for the parameter DeduplicationScope.",
                    ));
                }
                self.deduplication_scope = value.to_owned();
            }
            "FifoThroughputLimit" => {
                if value != "perQueue" && value != "perMessageGroupId" {
                    return Err(invalid_attribute(
                        name,
                        "Invalid value for the parameter FifoThroughputLimit.",
                    ));
                }
                self.fifo_throughput_limit = value.to_owned();
            }
            other => {
                return Err(SqsError::new(
                    ErrorKind::InvalidAttributeName,
                    format!("Unknown Attribute {other}."),
                ));
            }
        }
        Ok(())
    }

    /// The settable attributes as GetQueueAttributes shows them.
    pub fn render(&self, out: &mut Attributes) {
        out.insert("DelaySeconds".into(), self.delay_seconds.to_string());
        out.insert(
            "MaximumMessageSize".into(),
            self.maximum_message_size.to_string(),
        );
        out.insert(
            "MessageRetentionPeriod".into(),
            self.message_retention_period.to_string(),
        );
        out.insert(
            "ReceiveMessageWaitTimeSeconds".into(),
            self.receive_message_wait_time_seconds.to_string(),
        );
        out.insert(
            "VisibilityTimeout".into(),
            self.visibility_timeout.to_string(),
        );
        if let Some(policy) = &self.policy {
            out.insert("Policy".into(), policy.clone());
        }
        if let Some(redrive) = &self.redrive_policy {
            out.insert(
                "RedrivePolicy".into(),
                serde_json::json!({
                    "deadLetterTargetArn": redrive.dead_letter_target_arn,
                    "maxReceiveCount": redrive.max_receive_count,
                })
                .to_string(),
            );
        }
        if let Some((raw, _)) = &self.redrive_allow_policy {
            out.insert("RedriveAllowPolicy".into(), raw.clone());
        }
        if let Some(key) = &self.kms_master_key_id {
            out.insert("KmsMasterKeyId".into(), key.clone());
            out.insert(
                "KmsDataKeyReusePeriodSeconds".into(),
                self.kms_data_key_reuse_period_seconds.to_string(),
            );
        }
        out.insert(
            "SqsManagedSseEnabled".into(),
            self.sqs_managed_sse_enabled.to_string(),
        );
        if self.fifo_queue {
            out.insert("FifoQueue".into(), "true".into());
            out.insert(
                "ContentBasedDeduplication".into(),
                self.content_based_deduplication.to_string(),
            );
            out.insert(
                "DeduplicationScope".into(),
                self.deduplication_scope.clone(),
            );
            out.insert(
                "FifoThroughputLimit".into(),
                self.fifo_throughput_limit.clone(),
            );
        }
    }
}

fn invalid_attribute(name: &str, message: &str) -> SqsError {
    let _ = name;
    SqsError::new(ErrorKind::InvalidAttributeValue, message)
}

fn int(name: &str, value: &str, min: u32, max: u32) -> SqsResult<u32> {
    match value.trim().parse::<i64>() {
        Ok(v) if v >= i64::from(min) && v <= i64::from(max) => Ok(v as u32),
        _ => Err(invalid_attribute(
            name,
            &format!("Invalid value for the parameter {name}."),
        )),
    }
}

fn boolean(name: &str, value: &str) -> SqsResult<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_attribute(
            name,
            &format!("Invalid value for the parameter {name}."),
        )),
    }
}

fn redrive_error(reason: &str) -> SqsError {
    SqsError::new(
        ErrorKind::InvalidAttributeValue,
        format!("Value for parameter RedrivePolicy is invalid. Reason: {reason}"),
    )
}

fn parse_redrive_policy(value: &str) -> SqsResult<Option<RedrivePolicy>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let parsed: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| redrive_error("Redrive policy is not a valid JSON map."))?;
    let object = parsed
        .as_object()
        .ok_or_else(|| redrive_error("Redrive policy is not a valid JSON map."))?;
    let arn = object
        .get("deadLetterTargetArn")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            redrive_error(
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            )
        })?;
    let count = match object.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        None => {
            return Err(redrive_error(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
        _ => None,
    };
    let count = match count {
        Some(c) if (1..=1000).contains(&c) => c as u32,
        _ => {
            return Err(redrive_error(
                "Invalid value for maxReceiveCount: must be an integer from 1 to 1000.",
            ));
        }
    };
    for key in object.keys() {
        if key != "deadLetterTargetArn" && key != "maxReceiveCount" {
            return Err(redrive_error(&format!(
                "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount], found {key}."
            )));
        }
    }
    Ok(Some(RedrivePolicy {
        dead_letter_target_arn: arn.to_owned(),
        max_receive_count: count,
    }))
}

fn parse_redrive_allow(value: &str) -> SqsResult<RedriveAllow> {
    let error = |reason: &str| {
        SqsError::new(
            ErrorKind::InvalidAttributeValue,
            format!("Value for parameter RedriveAllowPolicy is invalid. Reason: {reason}"),
        )
    };
    let parsed: serde_json::Value =
        serde_json::from_str(value).map_err(|_| error("Invalid JSON."))?;
    let permission = parsed
        .get("redrivePermission")
        .and_then(|v| v.as_str())
        .ok_or_else(|| error("Missing redrivePermission."))?;
    let sources = parsed.get("sourceQueueArns");
    match permission {
        "allowAll" | "denyAll" if sources.is_some() => Err(error(
            "Only specify sourceQueueArns with redrivePermission set to byQueue.",
        )),
        "allowAll" => Ok(RedriveAllow::AllowAll),
        "denyAll" => Ok(RedriveAllow::DenyAll),
        "byQueue" => {
            let arns: Vec<String> = sources
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if arns.is_empty() || arns.len() > 10 {
                return Err(error(
                    "You must specify 1 to 10 sourceQueueArns with redrivePermission set to byQueue.",
                ));
            }
            Ok(RedriveAllow::ByQueue(arns))
        }
        _ => Err(error("Invalid value for redrivePermission.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attributes {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn limits_are_enforced_with_aws_codes() {
        let mut s = QueueSettings::defaults(false);
        s.apply(&attrs(&[("VisibilityTimeout", "60")]), true)
            .unwrap();
        assert_eq!(s.visibility_timeout, 60);
        for (name, bad) in [
            ("VisibilityTimeout", "43201"),
            ("DelaySeconds", "901"),
            ("MaximumMessageSize", "1023"),
            ("MessageRetentionPeriod", "59"),
            ("ReceiveMessageWaitTimeSeconds", "21"),
            ("DelaySeconds", "x"),
        ] {
            let err = s.apply(&attrs(&[(name, bad)]), true).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidAttributeValue, "{name}={bad}");
        }
        let err = s.apply(&attrs(&[("Nope", "1")]), true).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAttributeName);
        let err = s
            .apply(&attrs(&[("ContentBasedDeduplication", "true")]), true)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAttributeName);
    }

    #[test]
    fn redrive_policies_parse_and_render() {
        let mut s = QueueSettings::defaults(false);
        s.apply(
            &attrs(&[(
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}"#,
            )]),
            false,
        )
        .unwrap();
        assert_eq!(s.redrive_policy.as_ref().unwrap().max_receive_count, 3);
        let mut out = Attributes::new();
        s.render(&mut out);
        assert!(out["RedrivePolicy"].contains("\"maxReceiveCount\":3"));
        for bad in [
            r#"{"maxReceiveCount":3}"#,
            r#"{"deadLetterTargetArn":"a","maxReceiveCount":0}"#,
            "nope",
        ] {
            assert!(
                s.apply(&attrs(&[("RedrivePolicy", bad)]), false).is_err(),
                "{bad}"
            );
        }
        assert!(
            s.apply(
                &attrs(&[("RedriveAllowPolicy", r#"{"redrivePermission":"byQueue"}"#)]),
                false
            )
            .is_err()
        );
    }
}
