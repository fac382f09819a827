//! Input rules that need no queue state: queue names, batch entry ids, message
//! bodies and attributes, each failing with AWS's error code and message.

use base64::Engine as _;

use crate::sqs::error::{ErrorKind, SqsError, SqsResult};
use crate::sqs::model::{MessageAttributeValue, MessageAttributes};

/// 1 to 80 characters of `[A-Za-z0-9_-]`, plus `.fifo` for a FIFO queue.
pub fn queue_name(name: &str) -> SqsResult<()> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = !base.is_empty()
        && name.len() <= 80
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SqsError::invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ))
    }
}

/// Batch entry ids: up to 80 of `[A-Za-z0-9_-]`, distinct, 1 to 10 entries.
pub fn batch_ids<'a>(
    entry_kind: &str,
    ids: impl ExactSizeIterator<Item = Option<&'a str>>,
) -> SqsResult<Vec<String>> {
    let count = ids.len();
    if count == 0 {
        return Err(SqsError::new(
            ErrorKind::EmptyBatchRequest,
            format!("There should be at least one {entry_kind} in the request."),
        ));
    }
    if count > 10 {
        return Err(SqsError::new(
            ErrorKind::TooManyEntriesInBatchRequest,
            format!("Maximum number of entries per request are 10. You have sent {count}."),
        ));
    }
    let mut seen: Vec<String> = Vec::with_capacity(count);
    for id in ids {
        let id = id.ok_or_else(|| SqsError::missing(&format!("{entry_kind}.Id")))?;
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(SqsError::new(
                ErrorKind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and \
                 underscores. It can be at most 80 letters long.",
            ));
        }
        if seen.iter().any(|s| s == id) {
            return Err(SqsError::new(
                ErrorKind::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
        seen.push(id.to_owned());
    }
    Ok(seen)
}

fn allowed_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// The characters SQS accepts in bodies and string attribute values.
pub fn text(value: &str) -> SqsResult<()> {
    // In UTF-8 the only characters outside the set are the C0 controls other than
    // tab, newline and return (single bytes below 0x20) and U+FFFE / U+FFFF (which
    // start with 0xEF 0xBF): a scan of the bytes clears almost every body at once.
    // A branch-free fold per 64-byte chunk, which the compiler vectorizes (a
    // short-circuiting `any` over the bytes does not: 3% of a batch's CPU).
    let suspect_byte = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) | (b == 0xEF);
    let suspect = value
        .as_bytes()
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |seen, &b| seen | suspect_byte(b)));
    if !suspect {
        return Ok(());
    }
    match value.chars().find(|c| !allowed_char(*c)) {
        None => Ok(()),
        Some(bad) => Err(SqsError::new(
            ErrorKind::InvalidMessageContents,
            format!(
                "Invalid binary character '#x{:X}' was found in the message body, the set of \
                 allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | \
                 #x10000 to #x10FFFF",
                bad as u32
            ),
        )),
    }
}

fn attribute_error(message: String) -> SqsError {
    SqsError::invalid_parameter(message)
}

/// An attribute name: up to 256 of `[A-Za-z0-9_.-]`, not starting with `AWS.` or
/// `Amazon.`, no leading, trailing or doubled period.
fn attribute_name(name: &str) -> SqsResult<()> {
    let lower = name.to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..");
    if !valid {
        return Err(attribute_error(format!(
            "Message (user) attribute name '{name}' is invalid. The attribute name can contain \
             only alphanumeric characters, underscores (_), hyphens (-), and periods (.), \
             cannot start or end with a period, and cannot contain consecutive periods."
        )));
    }
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return Err(attribute_error(format!(
            "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These \
             strings are reserved for internal use. Attribute name(s): {name}"
        )));
    }
    Ok(())
}

/// Validates message attributes (user ones when `system` is false) and returns
/// their size in bytes as SQS counts it (names, types and values).
pub fn message_attributes(attributes: &MessageAttributes, system: bool) -> SqsResult<usize> {
    if attributes.len() > 10 {
        return Err(attribute_error(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            attributes.len()
        )));
    }
    let mut size = 0;
    for (name, value) in attributes {
        if system {
            if name != "AWSTraceHeader" {
                return Err(attribute_error(format!(
                    "Message system attribute name '{name}' is invalid."
                )));
            }
            if value.data_type != "String" {
                return Err(attribute_error(format!(
                    "Message system attribute '{name}' must be of type String."
                )));
            }
        } else {
            attribute_name(name)?;
        }
        size += name.len() + value.data_type.len() + attribute_value(name, value)?;
    }
    Ok(size)
}

fn attribute_value(name: &str, value: &MessageAttributeValue) -> SqsResult<usize> {
    let data_type = value.data_type.as_str();
    if data_type.is_empty() {
        return Err(attribute_error(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    if data_type.len() > 256 {
        return Err(attribute_error(format!(
            "Message attribute '{name}' type must be at most 256 characters."
        )));
    }
    let base = data_type.split('.').next().unwrap_or_default();
    if !value.string_list_values.is_empty() || !value.binary_list_values.is_empty() {
        return Err(SqsError::new(
            ErrorKind::UnsupportedOperation,
            "Message attribute list values in SendMessage operation are not supported.",
        ));
    }
    match base {
        "String" | "Number" => {
            if value.binary_value.is_some() {
                return Err(attribute_error(format!(
                    "The message attribute '{name}' with type '{base}' must use field 'String'."
                )));
            }
            let Some(s) = value.string_value.as_deref() else {
                return Err(attribute_error(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                )));
            };
            if s.is_empty() {
                return Err(attribute_error(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                )));
            }
            text(s).map_err(|_| {
                attribute_error(format!(
                    "The message attribute '{name}' contains characters outside the allowed set."
                ))
            })?;
            if base == "Number" && !is_number(s) {
                return Err(attribute_error(format!(
                    "Can't cast the value of message (user) attribute '{name}' to a number."
                )));
            }
            Ok(s.len())
        }
        "Binary" => {
            if value.string_value.is_some() {
                return Err(attribute_error(format!(
                    "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                )));
            }
            let encoded = value.binary_value.as_deref().unwrap_or_default();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| {
                    attribute_error(format!(
                        "The message attribute '{name}' has an invalid binary value."
                    ))
                })?;
            if decoded.is_empty() {
                return Err(attribute_error(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type 'Binary'."
                )));
            }
            Ok(decoded.len())
        }
        _ => Err(attribute_error(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the \
             following supported type prefixes: Binary, Number, String."
        ))),
    }
}

/// SQS numbers: up to 38 significant digits, between -10^126 and 10^126.
fn is_number(s: &str) -> bool {
    let digits = s
        .trim_start_matches(['-', '+'])
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    match s.trim().parse::<f64>() {
        Ok(v) => v.is_finite() && v.abs() < 1e126 && significant <= 38,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        assert!(queue_name("netflix-events").is_ok());
        assert!(queue_name("a_b.fifo").is_ok());
        for bad in ["", ".fifo", "a b", "x.y", &"a".repeat(81)] {
            assert!(queue_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bodies_reject_control_characters() {
        assert!(text("tab\tok\r\n ✓ 😀").is_ok());
        let err = text("bad\u{1}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidMessageContents);
        assert!(err.message.contains("#x1"));
        // Characters that start with 0xEF: allowed ones pass, U+FFFE/U+FFFF do not.
        assert!(text("\u{E000}\u{FFFD}\u{F8FF}").is_ok());
        for bad in ["\u{FFFE}", "x\u{FFFF}", "\u{7F}ok\u{0}"] {
            assert_eq!(
                text(bad).unwrap_err().kind,
                ErrorKind::InvalidMessageContents
            );
        }
        assert!(text("\u{7F}").is_ok());
        // Anywhere in a long body: the scan goes by 64-byte chunks.
        let long = "a".repeat(1000);
        assert!(text(&long).is_ok());
        for at in [0, 63, 64, 65, 500, 1000] {
            for bad in ["\u{1F}", "\u{FFFF}"] {
                let body = format!("{}{bad}{}", &long[..at], &long[at..]);
                assert_eq!(
                    text(&body).unwrap_err().kind,
                    ErrorKind::InvalidMessageContents,
                    "{bad:?} at {at}"
                );
            }
        }
    }

    #[test]
    fn batch_id_rules() {
        assert!(batch_ids("E", [Some("a"), Some("b")].into_iter()).is_ok());
        let kind = |ids: Vec<Option<&str>>| batch_ids("E", ids.into_iter()).unwrap_err().kind;
        assert_eq!(kind(vec![]), ErrorKind::EmptyBatchRequest);
        assert_eq!(
            kind(vec![Some("a"); 11]),
            ErrorKind::TooManyEntriesInBatchRequest
        );
        assert_eq!(
            kind(vec![Some("a"), Some("a")]),
            ErrorKind::BatchEntryIdsNotDistinct
        );
        assert_eq!(kind(vec![Some("a b")]), ErrorKind::InvalidBatchEntryId);
    }

    #[test]
    fn attributes_rules() {
        let mut attrs = MessageAttributes::new();
        attrs.insert(
            "n".into(),
            MessageAttributeValue {
                string_value: Some("1.5e3".into()),
                data_type: "Number.float".into(),
                ..Default::default()
            },
        );
        assert_eq!(message_attributes(&attrs, false).unwrap(), 1 + 12 + 5);
        attrs.get_mut("n").unwrap().string_value = Some("abc".into());
        assert!(message_attributes(&attrs, false).is_err());
        let mut reserved = MessageAttributes::new();
        reserved.insert(
            "AWS.x".into(),
            MessageAttributeValue {
                string_value: Some("v".into()),
                data_type: "String".into(),
                ..Default::default()
            },
        );
        assert!(message_attributes(&reserved, false).is_err());
    }
}
