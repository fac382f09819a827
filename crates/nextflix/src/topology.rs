//! The tutorial's messaging topology, and applying it through the AWS SDK (to
//! the embedded endpoint or to real AWS, the same calls): the `netflix-events`
//! queue, the `netflix-events-topic` topic, one queue per service with its
//! dead-letter queue and RedrivePolicy, each queue's policy letting the topic
//! send, the subscriptions, and the S3 bucket for the events.
//!
//! Applying is idempotent: every resource is created if missing, and an
//! attribute is set only when it differs, so running it again changes nothing.
//! A TOML file can change names and attributes ([`Topology::load`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

/// One queue: its name and the attributes it must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSpec {
    pub name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A consumer's queue, its dead-letter queue, and the receives before a message
/// moves there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// search, recommendation, streaming or user.
    pub service: String,
    pub queue: QueueSpec,
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

/// The topic and its attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Everything `nextflix up` makes sure exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// Where every event is also stored as `<sessionId>/<activityId>.json`.
    pub bucket: String,
    /// The tutorial's first queue, for its consumer script (subscribed too).
    pub events_queue: QueueSpec,
    pub topic: TopicSpec,
    pub services: Vec<ServiceSpec>,
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The HTTP/S delivery retry policy the tutorial asks the topic to have.
const DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":20,"numRetries":5,"numMaxDelayRetries":0,"numNoDelayRetries":1,"numMinDelayRetries":1,"backoffFunction":"exponential"},"disableSubscriptionOverrides":false}}"#;

impl Default for Topology {
    fn default() -> Self {
        let service = |name: &str| ServiceSpec {
            service: name.to_owned(),
            queue: QueueSpec {
                name: name.to_owned(),
                attributes: attrs(&[
                    ("VisibilityTimeout", "30"),
                    ("MessageRetentionPeriod", "345600"),
                ]),
            },
            dead_letter_queue: format!("{name}-dlq"),
            max_receive_count: 5,
        };
        Topology {
            bucket: "nextflix-events".to_owned(),
            events_queue: QueueSpec {
                name: "netflix-events".to_owned(),
                attributes: attrs(&[
                    ("VisibilityTimeout", "60"),
                    ("MessageRetentionPeriod", "86400"),
                    ("DelaySeconds", "0"),
                    ("MaximumMessageSize", "262144"),
                ]),
            },
            topic: TopicSpec {
                name: "netflix-events-topic".to_owned(),
                attributes: attrs(&[
                    ("DisplayName", "Nextflix events"),
                    ("DeliveryPolicy", DELIVERY_POLICY),
                ]),
            },
            services: ["search", "recommendation", "streaming", "user"]
                .into_iter()
                .map(service)
                .collect(),
        }
    }
}

impl Topology {
    /// Reads a TOML file; what it leaves out keeps the defaults.
    pub fn load(path: &Path) -> anyhow::Result<Topology> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let topology: Topology = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid topology file", path.display()))?;
        anyhow::ensure!(
            !topology.services.is_empty(),
            "the topology has no services"
        );
        Ok(topology)
    }
}

/// What applying made: the addresses the parts are configured with.
#[derive(Debug, Clone)]
pub struct Applied {
    pub topic_arn: String,
    pub bucket: String,
    pub events_queue_url: String,
    /// service name → queue URL.
    pub service_queues: BTreeMap<String, String>,
    /// How many create or set calls changed something (0 on a second run).
    pub changes: usize,
}

struct Clients {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    s3: aws_sdk_s3::Client,
}

/// Makes sure the topology exists; changes only what differs.
pub async fn apply(topology: &Topology, sdk: &SdkConfig) -> anyhow::Result<Applied> {
    let s3_conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    let clients = Clients {
        sqs: aws_sdk_sqs::Client::new(sdk),
        sns: aws_sdk_sns::Client::new(sdk),
        s3: aws_sdk_s3::Client::from_conf(s3_conf),
    };
    let mut changes = 0;
    changes += ensure_bucket(&clients, &topology.bucket, sdk).await?;

    let topic_arn = clients
        .sns
        .create_topic()
        .name(&topology.topic.name)
        .send()
        .await
        .map_err(|e| anyhow!("CreateTopic {}: {}", topology.topic.name, aws_error(&e)))?
        .topic_arn
        .ok_or_else(|| anyhow!("CreateTopic returned no TopicArn"))?;
    let current = clients
        .sns
        .get_topic_attributes()
        .topic_arn(&topic_arn)
        .send()
        .await
        .map_err(|e| anyhow!("GetTopicAttributes: {}", aws_error(&e)))?
        .attributes
        .unwrap_or_default();
    for (name, value) in &topology.topic.attributes {
        if !same_value(current.get(name).map(String::as_str), value) {
            clients
                .sns
                .set_topic_attributes()
                .topic_arn(&topic_arn)
                .attribute_name(name)
                .attribute_value(value)
                .send()
                .await
                .map_err(|e| anyhow!("SetTopicAttributes {name}: {}", aws_error(&e)))?;
            changes += 1;
        }
    }

    let (events_queue_url, n) =
        ensure_queue(&clients, &topology.events_queue, None, &topic_arn).await?;
    changes += n;
    let mut service_queues = BTreeMap::new();
    for service in &topology.services {
        let dlq = QueueSpec {
            name: service.dead_letter_queue.clone(),
            attributes: attrs(&[("MessageRetentionPeriod", "1209600")]),
        };
        let (dlq_url, n) = ensure_queue(&clients, &dlq, None, "").await?;
        changes += n;
        let dlq_arn = queue_arn(&clients, &dlq_url).await?;
        let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": service.max_receive_count}).to_string();
        let (url, n) = ensure_queue(&clients, &service.queue, Some(&redrive), &topic_arn).await?;
        changes += n;
        service_queues.insert(service.service.clone(), url);
    }

    // Subscriptions (Subscribe is idempotent for the same endpoint).
    let existing = list_subscription_endpoints(&clients, &topic_arn).await?;
    let mut urls: Vec<&String> = vec![&events_queue_url];
    urls.extend(service_queues.values());
    for url in urls {
        let arn = queue_arn(&clients, url).await?;
        if existing.contains(&arn) {
            continue;
        }
        clients
            .sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&arn)
            .send()
            .await
            .map_err(|e| anyhow!("Subscribe {arn}: {}", aws_error(&e)))?;
        changes += 1;
    }
    Ok(Applied {
        topic_arn,
        bucket: topology.bucket.clone(),
        events_queue_url,
        service_queues,
        changes,
    })
}

fn aws_error<E: std::error::Error + 'static>(e: &aws_sdk_sqs::error::SdkError<E>) -> String {
    use std::error::Error as _;
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// Equal strings, or equal JSON documents.
fn same_value(current: Option<&str>, wanted: &str) -> bool {
    match current {
        None => false,
        Some(c) if c == wanted => true,
        Some(c) => match (
            serde_json::from_str::<serde_json::Value>(c),
            serde_json::from_str::<serde_json::Value>(wanted),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
    }
}

async fn ensure_bucket(clients: &Clients, bucket: &str, sdk: &SdkConfig) -> anyhow::Result<usize> {
    if clients.s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(0);
    }
    let mut create = clients.s3.create_bucket().bucket(bucket);
    if let Some(region) = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .filter(|r| r != "us-east-1")
    {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    region.as_str(),
                ))
                .build(),
        );
    }
    create
        .send()
        .await
        .map_err(|e| anyhow!("CreateBucket {bucket}: {}", aws_error(&e)))?;
    Ok(1)
}

async fn queue_arn(clients: &Clients, url: &str) -> anyhow::Result<String> {
    clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| anyhow!("GetQueueAttributes {url}: {}", aws_error(&e)))?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or_else(|| anyhow!("no QueueArn for {url}"))
}

/// Creates the queue if missing and sets what differs: its attributes, the
/// RedrivePolicy, and (when `topic_arn` is not empty) the policy letting the
/// topic send. Returns its URL and the number of changes.
async fn ensure_queue(
    clients: &Clients,
    spec: &QueueSpec,
    redrive: Option<&str>,
    topic_arn: &str,
) -> anyhow::Result<(String, usize)> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let url = match clients
        .sqs
        .get_queue_url()
        .queue_name(&spec.name)
        .send()
        .await
    {
        Ok(found) => found
            .queue_url
            .ok_or_else(|| anyhow!("GetQueueUrl returned no URL"))?,
        Err(_) => {
            let mut create = clients.sqs.create_queue().queue_name(&spec.name);
            for (k, v) in &spec.attributes {
                create = create.attributes(QueueAttributeName::from(k.as_str()), v);
            }
            let created = create
                .send()
                .await
                .map_err(|e| anyhow!("CreateQueue {}: {}", spec.name, aws_error(&e)))?;
            created
                .queue_url
                .ok_or_else(|| anyhow!("CreateQueue returned no URL"))?
        }
    };
    let current = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| anyhow!("GetQueueAttributes {}: {}", spec.name, aws_error(&e)))?
        .attributes
        .unwrap_or_default();
    let arn = current
        .get(&QueueAttributeName::QueueArn)
        .cloned()
        .unwrap_or_default();
    let mut wanted: BTreeMap<String, String> = spec.attributes.clone();
    if let Some(redrive) = redrive {
        wanted.insert("RedrivePolicy".into(), redrive.to_owned());
    }
    if !topic_arn.is_empty() {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "topic-may-send",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}
            }]
        });
        wanted.insert("Policy".into(), policy.to_string());
    }
    let mut set = clients.sqs.set_queue_attributes().queue_url(&url);
    let mut changes = 0;
    for (k, v) in &wanted {
        let name = QueueAttributeName::from(k.as_str());
        if !same_value(current.get(&name).map(String::as_str), v) {
            set = set.attributes(name, v);
            changes += 1;
        }
    }
    if changes > 0 {
        set.send()
            .await
            .map_err(|e| anyhow!("SetQueueAttributes {}: {}", spec.name, aws_error(&e)))?;
    }
    Ok((url, changes))
}

async fn list_subscription_endpoints(
    clients: &Clients,
    topic_arn: &str,
) -> anyhow::Result<Vec<String>> {
    let mut endpoints = Vec::new();
    let mut token = None;
    loop {
        let page = clients
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| anyhow!("ListSubscriptionsByTopic: {}", aws_error(&e)))?;
        endpoints.extend(
            page.subscriptions
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.endpoint),
        );
        token = page.next_token;
        if token.is_none() {
            return Ok(endpoints);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_the_defaults() {
        let text = toml::to_string(&Topology::default()).unwrap();
        let back: Topology = toml::from_str(&text).unwrap();
        assert_eq!(back, Topology::default());
        assert!(same_value(Some(r#"{"a": 1}"#), r#"{"a":1}"#));
        assert!(!same_value(None, "1"));
    }
}
