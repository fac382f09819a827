//! The SNS engine: topics and subscriptions (durable in their own store), and
//! Publish fanning a message out to every confirmed subscription whose filter
//! policy it passes: SQS queues through the [`Sqs`] engine (the queue's policy
//! decides), HTTP/S endpoints through an HTTP client with the DeliveryPolicy's
//! retries. Every delivery attempt is written to the [`DeliveryLog`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::sns::delivery_log::{DeliveryLog, Outcome};
use crate::sns::error::{SnsError, SnsResult};
use crate::sns::filter::{FilterPolicy, Scope};
use crate::sns::model::*;
use crate::sns::signing::{self, Signer};
use crate::sqs::Sqs;
use crate::sqs::engine::Delivery;
use crate::sqs::model::{MessageAttributeValue, MessageToSend};
use crate::store::{Loaded, Op, Store};

/// Who is asking: region and account of ARNs, and the base URL of links.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub base_url: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TopicRecord {
    name: String,
    arn: String,
    attributes: Attributes,
    tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SubscriptionRecord {
    arn: String,
    topic_arn: String,
    protocol: String,
    endpoint: String,
    attributes: Attributes,
    confirmed: bool,
    token: Option<String>,
    /// Where links in messages to this subscriber point.
    base_url: String,
}

struct Topic {
    id: u64,
    record: TopicRecord,
    deleted_subscriptions: u64,
}

struct Subscription {
    key: u64,
    topic_id: u64,
    record: SubscriptionRecord,
    filter: Option<(FilterPolicy, Scope)>,
}

#[derive(Default)]
struct State {
    topics: BTreeMap<String, Topic>,
    subscriptions: BTreeMap<String, Subscription>,
    /// FIFO topic deduplication: (topic, id) → (until, message id).
    dedup: HashMap<(String, String), (u64, String)>,
}

struct Inner {
    account_id: String,
    clock: Clock,
    store: Store,
    sqs: Sqs,
    http: reqwest::Client,
    state: RwLock<State>,
    next_id: AtomicU64,
    log: DeliveryLog,
    signer: Signer,
}

/// What deliveries need: the log they write to, the key they sign with, and the
/// HTTP client of `http`/`https` subscriptions.
pub struct Delivering {
    pub log: DeliveryLog,
    pub signer: Signer,
    pub http: reqwest::Client,
}

/// The HTTP client of `http` and `https` subscriptions: TLS through rustls, trusting
/// the system's roots plus the certificates (PEM) of `trust_store`, if given.
pub fn http_client(trust_store: Option<&std::path::Path>) -> std::io::Result<reqwest::Client> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = trust_store {
        let mut count = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| {
            std::io::Error::other(format!(
                "cannot read the trust store {}: {e}",
                path.display()
            ))
        })? {
            let cert = cert.map_err(|e| {
                std::io::Error::other(format!("{}: not a PEM certificate: {e}", path.display()))
            })?;
            roots.add(cert).map_err(|e| {
                std::io::Error::other(format!("{}: unusable certificate: {e}", path.display()))
            })?;
            count += 1;
        }
        if count == 0 {
            return Err(std::io::Error::other(format!(
                "the trust store {} holds no certificate",
                path.display()
            )));
        }
        tracing::info!(
            certificates = count,
            system = added,
            "SNS https trust store loaded"
        );
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| std::io::Error::other(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| std::io::Error::other(format!("HTTP client: {e}")))
}

/// The SNS service of an endpoint; cheap to clone.
#[derive(Clone)]
pub struct Sns {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sns").finish_non_exhaustive()
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

pub use crate::time::iso8601;

const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;
const MAX_MESSAGE_BYTES: usize = 262_144;

/// Store keys of pending HTTP/S deliveries have this bit set; subscriptions' do not.
const PENDING_KEY_BIT: u64 = 1 << 63;

/// An HTTP/S delivery not yet done, kept in the store (as JSON) so that a
/// restart resumes its retries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingHttp {
    id: u64,
    topic_id: u64,
    subscription_arn: String,
    outgoing: Outgoing,
    /// The attempt to make next (0 first) and when.
    attempt: usize,
    due_ms: u64,
}

impl PendingHttp {
    fn put(&self) -> Op {
        Op::PutItem {
            owner: self.topic_id,
            key: self.id | PENDING_KEY_BIT,
            record: serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    fn delete(&self) -> Op {
        Op::DeleteItem {
            owner: self.topic_id,
            key: self.id | PENDING_KEY_BIT,
        }
    }
}

/// The fields of one published message, after validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outgoing {
    message_id: String,
    topic_arn: String,
    subject: Option<String>,
    /// The text for each protocol (`default` when no key for it).
    texts: Option<BTreeMap<String, String>>,
    message: String,
    attributes: MessageAttributes,
    group_id: Option<String>,
    dedup_id: Option<String>,
    sequence_number: Option<String>,
    timestamp: String,
    /// The topic's `SignatureVersion` when the message was published.
    signature_version: signing::Version,
    /// Signatures made so far, by message text (subscribers of one protocol
    /// share a text, so the RSA work is done once per text).
    #[serde(skip)]
    signatures: Arc<tokio::sync::Mutex<BTreeMap<String, Option<String>>>>,
}

impl Outgoing {
    fn text_for(&self, protocol: &str) -> &str {
        match &self.texts {
            Some(texts) => texts
                .get(protocol)
                .or_else(|| texts.get("default"))
                .map_or(self.message.as_str(), String::as_str),
            None => &self.message,
        }
    }
}

/// AWS's JSON envelope, fields in AWS's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    topic_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    message: &'a str,
    timestamp: &'a str,
    #[serde(flatten)]
    signature: Option<SignatureFields>,
    #[serde(rename = "UnsubscribeURL")]
    unsubscribe_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<&'a str, EnvelopeAttribute<'a>>,
}

/// The signature fields of a message, in AWS's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SignatureFields {
    signature_version: &'static str,
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
}

impl SignatureFields {
    fn new(version: signing::Version, signature: Option<String>, base_url: &str) -> Option<Self> {
        Some(SignatureFields {
            signature_version: version.as_str(),
            signature: signature?,
            signing_cert_url: format!("{base_url}{}", signing::CERT_PATH),
        })
    }
}

/// A SubscriptionConfirmation, fields in AWS's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Confirmation<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    message_id: &'a str,
    token: &'a str,
    topic_arn: &'a str,
    message: &'a str,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: &'a str,
    timestamp: &'a str,
    #[serde(flatten)]
    signature: Option<SignatureFields>,
}

#[derive(Serialize)]
struct EnvelopeAttribute<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
}

impl Sns {
    pub fn new(
        account_id: String,
        clock: Clock,
        store: Store,
        loaded: Loaded,
        sqs: Sqs,
        delivery: Delivering,
    ) -> Sns {
        let Delivering { log, signer, http } = delivery;
        let mut state = State::default();
        let mut max_id = 0;
        let mut topic_arns: HashMap<u64, String> = HashMap::new();
        for (id, bytes) in loaded.resources {
            max_id = max_id.max(id);
            match postcard::from_bytes::<TopicRecord>(&bytes) {
                Ok(record) => {
                    topic_arns.insert(id, record.arn.clone());
                    state.topics.insert(
                        record.arn.clone(),
                        Topic {
                            id,
                            record,
                            deleted_subscriptions: 0,
                        },
                    );
                }
                Err(_) => tracing::error!(id, "skipping an unreadable topic record"),
            }
        }
        let mut pending = Vec::new();
        for (topic_id, key, bytes, _) in loaded.items {
            max_id = max_id.max(key & !PENDING_KEY_BIT);
            if key & PENDING_KEY_BIT != 0 {
                match serde_json::from_slice::<PendingHttp>(&bytes) {
                    Ok(p) if topic_arns.contains_key(&topic_id) => pending.push(p),
                    Ok(_) => {}
                    Err(_) => tracing::error!(key, "skipping an unreadable pending delivery"),
                }
                continue;
            }
            let Ok(record) = postcard::from_bytes::<SubscriptionRecord>(&bytes) else {
                tracing::error!(key, "skipping an unreadable subscription record");
                continue;
            };
            if !topic_arns.contains_key(&topic_id) {
                continue;
            }
            let filter = compile_filter(&record.attributes).ok().flatten();
            state.subscriptions.insert(
                record.arn.clone(),
                Subscription {
                    key,
                    topic_id,
                    record,
                    filter,
                },
            );
        }
        if !state.topics.is_empty() {
            tracing::info!(
                topics = state.topics.len(),
                subscriptions = state.subscriptions.len(),
                "restored SNS state"
            );
        }
        let sns = Sns {
            inner: Arc::new(Inner {
                account_id,
                clock,
                store,
                sqs,
                http,
                state: RwLock::new(state),
                next_id: AtomicU64::new(max_id + 1),
                log,
                signer,
            }),
        };
        if !pending.is_empty() {
            tracing::info!(deliveries = pending.len(), "resuming HTTP/S deliveries");
        }
        for delivery in pending {
            tokio::spawn(sns.clone().deliver_http(delivery));
        }
        sns
    }

    pub fn log(&self) -> &DeliveryLog {
        &self.inner.log
    }

    /// What signs messages, and serves its certificate.
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    /// Whether the topics' storage still takes writes.
    pub fn storage_healthy(&self) -> bool {
        self.inner.store.is_healthy()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(|e| e.into_inner())
    }

    async fn durable(pending: crate::store::Pending) -> SnsResult<()> {
        pending.durable().await.map_err(|e| {
            tracing::error!(%e, "an SNS change could not be made durable");
            SnsError::internal("The change could not be stored. Please try again.")
        })
    }

    fn topic_arn(req: Option<String>) -> SnsResult<String> {
        req.filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("TopicArn"))
    }

    // ---- Topics ----------------------------------------------------------------

    pub async fn create_topic(&self, ctx: &Ctx, req: CreateTopic) -> SnsResult<TopicArnResult> {
        let name = req
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SnsError::missing("Name"))?;
        let fifo = req
            .attributes
            .get("FifoTopic")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let base = name.strip_suffix(".fifo").unwrap_or(&name);
        let valid = !base.is_empty()
            && name.len() <= 256
            && base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && fifo == name.ends_with(".fifo");
        if !valid {
            return Err(SnsError::invalid("Topic Name"));
        }
        let arn = format!(
            "arn:aws:sns:{}:{}:{}",
            ctx.region, self.inner.account_id, name
        );
        let mut attributes = Attributes::new();
        for (k, v) in &req.attributes {
            check_topic_attribute(k, v, fifo)?;
            attributes.insert(k.clone(), v.clone());
        }
        check_tags(&req.tags)?;
        let pending = {
            let mut state = self.write();
            if let Some(existing) = state.topics.get(&arn) {
                for (k, v) in &attributes {
                    if existing.record.attributes.get(k) != Some(v) && k != "FifoTopic" {
                        return Err(SnsError::invalid(
                            "Attributes Reason: Topic already exists with different attributes",
                        ));
                    }
                }
                return Ok(TopicArnResult { topic_arn: arn });
            }
            let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
            let record = TopicRecord {
                name: name.clone(),
                arn: arn.clone(),
                attributes,
                tags: req.tags,
            };
            let pending = self.inner.store.submit(vec![Op::PutResource {
                id,
                record: encode(&record),
            }]);
            state.topics.insert(
                arn.clone(),
                Topic {
                    id,
                    record,
                    deleted_subscriptions: 0,
                },
            );
            pending
        };
        Self::durable(pending).await?;
        tracing::info!(topic = %arn, "topic created");
        Ok(TopicArnResult { topic_arn: arn })
    }

    pub async fn delete_topic(&self, req: TopicArnOnly) -> SnsResult<()> {
        let arn = Self::topic_arn(req.topic_arn)?;
        let pending = {
            let mut state = self.write();
            // Deleting a topic that does not exist succeeds, as in AWS.
            let Some(topic) = state.topics.remove(&arn) else {
                return Ok(());
            };
            state.subscriptions.retain(|_, s| s.topic_id != topic.id);
            self.inner
                .store
                .submit(vec![Op::DeleteResource { id: topic.id }])
        };
        Self::durable(pending).await?;
        tracing::info!(topic = %arn, "topic deleted");
        Ok(())
    }

    pub fn list_topics(&self, req: Paged) -> SnsResult<ListTopicsResult> {
        let state = self.read();
        let after = req.next_token.filter(|t| !t.is_empty());
        let mut topics: Vec<TopicArnResult> = state
            .topics
            .keys()
            .filter(|arn| after.as_ref().is_none_or(|a| arn.as_str() > a.as_str()))
            .take(101)
            .map(|arn| TopicArnResult {
                topic_arn: arn.clone(),
            })
            .collect();
        let next_token = (topics.len() > 100).then(|| {
            topics.truncate(100);
            topics
                .last()
                .map(|t| t.topic_arn.clone())
                .unwrap_or_default()
        });
        Ok(ListTopicsResult { topics, next_token })
    }

    pub fn get_topic_attributes(&self, req: TopicArnOnly) -> SnsResult<AttributesResult> {
        let arn = Self::topic_arn(req.topic_arn)?;
        let state = self.read();
        let topic = state
            .topics
            .get(&arn)
            .ok_or_else(SnsError::topic_not_found)?;
        let mut attributes = topic.record.attributes.clone();
        let (confirmed, pending) = state
            .subscriptions
            .values()
            .filter(|s| s.topic_id == topic.id)
            .fold((0, 0), |(c, p), s| {
                if s.record.confirmed {
                    (c + 1, p)
                } else {
                    (c, p + 1)
                }
            });
        attributes.insert("TopicArn".into(), arn.clone());
        attributes.insert("Owner".into(), self.inner.account_id.clone());
        attributes.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        attributes.insert("SubscriptionsPending".into(), pending.to_string());
        attributes.insert(
            "SubscriptionsDeleted".into(),
            topic.deleted_subscriptions.to_string(),
        );
        attributes.entry("DisplayName".into()).or_default();
        attributes
            .entry("Policy".into())
            .or_insert_with(|| default_topic_policy(&arn, &self.inner.account_id));
        let effective = attributes
            .get("DeliveryPolicy")
            .cloned()
            .unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_owned());
        attributes.insert("EffectiveDeliveryPolicy".into(), effective);
        if arn.ends_with(".fifo") {
            attributes.insert("FifoTopic".into(), "true".into());
            attributes
                .entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
        }
        Ok(AttributesResult { attributes })
    }

    pub async fn set_topic_attributes(&self, req: SetAttribute) -> SnsResult<()> {
        let arn = Self::topic_arn(req.topic_arn)?;
        let name = req
            .attribute_name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SnsError::missing("AttributeName"))?;
        let value = req.attribute_value.unwrap_or_default();
        if name == "FifoTopic" {
            return Err(SnsError::invalid("AttributeName"));
        }
        let pending = {
            let mut state = self.write();
            let topic = state
                .topics
                .get_mut(&arn)
                .ok_or_else(SnsError::topic_not_found)?;
            check_topic_attribute(&name, &value, arn.ends_with(".fifo"))?;
            if value.is_empty() {
                topic.record.attributes.remove(&name);
            } else {
                topic.record.attributes.insert(name, value);
            }
            self.inner.store.submit(vec![Op::PutResource {
                id: topic.id,
                record: encode(&topic.record),
            }])
        };
        Self::durable(pending).await
    }

    // ---- Subscriptions -------------------------------------------------------------

    pub async fn subscribe(&self, ctx: &Ctx, req: Subscribe) -> SnsResult<SubscriptionArnResult> {
        let topic_arn = Self::topic_arn(req.topic_arn)?;
        let protocol = req
            .protocol
            .filter(|p| !p.is_empty())
            .ok_or_else(|| SnsError::missing("Protocol"))?
            .to_ascii_lowercase();
        let endpoint = req.endpoint.unwrap_or_default();
        match protocol.as_str() {
            "sqs" => {
                let parts: Vec<&str> = endpoint.split(':').collect();
                if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" {
                    return Err(SnsError::invalid("SQS endpoint ARN"));
                }
            }
            "http" | "https" => {
                let prefix = format!("{protocol}://");
                if !endpoint.starts_with(&prefix) || reqwest::Url::parse(&endpoint).is_err() {
                    return Err(SnsError::invalid(format!(
                        "Endpoint Reason: {protocol} endpoint must start with {prefix}"
                    )));
                }
            }
            "email" | "email-json" | "sms" | "lambda" | "application" | "firehose" => {
                return Err(SnsError::invalid(format!(
                    "Protocol Reason: {protocol} is not supported by this endpoint"
                )));
            }
            _ => return Err(SnsError::invalid("Protocol Reason: Invalid protocol type")),
        }
        for (k, v) in &req.attributes {
            check_subscription_attribute(k, v, &req.attributes)?;
        }
        let filter = compile_filter(&req.attributes)?;
        let (result, pending, confirm) = {
            let mut state = self.write();
            let topic_id = state
                .topics
                .get(&topic_arn)
                .ok_or_else(SnsError::topic_not_found)?
                .id;
            if let Some(existing) = state.subscriptions.values().find(|s| {
                s.topic_id == topic_id
                    && s.record.protocol == protocol
                    && s.record.endpoint == endpoint
            }) {
                let differs = req
                    .attributes
                    .iter()
                    .any(|(k, v)| existing.record.attributes.get(k) != Some(v));
                if differs {
                    return Err(SnsError::invalid(
                        "Attributes Reason: Subscription already exists with different attributes",
                    ));
                }
                let arn = if existing.record.confirmed || req.return_subscription_arn {
                    existing.record.arn.clone()
                } else {
                    "pending confirmation".to_owned()
                };
                return Ok(SubscriptionArnResult {
                    subscription_arn: arn,
                });
            }
            let key = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
            let arn = format!("{topic_arn}:{}", uuid::Uuid::new_v4());
            let needs_confirmation = protocol != "sqs";
            let token = needs_confirmation.then(|| {
                let a = uuid::Uuid::new_v4().simple().to_string();
                let b = uuid::Uuid::new_v4().simple().to_string();
                format!("{a}{b}{a}")
            });
            let record = SubscriptionRecord {
                arn: arn.clone(),
                topic_arn: topic_arn.clone(),
                protocol: protocol.clone(),
                endpoint: endpoint.clone(),
                attributes: req.attributes.clone(),
                confirmed: !needs_confirmation,
                token,
                base_url: ctx.base_url.clone(),
            };
            let pending = self.inner.store.submit(vec![Op::PutItem {
                owner: topic_id,
                key,
                record: encode(&record),
            }]);
            let confirm = needs_confirmation.then(|| record.clone());
            state.subscriptions.insert(
                arn.clone(),
                Subscription {
                    key,
                    topic_id,
                    record,
                    filter,
                },
            );
            let shown = if needs_confirmation && !req.return_subscription_arn {
                "pending confirmation".to_owned()
            } else {
                arn
            };
            (shown, pending, confirm)
        };
        Self::durable(pending).await?;
        if let Some(record) = confirm {
            tokio::spawn(self.clone().send_confirmation(record));
        }
        Ok(SubscriptionArnResult {
            subscription_arn: result,
        })
    }

    async fn send_confirmation(self, record: SubscriptionRecord) {
        let token = record.token.clone().unwrap_or_default();
        let subscribe_url = format!(
            "{}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
            record.base_url,
            percent(&record.topic_arn),
            token
        );
        let message_id = uuid::Uuid::new_v4().to_string();
        let timestamp = iso8601(self.inner.clock.now_ms());
        let message = format!(
            "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
            record.topic_arn
        );
        let version = self.signature_version(&record.topic_arn);
        let kind = "SubscriptionConfirmation";
        let signature = self
            .inner
            .signer
            .sign(
                version,
                &[
                    ("Message", &message),
                    ("MessageId", &message_id),
                    ("SubscribeURL", &subscribe_url),
                    ("Timestamp", &timestamp),
                    ("Token", &token),
                    ("TopicArn", &record.topic_arn),
                    ("Type", kind),
                ],
            )
            .await;
        let body = serde_json::to_string_pretty(&Confirmation {
            kind,
            message_id: &message_id,
            token: &token,
            topic_arn: &record.topic_arn,
            message: &message,
            subscribe_url: &subscribe_url,
            timestamp: &timestamp,
            signature: SignatureFields::new(version, signature, &record.base_url),
        })
        .unwrap_or_default();
        let result = self
            .inner
            .http
            .post(&record.endpoint)
            .header("content-type", "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", "SubscriptionConfirmation")
            .header("x-amz-sns-message-id", &message_id)
            .header("x-amz-sns-topic-arn", &record.topic_arn)
            .body(body)
            .send()
            .await;
        let (outcome, detail) = match result {
            Ok(r) if r.status().is_success() => (
                Outcome::Delivered,
                "SubscriptionConfirmation sent".to_owned(),
            ),
            Ok(r) => (
                Outcome::Failed,
                format!("SubscriptionConfirmation got HTTP {}", r.status().as_u16()),
            ),
            Err(e) => (
                Outcome::Failed,
                format!("SubscriptionConfirmation failed: {e}"),
            ),
        };
        self.inner.log.record(
            &record.topic_arn,
            &record.arn,
            &record.endpoint,
            &message_id,
            outcome,
            detail,
        );
    }

    pub async fn confirm_subscription(
        &self,
        req: ConfirmSubscription,
    ) -> SnsResult<SubscriptionArnResult> {
        let topic_arn = Self::topic_arn(req.topic_arn)?;
        let token = req
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SnsError::missing("Token"))?;
        let (arn, pending) = {
            let mut state = self.write();
            if !state.topics.contains_key(&topic_arn) {
                return Err(SnsError::topic_not_found());
            }
            let sub = state
                .subscriptions
                .values_mut()
                .find(|s| {
                    s.record.topic_arn == topic_arn
                        && s.record.token.as_deref() == Some(token.as_str())
                })
                .ok_or_else(|| SnsError::invalid("Token"))?;
            sub.record.confirmed = true;
            let pending = self.inner.store.submit(vec![Op::PutItem {
                owner: sub.topic_id,
                key: sub.key,
                record: encode(&sub.record),
            }]);
            (sub.record.arn.clone(), pending)
        };
        Self::durable(pending).await?;
        Ok(SubscriptionArnResult {
            subscription_arn: arn,
        })
    }

    pub async fn unsubscribe(&self, req: SubscriptionArnOnly) -> SnsResult<()> {
        let arn = req
            .subscription_arn
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("SubscriptionArn"))?;
        let pending = {
            let mut state = self.write();
            let Some(sub) = state.subscriptions.remove(&arn) else {
                return Err(SnsError::not_found("Subscription does not exist"));
            };
            if let Some(topic) = state.topics.values_mut().find(|t| t.id == sub.topic_id) {
                topic.deleted_subscriptions += 1;
            }
            self.inner.store.submit(vec![Op::DeleteItem {
                owner: sub.topic_id,
                key: sub.key,
            }])
        };
        Self::durable(pending).await
    }

    fn summaries(&self, topic: Option<&str>, after: Option<String>) -> ListSubscriptionsResult {
        let state = self.read();
        let mut subscriptions: Vec<SubscriptionSummary> = state
            .subscriptions
            .values()
            .filter(|s| topic.is_none_or(|t| s.record.topic_arn == t))
            .filter(|s| {
                after
                    .as_ref()
                    .is_none_or(|a| s.record.arn.as_str() > a.as_str())
            })
            .take(101)
            .map(|s| SubscriptionSummary {
                subscription_arn: if s.record.confirmed {
                    s.record.arn.clone()
                } else {
                    "PendingConfirmation".into()
                },
                owner: self.inner.account_id.clone(),
                protocol: s.record.protocol.clone(),
                endpoint: s.record.endpoint.clone(),
                topic_arn: s.record.topic_arn.clone(),
            })
            .collect();
        let next_token = (subscriptions.len() > 100).then(|| {
            subscriptions.truncate(100);
            state
                .subscriptions
                .values()
                .filter(|s| topic.is_none_or(|t| s.record.topic_arn == t))
                .filter(|s| {
                    after
                        .as_ref()
                        .is_none_or(|a| s.record.arn.as_str() > a.as_str())
                })
                .nth(99)
                .map(|s| s.record.arn.clone())
                .unwrap_or_default()
        });
        ListSubscriptionsResult {
            subscriptions,
            next_token,
        }
    }

    pub fn list_subscriptions(&self, req: Paged) -> SnsResult<ListSubscriptionsResult> {
        Ok(self.summaries(None, req.next_token.filter(|t| !t.is_empty())))
    }

    pub fn list_subscriptions_by_topic(&self, req: Paged) -> SnsResult<ListSubscriptionsResult> {
        let arn = Self::topic_arn(req.topic_arn)?;
        if !self.read().topics.contains_key(&arn) {
            return Err(SnsError::topic_not_found());
        }
        Ok(self.summaries(Some(&arn), req.next_token.filter(|t| !t.is_empty())))
    }

    pub fn get_subscription_attributes(
        &self,
        req: SubscriptionArnOnly,
    ) -> SnsResult<AttributesResult> {
        let arn = req
            .subscription_arn
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("SubscriptionArn"))?;
        let state = self.read();
        let sub = state
            .subscriptions
            .get(&arn)
            .ok_or_else(|| SnsError::not_found("Subscription does not exist"))?;
        let r = &sub.record;
        let mut attributes = r.attributes.clone();
        attributes.insert("SubscriptionArn".into(), r.arn.clone());
        attributes.insert("TopicArn".into(), r.topic_arn.clone());
        attributes.insert("Owner".into(), self.inner.account_id.clone());
        attributes.insert("Protocol".into(), r.protocol.clone());
        attributes.insert("Endpoint".into(), r.endpoint.clone());
        attributes.insert("PendingConfirmation".into(), (!r.confirmed).to_string());
        attributes.insert(
            "ConfirmationWasAuthenticated".into(),
            r.confirmed.to_string(),
        );
        attributes
            .entry("RawMessageDelivery".into())
            .or_insert_with(|| "false".into());
        if attributes.contains_key("FilterPolicy") {
            attributes
                .entry("FilterPolicyScope".into())
                .or_insert_with(|| "MessageAttributes".into());
        }
        if r.protocol.starts_with("http") {
            let effective = attributes
                .get("DeliveryPolicy")
                .cloned()
                .unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_owned());
            attributes.insert("EffectiveDeliveryPolicy".into(), effective);
        }
        Ok(AttributesResult { attributes })
    }

    pub async fn set_subscription_attributes(&self, req: SetAttribute) -> SnsResult<()> {
        let arn = req
            .subscription_arn
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("SubscriptionArn"))?;
        let name = req
            .attribute_name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SnsError::missing("AttributeName"))?;
        let value = req.attribute_value.unwrap_or_default();
        let pending = {
            let mut state = self.write();
            let sub = state
                .subscriptions
                .get_mut(&arn)
                .ok_or_else(|| SnsError::not_found("Subscription does not exist"))?;
            let mut attributes = sub.record.attributes.clone();
            if value.is_empty() && name != "FilterPolicyScope" {
                attributes.remove(&name);
            } else {
                attributes.insert(name.clone(), value.clone());
            }
            check_subscription_attribute(&name, &value, &attributes)?;
            if name == "RawMessageDelivery"
                && !matches!(sub.record.protocol.as_str(), "sqs" | "http" | "https")
            {
                return Err(SnsError::invalid("AttributeName"));
            }
            sub.filter = compile_filter(&attributes)?;
            sub.record.attributes = attributes;
            self.inner.store.submit(vec![Op::PutItem {
                owner: sub.topic_id,
                key: sub.key,
                record: encode(&sub.record),
            }])
        };
        Self::durable(pending).await
    }

    // ---- Tags ------------------------------------------------------------------

    async fn change_tags(
        &self,
        arn: Option<String>,
        change: impl FnOnce(&mut Vec<Tag>) -> SnsResult<()>,
    ) -> SnsResult<()> {
        let arn = arn
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("ResourceArn"))?;
        let pending = {
            let mut state = self.write();
            let topic = state
                .topics
                .get_mut(&arn)
                .ok_or_else(|| SnsError::new("ResourceNotFound", 404, "Resource does not exist"))?;
            let mut tags = topic.record.tags.clone();
            change(&mut tags)?;
            topic.record.tags = tags;
            self.inner.store.submit(vec![Op::PutResource {
                id: topic.id,
                record: encode(&topic.record),
            }])
        };
        Self::durable(pending).await
    }

    pub async fn tag_resource(&self, req: TagResource) -> SnsResult<()> {
        check_tags(&req.tags)?;
        let new = req.tags;
        self.change_tags(req.resource_arn, move |tags| {
            for tag in new {
                match tags.iter_mut().find(|t| t.key == tag.key) {
                    Some(existing) => existing.value = tag.value,
                    None => tags.push(tag),
                }
            }
            if tags.len() > 50 {
                return Err(SnsError::new(
                    "TagLimitExceeded",
                    400,
                    "Could not complete request: tag quota of per resource exceeded",
                ));
            }
            Ok(())
        })
        .await
    }

    pub async fn untag_resource(&self, req: UntagResource) -> SnsResult<()> {
        let keys = req.tag_keys;
        self.change_tags(req.resource_arn, move |tags| {
            tags.retain(|t| !keys.contains(&t.key));
            Ok(())
        })
        .await
    }

    pub fn list_tags_for_resource(&self, req: ResourceArnOnly) -> SnsResult<TagsResult> {
        let arn = req
            .resource_arn
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("ResourceArn"))?;
        let state = self.read();
        let topic = state
            .topics
            .get(&arn)
            .ok_or_else(|| SnsError::new("ResourceNotFound", 404, "Resource does not exist"))?;
        Ok(TagsResult {
            tags: topic.record.tags.clone(),
        })
    }

    // ---- Publishing ----------------------------------------------------------------

    /// Validates one message for a topic; builds what will be delivered.
    fn prepare(
        &self,
        topic_arn: &str,
        entry: PublishEntry,
        fifo: bool,
        content_dedup: bool,
    ) -> SnsResult<Outgoing> {
        let message = entry
            .message
            .filter(|m| !m.is_empty())
            .ok_or_else(|| SnsError::missing("Message"))?;
        let mut size = message.len();
        if let Some(subject) = &entry.subject {
            let ok = !subject.is_empty()
                && subject.len() <= 100
                && subject
                    .chars()
                    .all(|c| c.is_ascii() && !c.is_ascii_control());
            if !ok {
                return Err(SnsError::invalid("Subject"));
            }
        }
        if entry.message_attributes.len() > 10 {
            return Err(SnsError::invalid(
                "MessageAttributes Reason: Number of message attributes exceeds 10",
            ));
        }
        for (name, value) in &entry.message_attributes {
            size += name.len() + value.data_type.len();
            size += check_message_attribute(name, value)?;
        }
        if size > MAX_MESSAGE_BYTES {
            return Err(SnsError::invalid("Message too long"));
        }
        let texts = match entry.message_structure.as_deref() {
            None | Some("") => None,
            Some("json") => {
                let parsed: serde_json::Value = serde_json::from_str(&message).map_err(|_| {
                    SnsError::invalid("Message Structure - JSON message body failed to parse")
                })?;
                let object = parsed.as_object().ok_or_else(|| {
                    SnsError::invalid("Message Structure - JSON message body failed to parse")
                })?;
                if !object.get("default").is_some_and(|d| d.is_string()) {
                    return Err(SnsError::invalid(
                        "Message Structure - No default entry in JSON message body",
                    ));
                }
                let mut texts = BTreeMap::new();
                for (k, v) in object {
                    let text = v.as_str().ok_or_else(|| {
                        SnsError::invalid("Message Structure - JSON message body failed to parse")
                    })?;
                    texts.insert(k.clone(), text.to_owned());
                }
                Some(texts)
            }
            Some(_) => return Err(SnsError::invalid("MessageStructure")),
        };
        if fifo {
            if entry.message_group_id.as_deref().is_none_or(str::is_empty) {
                return Err(SnsError::invalid(
                    "The MessageGroupId parameter is required for FIFO topics",
                ));
            }
            if entry.message_deduplication_id.is_none() && !content_dedup {
                return Err(SnsError::invalid(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        } else if entry.message_deduplication_id.is_some() {
            return Err(SnsError::invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        let dedup_id = if fifo {
            entry.message_deduplication_id.clone().or_else(|| {
                use sha2::Digest as _;
                Some(hex::encode(sha2::Sha256::digest(message.as_bytes())))
            })
        } else {
            None
        };
        Ok(Outgoing {
            message_id: uuid::Uuid::new_v4().to_string(),
            topic_arn: topic_arn.to_owned(),
            subject: entry.subject,
            texts,
            message,
            attributes: entry.message_attributes,
            group_id: entry.message_group_id,
            dedup_id,
            sequence_number: None,
            timestamp: iso8601(self.inner.clock.now_ms()),
            signature_version: signing::Version::default(),
            signatures: Default::default(),
        })
    }

    fn topic_flags(&self, arn: &str) -> SnsResult<(bool, bool)> {
        let state = self.read();
        let topic = state
            .topics
            .get(arn)
            .ok_or_else(SnsError::topic_not_found)?;
        let content = topic
            .record
            .attributes
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true");
        Ok((arn.ends_with(".fifo"), content))
    }

    pub async fn publish(&self, req: Publish) -> SnsResult<PublishResult> {
        if req.phone_number.is_some() {
            return Err(SnsError::invalid(
                "PhoneNumber Reason: SMS is not supported by this endpoint",
            ));
        }
        let arn = req
            .topic_arn
            .or(req.target_arn)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SnsError::missing("TopicArn or TargetArn"))?;
        let (fifo, content) = self.topic_flags(&arn)?;
        let outgoing = self.prepare(&arn, req.entry, fifo, content)?;
        let (message_id, sequence_number) = self.fan_out(outgoing).await?;
        Ok(PublishResult {
            id: None,
            message_id,
            sequence_number,
        })
    }

    pub async fn publish_batch(&self, req: PublishBatch) -> SnsResult<PublishBatchResult> {
        let arn = Self::topic_arn(req.topic_arn)?;
        let entries = req.publish_batch_request_entries.unwrap_or_default();
        if entries.is_empty() {
            return Err(SnsError::new(
                "EmptyBatchRequest",
                400,
                "The batch request doesn't contain any entries.",
            ));
        }
        if entries.len() > 10 {
            return Err(SnsError::new(
                "TooManyEntriesInBatchRequest",
                400,
                "The batch request contains more entries than permissible.",
            ));
        }
        let mut ids: Vec<&str> = Vec::new();
        for entry in &entries {
            let id = entry.id.as_deref().unwrap_or_default();
            let valid = !id.is_empty()
                && id.len() <= 80
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(SnsError::new(
                    "InvalidBatchEntryId",
                    400,
                    "The Id of a batch entry in a batch request doesn't abide by the specification.",
                ));
            }
            if ids.contains(&id) {
                return Err(SnsError::new(
                    "BatchEntryIdsNotDistinct",
                    400,
                    "Two or more batch entries in the request have the same Id.",
                ));
            }
            ids.push(id);
        }
        let total: usize = entries
            .iter()
            .map(|e| e.message.as_deref().map_or(0, str::len))
            .sum();
        if total > MAX_MESSAGE_BYTES {
            return Err(SnsError::new(
                "BatchRequestTooLong",
                400,
                "The length of all the messages put together is more than the limit.",
            ));
        }
        let (fifo, content) = self.topic_flags(&arn)?;
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        let mut work = Vec::new();
        for entry in entries {
            let id = entry.id.clone().unwrap_or_default();
            match self.prepare(&arn, entry, fifo, content) {
                Ok(outgoing) => work.push((id, outgoing)),
                Err(e) => failed.push(BatchErrorEntry {
                    id,
                    code: e.code.to_owned(),
                    sender_fault: e.sender_fault(),
                    message: e.message,
                }),
            }
        }
        let results = futures_join(work.into_iter().map(|(id, outgoing)| {
            let sns = self.clone();
            async move { (id, sns.fan_out(outgoing).await) }
        }))
        .await;
        for (id, result) in results {
            match result {
                Ok((message_id, sequence_number)) => successful.push(PublishResult {
                    id: Some(id),
                    message_id,
                    sequence_number,
                }),
                Err(e) => failed.push(BatchErrorEntry {
                    id,
                    code: e.code.to_owned(),
                    sender_fault: e.sender_fault(),
                    message: e.message,
                }),
            }
        }
        Ok(PublishBatchResult { successful, failed })
    }

    /// Delivers to every subscription; returns once every SQS delivery is durable
    /// (HTTP deliveries go on in the background).
    async fn fan_out(&self, mut outgoing: Outgoing) -> SnsResult<(String, Option<String>)> {
        let now = self.inner.clock.now_ms();
        let targets: Vec<(SubscriptionRecord, Option<(FilterPolicy, Scope)>)> = {
            let mut state = self.write();
            let dedup_key = outgoing
                .dedup_id
                .clone()
                .map(|dedup| (outgoing.topic_arn.clone(), dedup));
            if let Some(key) = &dedup_key {
                state.dedup.retain(|_, (until, _)| *until > now);
                if let Some((_, id)) = state.dedup.get(key) {
                    return Ok((id.clone(), None));
                }
            }
            let topic = state
                .topics
                .get(&outgoing.topic_arn)
                .ok_or_else(SnsError::topic_not_found)?;
            let topic_id = topic.id;
            outgoing.signature_version = signing::Version::from_attribute(
                topic
                    .record
                    .attributes
                    .get("SignatureVersion")
                    .map(String::as_str),
            );
            // Recorded only once the publish goes ahead: a refused one is
            // not a duplicate to its retry (a failed one takes it back below).
            if let Some(key) = dedup_key {
                state
                    .dedup
                    .insert(key, (now + DEDUP_WINDOW_MS, outgoing.message_id.clone()));
                outgoing.sequence_number = Some(format!(
                    "{:020}",
                    10_000_000_000_000_000_000u64
                        + self.inner.next_id.fetch_add(1, Ordering::Relaxed)
                ));
            }
            state
                .subscriptions
                .values()
                .filter(|s| s.topic_id == topic_id && s.record.confirmed)
                .map(|s| (s.record.clone(), s.filter.clone()))
                .collect()
        };
        let outgoing = Arc::new(outgoing);
        let mut sqs_deliveries = Vec::new();
        let mut http_deliveries = Vec::new();
        for (sub, filter) in targets {
            if let Some((policy, scope)) = &filter {
                let body = outgoing.text_for(&sub.protocol);
                if let Err(key) = policy.matches(&outgoing.attributes, body, *scope) {
                    self.inner.log.record(
                        &sub.topic_arn,
                        &sub.arn,
                        &sub.endpoint,
                        &outgoing.message_id,
                        Outcome::FilteredOut,
                        format!("filter policy key {key} did not match"),
                    );
                    continue;
                }
            }
            if sub.protocol == "sqs" {
                let sns = self.clone();
                let outgoing = outgoing.clone();
                sqs_deliveries.push(async move { sns.deliver_sqs(&sub, &outgoing).await });
            } else {
                let topic_id = self.read().topics.get(&sub.topic_arn).map(|t| t.id);
                if let Some(topic_id) = topic_id {
                    http_deliveries.push(PendingHttp {
                        id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
                        topic_id,
                        subscription_arn: sub.arn.clone(),
                        outgoing: (*outgoing).clone(),
                        attempt: 0,
                        due_ms: now,
                    });
                }
            }
        }
        // HTTP/S deliveries are durably scheduled before the publish answers
        // (awaited at once: a pending write may hold the store's turn).
        let scheduled = self
            .inner
            .store
            .submit(http_deliveries.iter().map(PendingHttp::put).collect());
        if let Err(err) = Self::durable(scheduled).await {
            // Nothing was delivered: a retry with the same deduplication id
            // must not be taken for a duplicate.
            if let Some(dedup) = &outgoing.dedup_id {
                let key = (outgoing.topic_arn.clone(), dedup.clone());
                let mut state = self.write();
                if state
                    .dedup
                    .get(&key)
                    .is_some_and(|(_, id)| *id == outgoing.message_id)
                {
                    state.dedup.remove(&key);
                }
            }
            return Err(err);
        }
        futures_join(sqs_deliveries).await;
        for delivery in http_deliveries {
            tokio::spawn(self.clone().deliver_http(delivery));
        }
        Ok((
            outgoing.message_id.clone(),
            outgoing.sequence_number.clone(),
        ))
    }

    fn raw(sub: &SubscriptionRecord) -> bool {
        sub.attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A topic's `SignatureVersion` now (1 when the topic is gone).
    fn signature_version(&self, topic_arn: &str) -> signing::Version {
        signing::Version::from_attribute(
            self.read()
                .topics
                .get(topic_arn)
                .and_then(|t| t.record.attributes.get("SignatureVersion"))
                .map(String::as_str),
        )
    }

    /// The signature of a Notification with this text, made once per text.
    async fn notification_signature(&self, outgoing: &Outgoing, message: &str) -> Option<String> {
        let mut made = outgoing.signatures.lock().await;
        if let Some(signature) = made.get(message) {
            return signature.clone();
        }
        let mut fields = vec![("Message", message), ("MessageId", &outgoing.message_id)];
        if let Some(subject) = &outgoing.subject {
            fields.push(("Subject", subject));
        }
        fields.extend([
            ("Timestamp", outgoing.timestamp.as_str()),
            ("TopicArn", &outgoing.topic_arn),
            ("Type", "Notification"),
        ]);
        let signature = self
            .inner
            .signer
            .sign(outgoing.signature_version, &fields)
            .await;
        made.insert(message.to_owned(), signature.clone());
        signature
    }

    async fn envelope(&self, sub: &SubscriptionRecord, outgoing: &Outgoing) -> String {
        let message = outgoing.text_for(&sub.protocol);
        let signature = self.notification_signature(outgoing, message).await;
        let envelope = Envelope {
            kind: "Notification",
            message_id: &outgoing.message_id,
            sequence_number: outgoing.sequence_number.as_deref(),
            topic_arn: &outgoing.topic_arn,
            subject: outgoing.subject.as_deref(),
            message,
            timestamp: &outgoing.timestamp,
            signature: SignatureFields::new(outgoing.signature_version, signature, &sub.base_url),
            unsubscribe_url: format!(
                "{}/?Action=Unsubscribe&SubscriptionArn={}",
                sub.base_url,
                percent(&sub.arn)
            ),
            message_attributes: outgoing
                .attributes
                .iter()
                .map(|(k, v)| {
                    let value = v
                        .string_value
                        .as_deref()
                        .or(v.binary_value.as_deref())
                        .unwrap_or("");
                    (
                        k.as_str(),
                        EnvelopeAttribute {
                            kind: &v.data_type,
                            value,
                        },
                    )
                })
                .collect(),
        };
        serde_json::to_string_pretty(&envelope).unwrap_or_default()
    }

    async fn deliver_sqs(&self, sub: &SubscriptionRecord, outgoing: &Outgoing) -> Delivery {
        let raw = Self::raw(sub);
        let body = if raw {
            outgoing.text_for("sqs").to_owned()
        } else {
            self.envelope(sub, outgoing).await
        };
        let message_attributes = if raw {
            outgoing
                .attributes
                .iter()
                .map(|(k, v)| {
                    let mut v = v.clone();
                    if v.data_type == "String.Array" {
                        v.data_type = "String".into();
                    }
                    (k.clone(), v)
                })
                .collect()
        } else {
            Default::default()
        };
        let message = MessageToSend {
            message_body: Some(body),
            message_attributes,
            message_group_id: outgoing.group_id.clone(),
            message_deduplication_id: outgoing.dedup_id.clone(),
            ..Default::default()
        };
        let result = self
            .inner
            .sqs
            .deliver(&sub.endpoint, "sns.amazonaws.com", &sub.topic_arn, message)
            .await;
        let (outcome, detail) = match &result {
            Delivery::Delivered(id) => (Outcome::Delivered, format!("SQS message {id}")),
            Delivery::Denied(why) => (Outcome::Denied, format!("queue policy: {why}")),
            Delivery::NoQueue => (Outcome::Failed, "the queue does not exist".to_owned()),
            Delivery::Rejected(e) => (Outcome::Failed, e.to_string()),
        };
        if outcome != Outcome::Delivered {
            tracing::warn!(subscription = %sub.arn, queue = %sub.endpoint, %detail, "SNS delivery to SQS failed");
        }
        self.inner.log.record(
            &sub.topic_arn,
            &sub.arn,
            &sub.endpoint,
            &outgoing.message_id,
            outcome,
            detail,
        );
        // A queue that refuses (its policy, its rules, gone) is a client-side
        // error: the message goes to the subscription's DLQ, if it has one.
        if matches!(outcome, Outcome::Failed | Outcome::Denied) {
            self.dead_letter(sub, outgoing).await;
        }
        result
    }

    /// HTTP/S delivery with the DeliveryPolicy's retries, then the DLQ.
    async fn deliver_http(self, mut pending: PendingHttp) {
        let sub = self
            .read()
            .subscriptions
            .get(&pending.subscription_arn)
            .map(|s| s.record.clone());
        let Some(sub) = sub else {
            // Unsubscribed (or the topic deleted) meanwhile: nothing to deliver.
            self.inner.store.write_behind(vec![pending.delete()]);
            return;
        };
        let outgoing = Arc::new(pending.outgoing.clone());
        // At shutdown the delivery stops; it is in the store and resumes at start.
        tokio::select! {
            _ = self.inner.clock.sleep_until(pending.due_ms) => {}
            _ = self.inner.sqs.closed() => return,
        }
        let policy = sub.attributes.get("DeliveryPolicy").cloned().or_else(|| {
            self.read()
                .topics
                .get(&sub.topic_arn)
                .and_then(|t| t.record.attributes.get("DeliveryPolicy").cloned())
        });
        let schedule = RetrySchedule::from_policy(policy.as_deref());
        let body = if Self::raw(&sub) {
            outgoing.text_for(&sub.protocol).to_owned()
        } else {
            self.envelope(&sub, &outgoing).await
        };
        let mut attempt = pending.attempt;
        loop {
            let result = self
                .inner
                .http
                .post(&sub.endpoint)
                .header("content-type", "text/plain; charset=UTF-8")
                .header("x-amz-sns-message-type", "Notification")
                .header("x-amz-sns-message-id", &outgoing.message_id)
                .header("x-amz-sns-topic-arn", &sub.topic_arn)
                .header("x-amz-sns-subscription-arn", &sub.arn)
                .body(body.clone())
                .send()
                .await;
            let failure = match result {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Some(format!("{e}")),
            };
            let Some(failure) = failure else {
                self.inner.log.record(
                    &sub.topic_arn,
                    &sub.arn,
                    &sub.endpoint,
                    &outgoing.message_id,
                    Outcome::Delivered,
                    format!("attempt {}", attempt + 1),
                );
                self.inner.store.write_behind(vec![pending.delete()]);
                return;
            };
            match schedule.delay(attempt) {
                Some(delay) => {
                    // The moment of the retry is fixed before it is logged, so
                    // whoever reads the log and moves a virtual clock cannot
                    // push it later.
                    let clock = self.inner.clock.clone();
                    let due = clock.now_ms() + delay.as_millis() as u64;
                    self.inner.log.record(
                        &sub.topic_arn,
                        &sub.arn,
                        &sub.endpoint,
                        &outgoing.message_id,
                        Outcome::Retrying,
                        format!(
                            "attempt {} failed ({failure}); next in {:.1} s",
                            attempt + 1,
                            delay.as_secs_f64()
                        ),
                    );
                    // The next attempt survives a restart.
                    pending.attempt = attempt + 1;
                    pending.due_ms = due;
                    self.inner.store.write_behind(vec![pending.put()]);
                    tokio::select! {
                        _ = clock.sleep_until(due) => {}
                        _ = self.inner.sqs.closed() => return,
                    }
                    attempt += 1;
                }
                None => {
                    self.inner.log.record(
                        &sub.topic_arn,
                        &sub.arn,
                        &sub.endpoint,
                        &outgoing.message_id,
                        Outcome::Failed,
                        format!("gave up after {} attempts ({failure})", attempt + 1),
                    );
                    self.dead_letter(&sub, &outgoing).await;
                    self.inner.store.write_behind(vec![pending.delete()]);
                    return;
                }
            }
        }
    }

    /// A subscription's RedrivePolicy: the undeliverable message goes to its SQS DLQ.
    async fn dead_letter(&self, sub: &SubscriptionRecord, outgoing: &Outgoing) {
        let Some(target) = sub
            .attributes
            .get("RedrivePolicy")
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| {
                p.get("deadLetterTargetArn")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            })
        else {
            return;
        };
        let message = MessageToSend {
            message_body: Some(self.envelope(sub, outgoing).await),
            message_group_id: outgoing.group_id.clone(),
            message_deduplication_id: outgoing.dedup_id.clone(),
            ..Default::default()
        };
        let result = self
            .inner
            .sqs
            .deliver(&target, "sns.amazonaws.com", &sub.topic_arn, message)
            .await;
        let (outcome, detail) = match result {
            Delivery::Delivered(id) => (Outcome::DeadLettered, format!("sent to {target} as {id}")),
            Delivery::Denied(why) => (
                Outcome::Denied,
                format!("dead-letter queue {target} refused: {why}"),
            ),
            Delivery::NoQueue => (
                Outcome::Failed,
                format!("dead-letter queue {target} does not exist"),
            ),
            Delivery::Rejected(e) => (Outcome::Failed, format!("dead-letter queue {target}: {e}")),
        };
        self.inner.log.record(
            &sub.topic_arn,
            &sub.arn,
            &target,
            &outgoing.message_id,
            outcome,
            detail,
        );
    }

    /// Topic ARNs with their subscriptions, for the console.
    pub fn overview(&self) -> Vec<(String, Vec<SubscriptionSummary>)> {
        let state = self.read();
        state
            .topics
            .keys()
            .map(|arn| {
                let subs = state
                    .subscriptions
                    .values()
                    .filter(|s| &s.record.topic_arn == arn)
                    .map(|s| SubscriptionSummary {
                        subscription_arn: s.record.arn.clone(),
                        owner: self.inner.account_id.clone(),
                        protocol: s.record.protocol.clone(),
                        endpoint: s.record.endpoint.clone(),
                        topic_arn: arn.clone(),
                    })
                    .collect();
                (arn.clone(), subs)
            })
            .collect()
    }
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The default HTTP/S delivery policy, as AWS documents it.
pub const DEFAULT_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

/// The retry phases of a delivery policy: immediate retries, retries at the
/// minimum delay, backoff from minimum to maximum, retries at the maximum.
#[derive(Debug, Clone, PartialEq)]
struct RetrySchedule {
    num_retries: usize,
    no_delay: usize,
    min_delay_retries: usize,
    max_delay_retries: usize,
    min_delay: f64,
    max_delay: f64,
    backoff: String,
}

impl RetrySchedule {
    fn from_policy(policy: Option<&str>) -> Self {
        let parsed: serde_json::Value = policy
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_else(|| serde_json::from_str(DEFAULT_DELIVERY_POLICY).unwrap_or_default());
        let retry = parsed
            .pointer("/http/defaultHealthyRetryPolicy")
            .or_else(|| parsed.get("healthyRetryPolicy"))
            .cloned()
            .unwrap_or_default();
        let n = |k: &str, d: f64| retry.get(k).and_then(|v| v.as_f64()).unwrap_or(d);
        RetrySchedule {
            num_retries: n("numRetries", 3.0).clamp(0.0, 100.0) as usize,
            no_delay: n("numNoDelayRetries", 0.0) as usize,
            min_delay_retries: n("numMinDelayRetries", 0.0) as usize,
            max_delay_retries: n("numMaxDelayRetries", 0.0) as usize,
            min_delay: n("minDelayTarget", 20.0).max(0.0),
            max_delay: n("maxDelayTarget", 20.0).max(0.0),
            backoff: retry
                .get("backoffFunction")
                .and_then(|v| v.as_str())
                .unwrap_or("linear")
                .to_owned(),
        }
    }

    /// The pause before retry number `attempt + 1`, or `None` when retries are spent.
    fn delay(&self, attempt: usize) -> Option<Duration> {
        if attempt >= self.num_retries {
            return None;
        }
        let secs = if attempt < self.no_delay {
            0.0
        } else if attempt < self.no_delay + self.min_delay_retries {
            self.min_delay
        } else {
            let backoff_slots = self
                .num_retries
                .saturating_sub(self.no_delay + self.min_delay_retries + self.max_delay_retries);
            let i = attempt - self.no_delay - self.min_delay_retries;
            if i >= backoff_slots || backoff_slots <= 1 {
                if i >= backoff_slots {
                    self.max_delay
                } else {
                    self.min_delay
                }
            } else {
                let t = i as f64 / (backoff_slots - 1) as f64;
                let span = self.max_delay - self.min_delay;
                let f = match self.backoff.as_str() {
                    "arithmetic" => t * t,
                    "geometric" => t.powi(3),
                    "exponential" => (2f64.powf(t * 4.0) - 1.0) / 15.0,
                    _ => t,
                };
                self.min_delay + span * f
            }
        };
        Some(Duration::from_secs_f64(secs))
    }
}

fn compile_filter(attributes: &Attributes) -> SnsResult<Option<(FilterPolicy, Scope)>> {
    let Some(policy) = attributes
        .get("FilterPolicy")
        .filter(|p| !p.trim().is_empty())
    else {
        return Ok(None);
    };
    let scope = match attributes.get("FilterPolicyScope") {
        Some(s) => Scope::parse(s)?,
        None => Scope::MessageAttributes,
    };
    Ok(Some((FilterPolicy::parse(policy, scope)?, scope)))
}

fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> SnsResult<()> {
    match name {
        "DisplayName" if value.len() > 100 => Err(SnsError::invalid("DisplayName")),
        "SignatureVersion" if value != "1" && value != "2" => Err(SnsError::invalid(
            "SignatureVersion: the value must be 1 or 2",
        )),
        "DisplayName"
        | "KmsMasterKeyId"
        | "TracingConfig"
        | "SignatureVersion"
        | "ArchivePolicy"
        | "DataProtectionPolicy" => Ok(()),
        "Policy" | "DeliveryPolicy" => {
            if value.is_empty()
                || serde_json::from_str::<serde_json::Value>(value).is_ok_and(|v| v.is_object())
            {
                Ok(())
            } else {
                Err(SnsError::invalid(format!("{name}: failed to parse JSON")))
            }
        }
        "FifoTopic" => Ok(()),
        "ContentBasedDeduplication" | "FifoThroughputScope" if fifo => Ok(()),
        n if n.ends_with("FeedbackRoleArn") || n.ends_with("FeedbackSampleRate") => Ok(()),
        _ => Err(SnsError::invalid(format!(
            "AttributeName Reason: {name} is not a valid topic attribute"
        ))),
    }
}

fn check_subscription_attribute(name: &str, value: &str, all: &Attributes) -> SnsResult<()> {
    match name {
        "RawMessageDelivery" => match value.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => Err(SnsError::invalid(
                "RawMessageDelivery: Invalid value [".to_owned()
                    + value
                    + "]. Must be true or false.",
            )),
        },
        "FilterPolicy" => Ok(()),
        "FilterPolicyScope" => Scope::parse(value).map(|_| ()),
        "DeliveryPolicy" | "RedrivePolicy" => {
            let parsed = serde_json::from_str::<serde_json::Value>(value);
            match parsed {
                Ok(v) if v.is_object() => {
                    if name == "RedrivePolicy"
                        && v.get("deadLetterTargetArn")
                            .and_then(|a| a.as_str())
                            .is_none_or(|a| !a.starts_with("arn:aws:sqs:"))
                    {
                        return Err(SnsError::invalid(
                            "RedrivePolicy: deadLetterTargetArn must be an SQS queue ARN",
                        ));
                    }
                    Ok(())
                }
                _ if value.is_empty() => Ok(()),
                _ => Err(SnsError::invalid(format!("{name}: failed to parse JSON"))),
            }
        }
        "SubscriptionRoleArn" | "ReplayPolicy" => Ok(()),
        _ => {
            let _ = all;
            Err(SnsError::invalid(format!(
                "AttributeName Reason: {name} is not a valid subscription attribute"
            )))
        }
    }
}

fn check_message_attribute(name: &str, value: &MessageAttributeValue) -> SnsResult<usize> {
    let base = value.data_type.split('.').next().unwrap_or_default();
    let bad = |reason: &str| {
        SnsError::invalid(format!(
            "MessageAttributes Reason: The message attribute '{name}' {reason}"
        ))
    };
    if name.is_empty()
        || name.len() > 256
        || name.starts_with("AWS.")
        || name.starts_with("Amazon.")
    {
        return Err(bad("has an invalid name"));
    }
    match base {
        "String" | "Number" => {
            let v = value
                .string_value
                .as_deref()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad("must contain non-empty message attribute value"))?;
            if base == "Number" && v.trim().parse::<f64>().is_err() {
                return Err(bad("has an invalid numeric value"));
            }
            if value.data_type == "String.Array"
                && !serde_json::from_str::<serde_json::Value>(v).is_ok_and(|a| a.is_array())
            {
                return Err(bad("has an invalid String.Array value"));
            }
            Ok(v.len())
        }
        "Binary" => {
            use base64::Engine as _;
            let v = value
                .binary_value
                .as_deref()
                .ok_or_else(|| bad("must contain non-empty message attribute value"))?;
            base64::engine::general_purpose::STANDARD
                .decode(v)
                .map(|b| b.len())
                .map_err(|_| bad("has an invalid binary value"))
        }
        _ => Err(bad(
            "has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String",
        )),
    }
}

fn check_tags(tags: &[Tag]) -> SnsResult<()> {
    for tag in tags {
        if tag.key.is_empty() || tag.key.len() > 128 || tag.value.len() > 256 {
            return Err(SnsError::new(
                "TagPolicy",
                400,
                "Tag keys must be 1 to 128 characters and values at most 256",
            ));
        }
    }
    Ok(())
}

fn default_topic_policy(arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

fn percent(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// A store that fails every write while its switch is on.
    struct Failing(Arc<AtomicBool>);

    impl crate::store::Backend for Failing {
        fn write(&mut self, _: Vec<Op>) -> std::io::Result<()> {
            if self.0.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("the disk is gone"));
            }
            Ok(())
        }
        fn load(&mut self) -> std::io::Result<Loaded> {
            Ok(Loaded::default())
        }
    }

    /// A FIFO publish whose HTTP deliveries could not be scheduled fails and
    /// delivers nothing; its retry with the same deduplication id is then a
    /// new publish, not a duplicate answered without delivering.
    #[tokio::test]
    async fn a_failed_fifo_publish_can_be_retried_with_its_dedup_id() {
        let failing = Arc::new(AtomicBool::new(false));
        let (store, _closed) = Store::start(Failing(failing.clone()));
        let clock = Clock::real();
        let account = "000000000000".to_owned();
        let sqs = Sqs::new(
            account.clone(),
            clock.clone(),
            Store::memory().0,
            Loaded::default(),
        );
        let sns = Sns::new(
            account,
            clock.clone(),
            store,
            Loaded::default(),
            sqs,
            Delivering {
                log: DeliveryLog::new(clock, 100),
                signer: Signer::start(None),
                http: http_client(None).unwrap(),
            },
        );
        let ctx = Ctx {
            base_url: "http://127.0.0.1:4566".into(),
            region: "us-east-1".into(),
        };
        let topic = sns
            .create_topic(
                &ctx,
                CreateTopic {
                    name: Some("t.fifo".into()),
                    attributes: [("FifoTopic".to_owned(), "true".to_owned())].into(),
                    tags: Vec::new(),
                },
            )
            .await
            .unwrap()
            .topic_arn;
        sns.subscribe(
            &ctx,
            Subscribe {
                topic_arn: Some(topic.clone()),
                protocol: Some("http".into()),
                endpoint: Some("http://127.0.0.1:9/hook".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        for sub in sns.write().subscriptions.values_mut() {
            sub.record.confirmed = true;
        }
        let publish = || Publish {
            topic_arn: Some(topic.clone()),
            entry: PublishEntry {
                message: Some("hello".into()),
                message_group_id: Some("g".into()),
                message_deduplication_id: Some("d1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        failing.store(true, Ordering::Relaxed);
        assert!(sns.publish(publish()).await.is_err(), "the store failed");
        failing.store(false, Ordering::Relaxed);
        let retried = sns.publish(publish()).await.unwrap();
        assert!(
            retried.sequence_number.is_some(),
            "the retry was published, not taken for a duplicate"
        );
        let again = sns.publish(publish()).await.unwrap();
        assert_eq!(
            again.message_id, retried.message_id,
            "now it is a duplicate"
        );
        assert!(again.sequence_number.is_none());
    }

    #[test]
    fn retry_schedule_follows_the_phases() {
        let s = RetrySchedule::from_policy(Some(
            r#"{"healthyRetryPolicy":{"numRetries":6,"numNoDelayRetries":1,"numMinDelayRetries":1,"numMaxDelayRetries":1,"minDelayTarget":1,"maxDelayTarget":9,"backoffFunction":"linear"}}"#,
        ));
        let delays: Vec<f64> = (0..7)
            .map(|i| s.delay(i).map_or(-1.0, |d| d.as_secs_f64()))
            .collect();
        assert_eq!(delays, vec![0.0, 1.0, 1.0, 5.0, 9.0, 9.0, -1.0]);
        let default = RetrySchedule::from_policy(None);
        assert_eq!(default.delay(0), Some(Duration::from_secs(20)));
        assert_eq!(default.delay(3), None);
    }
}
