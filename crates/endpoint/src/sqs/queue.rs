//! One queue's messages and the rules that move them between states: delayed,
//! visible, in flight. FIFO group order and locking, deduplication, the receive
//! count and redrive decision, retention. Pure in-memory state: no I/O, no wire
//! format, no locking (the engine holds the lock) and no clock (times are passed in).
//!
//! Every message lives in `messages` (by its engine-wide sequence, which is also its
//! store key). `visible` holds the sequences that may be received now, in arrival
//! order; `timers` holds the moment each delayed or in-flight message becomes visible;
//! `expiry` orders messages by their original send time for retention.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::sqs::model::MessageAttributes;

/// The immutable part of a message. What most messages lack (attributes, FIFO
/// fields, a dead-letter source) lives out of line in [`MessageExtra`], so a plain
/// message costs its body and little more.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub message_id: String,
    pub body: String,
    pub md5_of_body: String,
    /// When it was first sent (a redriven message keeps its original time).
    pub sent_ms: u64,
    pub sender_id: String,
    /// Visible from this moment (DelaySeconds).
    pub visible_from_ms: u64,
    extra: Option<Box<MessageExtra>>,
}

/// The optional parts of a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageExtra {
    pub attributes: MessageAttributes,
    pub md5_of_attributes: Option<String>,
    pub system_attributes: MessageAttributes,
    pub md5_of_system_attributes: Option<String>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    pub sequence_number: Option<String>,
    /// The ARN of the queue a dead-lettered message came from.
    pub dead_letter_source: Option<String>,
}

static NO_EXTRA: MessageExtra = MessageExtra {
    attributes: BTreeMap::new(),
    md5_of_attributes: None,
    system_attributes: BTreeMap::new(),
    md5_of_system_attributes: None,
    group_id: None,
    deduplication_id: None,
    sequence_number: None,
    dead_letter_source: None,
};

impl MessageRecord {
    pub fn new(
        message_id: String,
        body: String,
        md5_of_body: String,
        sent_ms: u64,
        sender_id: String,
        visible_from_ms: u64,
        extra: MessageExtra,
    ) -> Self {
        MessageRecord {
            message_id,
            body,
            md5_of_body,
            sent_ms,
            sender_id,
            visible_from_ms,
            extra: (extra != NO_EXTRA).then(|| Box::new(extra)),
        }
    }

    /// The optional parts (all empty for a plain message).
    pub fn extra(&self) -> &MessageExtra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    /// The optional parts, to change them.
    pub fn extra_mut(&mut self) -> &mut MessageExtra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// Takes the optional parts out.
    pub fn take_extra(&mut self) -> MessageExtra {
        self.extra.take().map(|e| *e).unwrap_or_default()
    }
}

/// The stored form (postcard, field by field in this order): unchanged since the
/// first release, so that existing state directories read back.
#[derive(Serialize)]
struct StoredRef<'a> {
    message_id: &'a str,
    body: &'a str,
    md5_of_body: &'a str,
    #[serde(serialize_with = "attributes_ref")]
    attributes: &'a MessageAttributes,
    md5_of_attributes: &'a Option<String>,
    #[serde(serialize_with = "attributes_ref")]
    system_attributes: &'a MessageAttributes,
    md5_of_system_attributes: &'a Option<String>,
    sent_ms: u64,
    sender_id: &'a str,
    group_id: &'a Option<String>,
    deduplication_id: &'a Option<String>,
    sequence_number: &'a Option<String>,
    visible_from_ms: u64,
    dead_letter_source: &'a Option<String>,
}

fn attributes_ref<S: serde::Serializer>(a: &&MessageAttributes, s: S) -> Result<S::Ok, S::Error> {
    stored_attributes::serialize(a, s)
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct Stored {
    message_id: String,
    body: String,
    md5_of_body: String,
    #[serde(with = "stored_attributes")]
    attributes: MessageAttributes,
    md5_of_attributes: Option<String>,
    #[serde(with = "stored_attributes")]
    system_attributes: MessageAttributes,
    md5_of_system_attributes: Option<String>,
    sent_ms: u64,
    sender_id: String,
    group_id: Option<String>,
    deduplication_id: Option<String>,
    sequence_number: Option<String>,
    visible_from_ms: u64,
    dead_letter_source: Option<String>,
}

impl Serialize for MessageRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.extra();
        StoredRef {
            message_id: &self.message_id,
            body: &self.body,
            md5_of_body: &self.md5_of_body,
            attributes: &e.attributes,
            md5_of_attributes: &e.md5_of_attributes,
            system_attributes: &e.system_attributes,
            md5_of_system_attributes: &e.md5_of_system_attributes,
            sent_ms: self.sent_ms,
            sender_id: &self.sender_id,
            group_id: &e.group_id,
            deduplication_id: &e.deduplication_id,
            sequence_number: &e.sequence_number,
            visible_from_ms: self.visible_from_ms,
            dead_letter_source: &e.dead_letter_source,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for MessageRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Stored::deserialize(d)?;
        Ok(MessageRecord::new(
            s.message_id,
            s.body,
            s.md5_of_body,
            s.sent_ms,
            s.sender_id,
            s.visible_from_ms,
            MessageExtra {
                attributes: s.attributes,
                md5_of_attributes: s.md5_of_attributes,
                system_attributes: s.system_attributes,
                md5_of_system_attributes: s.md5_of_system_attributes,
                group_id: s.group_id,
                deduplication_id: s.deduplication_id,
                sequence_number: s.sequence_number,
                dead_letter_source: s.dead_letter_source,
            },
        ))
    }
}

/// Message attributes as stored: every field written, so that a compact,
/// non-self-describing format (postcard) reads back what it wrote. (The wire
/// type skips empty fields, which only self-describing formats can undo.)
mod stored_attributes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::sqs::model::{MessageAttributeValue, MessageAttributes};

    #[derive(Serialize, Deserialize)]
    struct Stored {
        data_type: String,
        string_value: Option<String>,
        binary_value: Option<String>,
        string_list_values: Vec<String>,
        binary_list_values: Vec<String>,
    }

    pub fn serialize<S: Serializer>(
        attributes: &MessageAttributes,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let stored: Vec<(&String, Stored)> = attributes
            .iter()
            .map(|(name, v)| {
                (
                    name,
                    Stored {
                        data_type: v.data_type.clone(),
                        string_value: v.string_value.clone(),
                        binary_value: v.binary_value.clone(),
                        string_list_values: v.string_list_values.clone(),
                        binary_list_values: v.binary_list_values.clone(),
                    },
                )
            })
            .collect();
        stored.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MessageAttributes, D::Error> {
        let stored: Vec<(String, Stored)> = Vec::deserialize(d)?;
        Ok(stored
            .into_iter()
            .map(|(name, v)| {
                (
                    name,
                    MessageAttributeValue {
                        data_type: v.data_type,
                        string_value: v.string_value,
                        binary_value: v.binary_value,
                        string_list_values: v.string_list_values,
                        binary_list_values: v.binary_list_values,
                    },
                )
            })
            .collect())
    }
}

/// The mutable part of a message, as stored.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MessageState {
    pub receive_count: u32,
    pub first_receive_ms: Option<u64>,
    /// In flight until this moment (0: not in flight).
    pub invisible_until_ms: u64,
    /// The nonce of the most recent receive: only its receipt handle deletes.
    pub last_nonce: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Delayed(u64),
    Visible,
    /// Until when, and the receipt nonce of the receive that took it.
    InFlight(u64, u64),
}

/// A queued message. The record is shared (a receive hands out the same record
/// without copying the body) and kept out of the map's nodes, which stay small.
#[derive(Debug)]
pub struct Message {
    pub record: Arc<MessageRecord>,
    pub state: MessageState,
    phase: Phase,
}

/// A message handed out by a receive.
#[derive(Debug, Clone)]
pub struct Received {
    pub seq: u64,
    pub nonce: u64,
    pub record: Arc<MessageRecord>,
    pub state: MessageState,
}

/// What a receive found: messages to deliver and messages to move to the DLQ.
#[derive(Debug, Default)]
pub struct Taken {
    pub received: Vec<Received>,
    pub dead_lettered: Vec<(u64, Arc<MessageRecord>)>,
}

/// Why a receipt handle cannot act on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptProblem {
    /// No such message (deleted, expired, purged).
    Gone,
    /// The message is not in flight, or was received again since.
    NotInFlight,
}

/// A FIFO group's messages in order, and whether one of them is in flight.
#[derive(Debug, Default)]
struct Group {
    order: VecDeque<u64>,
    in_flight: usize,
}

/// A remembered deduplication id: the message it stood for, until when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Dedup {
    pub until_ms: u64,
    pub message_id: String,
    pub sequence_number: Option<String>,
    /// The sequence of the message it stood for (its store key, with
    /// [`DEDUP_KEY_BIT`], keeps the entry across restarts).
    pub seq: u64,
}

/// Store keys of deduplication entries have this bit set; messages' do not.
pub const DEDUP_KEY_BIT: u64 = 1 << 63;

#[derive(Debug, Default)]
pub struct Messages {
    messages: BTreeMap<u64, Message>,
    visible: BTreeSet<u64>,
    timers: BTreeSet<(u64, u64)>,
    expiry: BTreeSet<(u64, u64)>,
    in_flight: usize,
    delayed: usize,
    fifo: bool,
    groups: HashMap<String, Group>,
    dedup: HashMap<String, Dedup>,
    dedup_order: VecDeque<(u64, String)>,
    /// Sequences of deduplication entries that expired, for the store.
    dedup_expired: Vec<u64>,
}

/// How long a deduplication id (and a receive attempt id) is remembered.
pub const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

impl Messages {
    pub fn new(fifo: bool) -> Self {
        Messages {
            fifo,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        let visible = self.messages.len() - self.in_flight - self.delayed;
        (visible, self.in_flight, self.delayed)
    }

    pub fn oldest_sent_ms(&self) -> Option<u64> {
        self.expiry.first().map(|(sent, _)| *sent)
    }

    /// Adds a message (new, restored, or redriven). Returns true when it is visible now.
    pub fn insert(
        &mut self,
        seq: u64,
        record: MessageRecord,
        state: MessageState,
        now: u64,
    ) -> bool {
        // A restored message that was in flight stays hidden until its timeout.
        let phase = if record.visible_from_ms > now {
            Phase::Delayed(record.visible_from_ms)
        } else if state.invisible_until_ms > now {
            Phase::InFlight(state.invisible_until_ms, state.last_nonce)
        } else {
            Phase::Visible
        };
        if let Some(group_id) = record.extra().group_id.as_ref().filter(|_| self.fifo) {
            let group = self.groups.entry(group_id.clone()).or_default();
            group.order.push_back(seq);
            if matches!(phase, Phase::InFlight(..)) {
                group.in_flight += 1;
            }
        }
        self.expiry.insert((record.sent_ms, seq));
        match phase {
            Phase::Delayed(until) => {
                self.delayed += 1;
                self.timers.insert((until, seq));
            }
            Phase::InFlight(until, _) => {
                self.in_flight += 1;
                self.timers.insert((until, seq));
            }
            Phase::Visible => {
                self.visible.insert(seq);
            }
        }
        self.messages.insert(
            seq,
            Message {
                record: Arc::new(record),
                state,
                phase,
            },
        );
        phase == Phase::Visible
    }

    /// Removes a message whatever its phase.
    pub fn remove(&mut self, seq: u64) -> Option<Message> {
        let message = self.messages.remove(&seq)?;
        match message.phase {
            Phase::Delayed(until) => {
                self.delayed -= 1;
                self.timers.remove(&(until, seq));
            }
            Phase::Visible => {
                self.visible.remove(&seq);
            }
            Phase::InFlight(until, _) => {
                self.in_flight -= 1;
                self.timers.remove(&(until, seq));
            }
        }
        self.expiry.remove(&(message.record.sent_ms, seq));
        if let Some(group_id) = message
            .record
            .extra()
            .group_id
            .as_ref()
            .filter(|_| self.fifo)
            && let Some(group) = self.groups.get_mut(group_id)
        {
            if let Some(pos) = group.order.iter().position(|s| *s == seq) {
                group.order.remove(pos);
            }
            if matches!(message.phase, Phase::InFlight(..)) {
                group.in_flight -= 1;
            }
            if group.order.is_empty() {
                self.groups.remove(group_id);
            }
        }
        Some(message)
    }

    /// Removes every message; returns their sequences.
    pub fn clear(&mut self) -> Vec<u64> {
        let seqs: Vec<u64> = self.messages.keys().copied().collect();
        let fifo = self.fifo;
        let dedup = std::mem::take(&mut self.dedup);
        let dedup_order = std::mem::take(&mut self.dedup_order);
        *self = Messages::new(fifo);
        // Deduplication outlives a purge, as in AWS.
        self.dedup = dedup;
        self.dedup_order = dedup_order;
        seqs
    }

    pub fn get(&self, seq: u64) -> Option<&Message> {
        self.messages.get(&seq)
    }

    /// The earliest moment something changes by itself: a delay or visibility timeout
    /// ends, or a message reaches the end of its retention.
    pub fn next_due(&self, retention_ms: u64) -> Option<u64> {
        let timer = self.timers.first().map(|(due, _)| *due);
        let expiry = self
            .expiry
            .first()
            .map(|(sent, _)| sent.saturating_add(retention_ms));
        match (timer, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Makes due messages visible and drops expired ones. Returns how many became
    /// visible and the sequences that expired.
    pub fn advance(&mut self, now: u64, retention_ms: u64) -> (usize, Vec<u64>) {
        let mut woke = 0;
        while let Some(&(due, seq)) = self.timers.first() {
            if due > now {
                break;
            }
            self.timers.pop_first();
            let Some(message) = self.messages.get_mut(&seq) else {
                continue;
            };
            match message.phase {
                Phase::Delayed(_) => self.delayed -= 1,
                Phase::InFlight(..) => {
                    self.in_flight -= 1;
                    message.state.invisible_until_ms = 0;
                    if let Some(group) = message
                        .record
                        .extra()
                        .group_id
                        .as_ref()
                        .filter(|_| self.fifo)
                        .and_then(|g| self.groups.get_mut(g))
                    {
                        group.in_flight -= 1;
                    }
                }
                Phase::Visible => continue,
            }
            message.phase = Phase::Visible;
            self.visible.insert(seq);
            woke += 1;
        }
        let mut expired = Vec::new();
        while let Some(&(sent, seq)) = self.expiry.first() {
            if sent.saturating_add(retention_ms) > now {
                break;
            }
            self.remove(seq);
            expired.push(seq);
        }
        while let Some((until, _)) = self.dedup_order.front() {
            if *until > now {
                break;
            }
            if let Some((until, key)) = self.dedup_order.pop_front()
                && self.dedup.get(&key).is_some_and(|d| d.until_ms == until)
                && let Some(gone) = self.dedup.remove(&key)
            {
                self.dedup_expired.push(gone.seq);
            }
        }
        (woke, expired)
    }

    /// A deduplication id seen within the window.
    pub fn dedup_hit(&self, key: &str, now: u64) -> Option<&Dedup> {
        self.dedup.get(key).filter(|d| d.until_ms > now)
    }

    /// The deduplication entries that expired since the last call.
    pub fn take_expired_dedup(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dedup_expired)
    }

    pub fn remember_dedup(&mut self, key: String, dedup: Dedup) {
        self.dedup_order.push_back((dedup.until_ms, key.clone()));
        self.dedup.insert(key, dedup);
    }

    /// Takes up to `max` messages for a receive. A message already received
    /// `max_receive_count` times goes to `dead_lettered` instead (when a DLQ is set).
    pub fn take(
        &mut self,
        max: usize,
        now: u64,
        visibility_ms: u64,
        max_receive_count: Option<u32>,
        mut nonce: impl FnMut() -> u64,
    ) -> Taken {
        let mut taken = Taken::default();
        let candidates = if self.fifo {
            self.fifo_candidates(max)
        } else {
            self.fair_candidates(max)
        };
        for seq in candidates {
            let Some(message) = self.messages.get(&seq) else {
                continue;
            };
            if let Some(limit) = max_receive_count
                && message.state.receive_count >= limit
            {
                if let Some(message) = self.remove(seq) {
                    taken.dead_lettered.push((seq, message.record));
                }
                continue;
            }
            let nonce = nonce();
            let until = now + visibility_ms;
            self.visible.remove(&seq);
            self.in_flight += 1;
            self.timers.insert((until, seq));
            let Some(message) = self.messages.get_mut(&seq) else {
                continue;
            };
            message.phase = Phase::InFlight(until, nonce);
            message.state.receive_count += 1;
            message.state.first_receive_ms.get_or_insert(now);
            message.state.invisible_until_ms = until;
            message.state.last_nonce = nonce;
            if let Some(group) = message
                .record
                .extra()
                .group_id
                .as_ref()
                .filter(|_| self.fifo)
                .and_then(|g| self.groups.get_mut(g))
            {
                group.in_flight += 1;
            }
            taken.received.push(Received {
                seq,
                nonce,
                record: message.record.clone(),
                state: message.state,
            });
        }
        taken
    }

    /// Standard queues: arrival order, but at most one message per message group
    /// on a first pass, so that one busy group cannot crowd out the others.
    fn fair_candidates(&self, max: usize) -> Vec<u64> {
        const SCAN: usize = 256;
        let mut picked = Vec::with_capacity(max);
        let mut seen_groups: Vec<&str> = Vec::new();
        let mut skipped = Vec::new();
        for &seq in self.visible.iter().take(SCAN) {
            if picked.len() == max {
                break;
            }
            let group = self
                .messages
                .get(&seq)
                .and_then(|m| m.record.extra().group_id.as_deref());
            match group {
                Some(g) if seen_groups.contains(&g) => skipped.push(seq),
                Some(g) => {
                    seen_groups.push(g);
                    picked.push(seq);
                }
                None => picked.push(seq),
            }
        }
        for seq in skipped {
            if picked.len() == max {
                break;
            }
            picked.push(seq);
        }
        picked
    }

    /// FIFO queues: messages of groups with nothing in flight, each group from its
    /// head in order; groups in the order of their oldest visible message.
    fn fifo_candidates(&self, max: usize) -> Vec<u64> {
        let mut picked = Vec::with_capacity(max);
        let mut done_groups: Vec<&str> = Vec::new();
        for &seq in &self.visible {
            if picked.len() == max {
                break;
            }
            let Some(group_id) = self
                .messages
                .get(&seq)
                .and_then(|m| m.record.extra().group_id.as_deref())
            else {
                continue;
            };
            if done_groups.contains(&group_id) {
                continue;
            }
            done_groups.push(group_id);
            let Some(group) = self.groups.get(group_id) else {
                continue;
            };
            if group.in_flight > 0 {
                continue;
            }
            for &member in &group.order {
                if picked.len() == max {
                    break;
                }
                if !self.visible.contains(&member) {
                    break;
                }
                picked.push(member);
            }
        }
        picked
    }

    /// Checks that `nonce` is the receive that has `seq` in flight now.
    pub fn check_receipt(&self, seq: u64, nonce: u64) -> Result<(), ReceiptProblem> {
        let message = self.messages.get(&seq).ok_or(ReceiptProblem::Gone)?;
        match message.phase {
            Phase::InFlight(_, n) if n == nonce => Ok(()),
            _ => Err(ReceiptProblem::NotInFlight),
        }
    }

    /// Whether the message's most recent receive is the one with `nonce` (whether
    /// or not it is still in flight).
    pub fn is_latest_receipt(&self, seq: u64, nonce: u64) -> Result<bool, ReceiptProblem> {
        let message = self.messages.get(&seq).ok_or(ReceiptProblem::Gone)?;
        Ok(match message.phase {
            Phase::InFlight(_, n) => n == nonce,
            _ => message.state.receive_count > 0 && message.state.last_nonce == nonce,
        })
    }

    /// Sets a new visibility timeout on an in-flight message (0 makes it visible).
    /// Returns the new state, and whether it became visible.
    pub fn change_visibility(
        &mut self,
        seq: u64,
        now: u64,
        timeout_ms: u64,
    ) -> Option<(MessageState, bool)> {
        let message = self.messages.get_mut(&seq)?;
        let Phase::InFlight(until, nonce) = message.phase else {
            return None;
        };
        self.timers.remove(&(until, seq));
        if timeout_ms == 0 {
            message.phase = Phase::Visible;
            message.state.invisible_until_ms = 0;
            self.in_flight -= 1;
            self.visible.insert(seq);
            if let Some(group) = message
                .record
                .extra()
                .group_id
                .as_ref()
                .filter(|_| self.fifo)
                .and_then(|g| self.groups.get_mut(g))
            {
                group.in_flight -= 1;
            }
            Some((message.state, true))
        } else {
            let until = now + timeout_ms;
            message.phase = Phase::InFlight(until, nonce);
            message.state.invisible_until_ms = until;
            self.timers.insert((until, seq));
            Some((message.state, false))
        }
    }

    /// Every message with its phase, for peeking: (seq, record, state, phase name, until).
    pub fn peek(
        &self,
        limit: usize,
    ) -> Vec<(u64, &MessageRecord, MessageState, &'static str, u64)> {
        self.messages
            .iter()
            .take(limit)
            .map(|(seq, m)| {
                let (phase, until) = match m.phase {
                    Phase::Delayed(u) => ("delayed", u),
                    Phase::Visible => ("visible", 0),
                    Phase::InFlight(u, _) => ("in_flight", u),
                };
                (*seq, m.record.as_ref(), m.state, phase, until)
            })
            .collect()
    }

    /// The sequences of every message, oldest first (for moving them elsewhere).
    pub fn first_visible(&self, max: usize) -> Vec<u64> {
        self.visible.iter().take(max).copied().collect()
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;

    pub fn record(id: &str, sent: u64, group: Option<&str>) -> MessageRecord {
        MessageRecord::new(
            id.into(),
            id.into(),
            String::new(),
            sent,
            "x".into(),
            sent,
            MessageExtra {
                group_id: group.map(Into::into),
                ..Default::default()
            },
        )
    }

    pub fn nonces() -> impl FnMut() -> u64 {
        let mut n = 0;
        move || {
            n += 1;
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn in_flight_messages_come_back_after_their_timeout() {
        let mut m = Messages::new(false);
        m.insert(1, record("a", 0, None), MessageState::default(), 0);
        let t = m.take(10, 0, 1000, None, nonces());
        assert_eq!(t.received.len(), 1);
        assert_eq!(m.counts(), (0, 1, 0));
        assert!(m.take(10, 500, 1000, None, nonces()).received.is_empty());
        assert_eq!(m.next_due(u64::MAX), Some(1000));
        assert_eq!(m.advance(1000, u64::MAX).0, 1);
        let again = m.take(10, 1000, 1000, None, nonces());
        assert_eq!(again.received[0].state.receive_count, 2);
        assert_eq!(again.received[0].state.first_receive_ms, Some(0));
    }

    #[test]
    fn delayed_messages_wait_and_expired_ones_go() {
        let mut m = Messages::new(false);
        let mut r = record("a", 0, None);
        r.visible_from_ms = 5000;
        assert!(!m.insert(1, r, MessageState::default(), 0));
        assert_eq!(m.counts(), (0, 0, 1));
        assert!(m.take(10, 100, 1000, None, nonces()).received.is_empty());
        m.advance(5000, 60_000);
        assert_eq!(m.counts(), (1, 0, 0));
        let (_, expired) = m.advance(60_000, 60_000);
        assert_eq!(expired, vec![1]);
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn fifo_groups_lock_while_in_flight_and_keep_order() {
        let mut m = Messages::new(true);
        m.insert(1, record("a1", 0, Some("a")), MessageState::default(), 0);
        m.insert(2, record("b1", 0, Some("b")), MessageState::default(), 0);
        m.insert(3, record("a2", 0, Some("a")), MessageState::default(), 0);
        let first = m.take(1, 0, 1000, None, nonces());
        assert_eq!(first.received[0].record.message_id, "a1");
        // Group a is locked: only b's message comes.
        let second = m.take(10, 0, 1000, None, nonces());
        let ids: Vec<_> = second
            .received
            .iter()
            .map(|r| r.record.message_id.as_str())
            .collect();
        assert_eq!(ids, ["b1"]);
        m.remove(1);
        let third = m.take(10, 0, 1000, None, nonces());
        assert_eq!(third.received[0].record.message_id, "a2");
    }

    #[test]
    fn standard_receives_spread_across_groups() {
        let mut m = Messages::new(false);
        for i in 0..5 {
            m.insert(
                i,
                record("noisy", 0, Some("noisy")),
                MessageState::default(),
                0,
            );
        }
        m.insert(
            10,
            record("quiet", 0, Some("quiet")),
            MessageState::default(),
            0,
        );
        let t = m.take(2, 0, 1000, None, nonces());
        let ids: Vec<_> = t
            .received
            .iter()
            .map(|r| r.record.message_id.as_str())
            .collect();
        assert_eq!(ids, ["noisy", "quiet"]);
    }

    #[test]
    fn receipts_are_checked_and_dead_letters_leave() {
        let mut m = Messages::new(false);
        m.insert(1, record("a", 0, None), MessageState::default(), 0);
        let t = m.take(1, 0, 10, Some(1), nonces());
        let nonce = t.received[0].nonce;
        assert_eq!(m.check_receipt(1, nonce), Ok(()));
        assert_eq!(
            m.check_receipt(1, nonce + 1),
            Err(ReceiptProblem::NotInFlight)
        );
        assert!(m.change_visibility(1, 0, 0).unwrap().1);
        assert_eq!(m.check_receipt(1, nonce), Err(ReceiptProblem::NotInFlight));
        let t = m.take(1, 0, 10, Some(1), nonces());
        assert!(t.received.is_empty());
        assert_eq!(t.dead_lettered.len(), 1);
        assert_eq!(m.check_receipt(1, nonce), Err(ReceiptProblem::Gone));
    }
}

#[cfg(test)]
mod storage {
    use super::tests_support::*;
    use super::*;
    use crate::sqs::model::MessageAttributeValue;

    #[test]
    fn records_with_attributes_read_back_what_was_written() {
        let mut r = record("a", 7, Some("g"));
        r.extra_mut().attributes.insert(
            "n".into(),
            MessageAttributeValue {
                data_type: "Number".into(),
                string_value: Some("42".into()),
                ..Default::default()
            },
        );
        r.extra_mut().attributes.insert(
            "b".into(),
            MessageAttributeValue {
                data_type: "Binary".into(),
                binary_value: Some("AAE=".into()),
                ..Default::default()
            },
        );
        r.extra_mut().system_attributes.insert(
            "AWSTraceHeader".into(),
            MessageAttributeValue {
                data_type: "String".into(),
                string_value: Some("Root=1".into()),
                ..Default::default()
            },
        );
        let bytes = postcard::to_allocvec(&r).unwrap();
        let back: MessageRecord = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, r);
    }

    /// The stored bytes are those of the original flat record (every field in
    /// order), so state written before the extras moved out of line reads back.
    #[test]
    fn the_stored_form_is_the_flat_record_of_earlier_releases() {
        let flat = Stored {
            message_id: "id".into(),
            body: "body".into(),
            md5_of_body: "m".into(),
            attributes: Default::default(),
            md5_of_attributes: None,
            system_attributes: Default::default(),
            md5_of_system_attributes: None,
            sent_ms: 5,
            sender_id: "s".into(),
            group_id: Some("g".into()),
            deduplication_id: Some("d".into()),
            sequence_number: Some("1".into()),
            visible_from_ms: 6,
            dead_letter_source: Some("arn".into()),
        };
        let old_bytes = postcard::to_allocvec(&flat).unwrap();
        let record: MessageRecord = postcard::from_bytes(&old_bytes).unwrap();
        assert_eq!(record.extra().group_id.as_deref(), Some("g"));
        assert_eq!(record.extra().dead_letter_source.as_deref(), Some("arn"));
        assert_eq!((record.sent_ms, record.visible_from_ms), (5, 6));
        assert_eq!(postcard::to_allocvec(&record).unwrap(), old_bytes);
        // A plain message carries no out-of-line part at all.
        let plain = record_plain();
        assert!(plain.extra.is_none());
        let back: MessageRecord =
            postcard::from_bytes(&postcard::to_allocvec(&plain).unwrap()).unwrap();
        assert!(back.extra.is_none());
    }

    fn record_plain() -> MessageRecord {
        record("p", 1, None)
    }
}

#[cfg(test)]
mod stale_receipts {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn only_the_latest_receipt_deletes() {
        let mut m = Messages::new(false);
        m.insert(1, record("a", 0, None), MessageState::default(), 0);
        let first = m.take(1, 0, 1000, None, || 11).received[0].nonce;
        m.advance(1000, u64::MAX);
        let second = m.take(1, 1000, 1000, None, || 22).received[0].nonce;
        m.advance(2000, u64::MAX);
        assert_eq!(m.is_latest_receipt(1, first), Ok(false));
        assert_eq!(m.is_latest_receipt(1, second), Ok(true));
    }
}
