//! Receipt handles: opaque to clients, unique per receive. A handle carries the
//! queue, the message and the receive's nonce, plus a check value so that a
//! mangled handle is told apart from a stale one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What a receipt handle points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub queue_id: u64,
    pub seq: u64,
    pub nonce: u64,
}

const LEN: usize = 8 * 3 + 4;

fn check(bytes: &[u8]) -> [u8; 4] {
    // FNV-1a: a check against typos and truncation, not a secret.
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_be_bytes()
}

impl Receipt {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.extend_from_slice(&self.queue_id.to_be_bytes());
        bytes.extend_from_slice(&self.seq.to_be_bytes());
        bytes.extend_from_slice(&self.nonce.to_be_bytes());
        let sum = check(&bytes);
        bytes.extend_from_slice(&sum);
        format!("AQE{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn decode(handle: &str) -> Option<Receipt> {
        let bytes = URL_SAFE_NO_PAD.decode(handle.strip_prefix("AQE")?).ok()?;
        if bytes.len() != LEN || check(&bytes[..24]) != bytes[24..] {
            return None;
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_be_bytes(b)
        };
        Some(Receipt {
            queue_id: word(0),
            seq: word(1),
            nonce: word(2),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let r = Receipt {
            queue_id: 3,
            seq: 99,
            nonce: 0xdead_beef,
        };
        let handle = r.encode();
        assert_eq!(Receipt::decode(&handle), Some(r));
        assert_eq!(Receipt::decode("garbage"), None);
        let mut mangled = handle.clone();
        mangled.pop();
        mangled.push(if handle.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(Receipt::decode(&mangled), None);
    }
}
